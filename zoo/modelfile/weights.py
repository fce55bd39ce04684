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

from .atomic import atomic_write_bytes
from .errors import WeightsFileError
from .json_text import parse_json
from .meta import META_KEY, checkpoint_meta

SUFFIX = ".safetensors"


def is_weights_file(path) -> bool:
    return Path(path).suffix.lower() == SUFFIX


def read_meta(path) -> dict:
    """The ``zoo_meta`` a weights file's header carries, parsed (not yet checked), without loading its tensors."""
    header, _ = _header(path)
    if META_KEY not in header:
        raise WeightsFileError(f"{path} carries no '{META_KEY}' in its header, so its model cannot be rebuilt "
                               f"without guessing; write it with `zoo checkpoint publish`")
    return parse_json(header[META_KEY], f"{path}: its '{META_KEY}' header", WeightsFileError)


def _header(path) -> tuple[dict, dict]:
    """The header's string metadata and each tensor's ``(dtype, shape)``, read without loading a tensor."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            shapes = {k: (f.get_slice(k).get_dtype(), tuple(f.get_slice(k).get_shape())) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsFileError(f"cannot read weights file {path}: {exc}") from None
    return meta, shapes


def read_weights(path, expected: dict | None = None) -> dict:
    """``{"state_dict": float32 tensors, "zoo_meta": dict}``: the layout of a zoo checkpoint, so the rest of the zoo
    (test, predict, export, serve, ``--load-from``) reads a weights file as it reads a checkpoint.

    ``expected`` (a model's own ``state_dict``) makes the read refuse, from the header alone, any tensor the model
    does not have or whose shape differs: a file cannot make the reader allocate what the model will never use.
    """
    meta = read_meta(path)
    _, shapes = _header(path)
    if expected is not None:
        _check_against(path, shapes, expected)
    state = _read_tensors(path)
    # fp16 storage halves the file; the model computes in float32 exactly as it was evaluated
    for key, value in state.items():
        if value.is_floating_point():
            state[key] = value.float()
    return {"state_dict": state, META_KEY: meta}


def _check_against(path, shapes: dict, expected: dict) -> None:
    extra = sorted(set(shapes) - set(expected))
    if extra:
        raise WeightsFileError(f"{path} holds tensors its own model does not have ({', '.join(extra[:5])}"
                               f"{' ...' if len(extra) > 5 else ''}); refused before loading them")
    wrong = [k for k, (_, shape) in shapes.items() if tuple(expected[k].shape) != shape]
    if wrong:
        k = wrong[0]
        raise WeightsFileError(f"{path}: tensor {k!r} has shape {list(shapes[k][1])}, its model's is "
                               f"{list(expected[k].shape)}; refused before loading it")


def write_weights(checkpoint: dict, out, *, half: bool = True) -> Path:
    """A checkpoint's model weights and checked metadata as one safetensors file (the optimizer, message hub and
    training state stay behind). ``half`` stores floating tensors as fp16: the model zoo's files stay small, and
    the published figures are measured from the file as written (fp16 weights, fp32 compute)."""
    import torch

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

    return atomic_write_bytes(save(tensors, metadata={META_KEY: json.dumps(meta, sort_keys=True)}), Path(out))


def with_meta(path, meta: dict, out) -> Path:
    """A copy of a weights file with new metadata (the tensors byte for byte as stored, fp16 stays fp16): how a
    calibration is added to a published model without touching its weights."""
    checkpoint_meta({META_KEY: meta}, out)
    return _write(_read_tensors(path), meta, out)
