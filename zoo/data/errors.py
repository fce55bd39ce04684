"""Errors of the data layer. Each names the file (and line or task) so a user can fix the data."""
from __future__ import annotations

from zoo.registry import ZooError


class DataError(ZooError):
    """Base of every data problem: the message says which file and what is wrong with it.

    ``reason`` is a short tag (``'missing image'``, ``'nan coordinates'``...) that ``skip_invalid``
    counts by, so its report says how many samples were skipped and why.
    """

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason or type(self).__name__

    def __str__(self) -> str:
        return self.message


class DataNotFoundError(DataError, FileNotFoundError):
    """A dataset's folder or files are absent; the message names the expected layout and the ways out."""


class AnnotationError(DataError, ValueError):
    """An annotation file is malformed: bad JSON/CSV, wrong landmark count, NaN, duplicate label..."""


class ImageReadError(DataError, ValueError):
    """An image file is missing, corrupt, truncated, too large or not an image at all."""


class DecodeCostError(ImageReadError):
    """An image whose decoding would take more memory or time than allowed, refused from its header and
    markers before a pixel is decoded. Its own class because the file may well be genuine: a server answers
    413 (too costly), not 422 (unreadable)."""


class SpacingError(DataError, ValueError):
    """A pixel spacing (mm per pixel) outside what a cephalogram can have; see :mod:`zoo.data.spacing`."""


class LandmarkSetError(DataError, KeyError):
    """An unknown landmark set or symbol."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


def how_to_fix_missing(config_key: str = "train_dataloader.dataset.data_root") -> str:
    """The two ways out when a config's data is absent; shared by every reader's message."""
    return (
        f"Point the config elsewhere with `--cfg-options {config_key}=/path/to/data` "
        "(and the same for val_dataloader/test_dataloader), or make a synthetic stand-in with "
        "`zoo data synth OUT --n 200` and use configs/_base_/datasets/synthetic31.py."
    )
