"""A model as plain weights: one ``.safetensors`` file whose header carries the model's ``zoo_meta`` as JSON.

A ``.pth`` checkpoint is a pickle; even loaded with ``weights_only=True`` it is a format whose reader has had to be
hardened, and it carries the optimizer state a user of the model never needs. A shipped or downloaded model is
read by far more people than the one who trained it, so it travels as safetensors: tensors and a string header,
nothing that can run. The header's ``zoo_meta`` is the same checked metadata a checkpoint carries (config as plain
data, preprocessing, landmark names), so every consumer rebuilds the model exactly as from the checkpoint.
"""
from __future__ import annotations

import json
from pathlib import Path

from zoo.registry import ZooError

META_KEY = "zoo_meta"
SUFFIX = ".safetensors"


class WeightsFileError(ZooError):
    """A weights file is unreadable, or carries no zoo metadata to rebuild its model from."""


def is_weights_file(path) -> bool:
    return Path(path).suffix.lower() == SUFFIX


def read_meta(path) -> dict:
    """The ``zoo_meta`` a weights file's header carries, parsed (not yet checked), without loading its tensors."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsFileError(f"cannot read weights file {path}: {exc}") from None
    if META_KEY not in header:
        raise WeightsFileError(f"{path} carries no '{META_KEY}' in its header, so its model cannot be rebuilt "
                               f"without guessing; write it with `zoo checkpoint publish`")
    try:
        return json.loads(header[META_KEY])
    except ValueError as exc:
        raise WeightsFileError(f"{path}: its '{META_KEY}' header is not valid JSON ({exc})") from None


def read_weights(path) -> dict:
    """``{"state_dict": float32 tensors, "zoo_meta": dict}``: the layout of a zoo checkpoint, so the rest of the zoo
    (test, predict, export, serve, ``--load-from``) reads a weights file as it reads a checkpoint."""
    meta = read_meta(path)
    state = _read_tensors(path)
    # fp16 storage halves the file; the model computes in float32 exactly as it was evaluated
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    return {"state_dict": state, META_KEY: meta}


def write_weights(checkpoint: dict, out, *, half: bool = True) -> Path:
    """A checkpoint's model weights and checked metadata as one safetensors file (the optimizer, message hub and
    training state stay behind). ``half`` stores floating tensors as fp16: the model zoo's files stay small, and
    the published figures are measured from the file as written (fp16 weights, fp32 compute)."""
    import torch

    from zoo.inference.backends import checkpoint_meta

    out = Path(out)
    meta = checkpoint_meta(checkpoint, out)
    state = checkpoint.get("state_dict")
    if not isinstance(state, dict) or not state:
        raise WeightsFileError(f"{out}: the checkpoint holds no state_dict to write")
    tensors = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise WeightsFileError(f"{out}: state_dict entry {key!r} is a {type(value).__name__}, not a tensor")
        value = value.detach().cpu()
        if half and value.is_floating_point():
            value = value.half()
        tensors[key] = value.contiguous()
    return _write(tensors, meta, out)


def _read_tensors(path) -> dict:
    """A weights file's tensors as stored (fp16 stays fp16)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsFileError(f"cannot read weights file {path}: {exc}") from None


def _write(tensors: dict, meta: dict, out) -> Path:
    """Tensors and the metadata JSON in the header, written whole or not at all."""
    from safetensors.torch import save

    from zoo.engine.safe_checkpoint import atomic_write_bytes

    atomic_write_bytes(save(tensors, metadata={META_KEY: json.dumps(meta, sort_keys=True)}), Path(out))
    return Path(out)


def with_meta(path, meta: dict, out) -> Path:
    """A copy of a weights file with new metadata (the tensors byte for byte as stored, fp16 stays fp16): how a
    calibration is added to a published model without touching its weights."""
    from zoo.inference.backends import checkpoint_meta

    checkpoint_meta({META_KEY: meta}, out)
    return _write(_read_tensors(path), meta, out)
