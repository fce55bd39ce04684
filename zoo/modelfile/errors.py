"""What goes wrong with a model file, one class per way, so callers can say what to do about each."""
from __future__ import annotations

from zoo.errors import ZooError


class ModelFileError(ZooError):
    """A model file is unreadable or carries no zoo metadata, so it cannot be used without guessing."""


class MetadataError(ZooError):
    """A model file's ``zoo_meta`` (or the config it was written from) does not say how to preprocess its input,
    or asks for something out of bounds."""


class CheckpointError(ZooError):
    """A checkpoint is missing, truncated, or not a zoo checkpoint."""


class UnsafeCheckpointError(ZooError):
    """The file holds objects that only arbitrary-code unpickling could rebuild; it was not loaded."""


class CheckpointWriteError(CheckpointError, OSError):
    """A checkpoint could not be written (disk full, permissions); the file it would replace is untouched."""


class WeightsFileError(ZooError):
    """A weights file is unreadable, or carries no zoo metadata to rebuild its model from."""


class StoredConfigError(ZooError):
    """A model file's config is not plain data made of registered components; nothing was built from it."""

    def __init__(self, message: str, what: str | None = None):
        super().__init__(message)
        self.what = what or message


class LegacyCheckpointError(StoredConfigError):
    """A checkpoint from an older zoo stores its config as Python text, which only running it could read."""


class UntrustedCodeError(ModelFileError):
    """The file is a program (TorchScript runs its own code while it loads); it is opened only when the user
    says they trust where it came from."""
