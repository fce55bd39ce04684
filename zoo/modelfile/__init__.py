"""The model-file format, low in the house: what a checkpoint, a weights file and an exported graph carry, and the
checks every reader runs before trusting any of it.

- :mod:`.meta`: ``zoo_meta``, the metadata inference reads instead of guessing (preprocessing, landmark names,
  refine stage, quality block), with its bounds.
- :mod:`.stored_config`: the config a model file carries, as an allow-list of plain data.
- :mod:`.checkpoint`: ``.pth`` files, loaded with ``weights_only=True`` and bounded in what they may expand to.
- :mod:`.weights`: ``.safetensors`` weights files (the model zoo's shipping format).
- :mod:`.exported`: what ONNX and TorchScript files say about themselves.
- :mod:`.atomic`: files written whole or not at all.

Nothing here imports the engine, inference, the exporters or anything above them: they all read and write model
files through this package, so loading a model goes one way, down.
"""
from .atomic import atomic_write_bytes
from .checkpoint import safe_load, save_checkpoint
from .errors import (
    CheckpointError,
    CheckpointWriteError,
    LegacyCheckpointError,
    MetadataError,
    ModelFileError,
    StoredConfigError,
    UnsafeCheckpointError,
    UntrustedCodeError,
    WeightsFileError,
)
from .meta import META_KEY, build_zoo_meta, check_meta, checkpoint_meta, exported_meta, preprocess_from_config
from .stored_config import FORMAT, checkpoint_config, config_from_data, config_to_data, without_config_text
from .weights import is_weights_file, read_meta, read_weights, with_meta, write_weights

__all__ = [
    "FORMAT", "META_KEY", "CheckpointError", "CheckpointWriteError", "LegacyCheckpointError", "MetadataError",
    "ModelFileError", "StoredConfigError", "UnsafeCheckpointError", "UntrustedCodeError", "WeightsFileError",
    "atomic_write_bytes", "build_zoo_meta", "check_meta", "checkpoint_config", "checkpoint_meta", "config_from_data",
    "config_to_data", "exported_meta", "is_weights_file", "preprocess_from_config", "read_meta", "read_weights",
    "safe_load", "save_checkpoint", "with_meta", "without_config_text", "write_weights",
]

