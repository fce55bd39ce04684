"""Checkpoints that cannot run code when loaded, and that are never half-written.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses mmengine's resume checkpoints
because its message hub pickles ``HistoryBuffer`` objects and numpy arrays. Rather than
allow-listing unpickling machinery (numpy's reconstruction needs ``builtins.getattr``, which is not safe),
we make what is *saved* plain: tensors, numbers, strings, lists and dicts, and rebuild the objects after
loading. Every load in the zoo -- test, predict, export, serve, ``load_from``, resume -- goes through
:func:`safe_load`, which always passes ``weights_only=True``.
"""
from __future__ import annotations

import os
import pickle
import random
import re
import tempfile
from pathlib import Path

import numpy as np
import torch

from zoo.registry import ZooError

_BUFFER_TAG = "__zoo_history_buffer__"
_NDARRAY_TAG = "__zoo_ndarray__"


class UnsafeCheckpointError(ZooError):
    """The file holds objects that only arbitrary-code unpickling could rebuild; it was not loaded."""


class CheckpointError(ZooError):
    """A checkpoint is missing, truncated, or not a zoo checkpoint."""


class CheckpointWriteError(CheckpointError, OSError):
    """A checkpoint could not be written (disk full, permissions); the file it would replace is untouched."""


def safe_load(path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; refuse, with the reason, anything that needs more, and
    anything that is not a checkpoint (a text file renamed ``.pth``, a bare list), saying what it is."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    from zoo.model_zoo.weights_file import is_weights_file, read_weights

    if is_weights_file(path):  # a published model: tensors and a JSON header, read as a checkpoint
        return read_weights(path)
    try:
        loaded = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = _refusal_reason(exc)
        raise UnsafeCheckpointError(
            f"refused to load {path}: it needs objects that plain-data loading does not allow, so it could run "
            f"code when unpickled ({reason}). Zoo checkpoints hold only tensors and plain data; re-save the "
            f"weights with `torch.save({{'state_dict': model.state_dict()}}, path)` from a trusted session."
        ) from None
    except Exception as exc:  # truncated: RuntimeError, EOFError; not a checkpoint: KeyError...
        why = _not_a_checkpoint(path) or f"{type(exc).__name__}: {exc}"
        raise CheckpointError(f"cannot read checkpoint {path}: {why}") from None
    if not isinstance(loaded, dict):
        raise CheckpointError(f"{path} holds a {type(loaded).__name__}, not a checkpoint (a dict of a state_dict "
                              f"and metadata)")
    return loaded


#: the first bytes of the two layouts torch.save writes: a zip archive, or a pickle stream (protocol >= 2)
_ZIP_MAGIC = b"PK\x03\x04"


def _not_a_checkpoint(path: Path) -> str | None:
    """Why ``path`` cannot be a torch checkpoint, from its first bytes; None when it looks like one."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if not head:
        return "the file is empty"
    if head.startswith(_ZIP_MAGIC) or head[:1] == b"\x80":
        return None
    text = head.decode("utf-8", "replace")
    kind = "text" if text.isprintable() or "\n" in text else "binary data"
    return f"it is not a PyTorch checkpoint (it starts with {head[:12]!r}, which looks like {kind})"


def _refusal_reason(exc: Exception) -> str:
    """What the file asked for, from torch's long message (which also suggests loading it unsafely)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        return f"it names the Python callable {found.group(1)}"
    found = re.search(r"Unsupported operand (\d+)", text)
    if found:
        return f"it uses pickle opcode {found.group(1)}, which the plain-data loader does not accept"
    found = re.search(r"WeightsUnpickler error:\s*(.+)", text)
    return found.group(1).strip() if found else type(exc).__name__


def atomic_write_bytes(data: bytes, path) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename: a crash leaves the old file intact."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, CheckpointWriteError):  # e.g. ENOSPC: say which file
            raise CheckpointWriteError(f"could not write {path} ({exc.strerror or exc}); it was not replaced and "
                                       "no partial file is left") from exc
        raise


def save_checkpoint(checkpoint: dict, path) -> Path:
    """``torch.save`` through :func:`atomic_write_bytes`: a checkpoint the zoo writes outside training (an upgrade, an
    ensemble, a calibration) is whole or absent, never half-written."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    atomic_write_bytes(buffer.getvalue(), path)
    return Path(path)


# -- plain-data form of the runner state --------------------------------------------------------------

def to_plain(obj):
    """Replace HistoryBuffers, numpy arrays and numpy scalars by tagged plain data and tensors."""
    from mmengine.logging import HistoryBuffer

    if isinstance(obj, HistoryBuffer):
        logs, counts = obj.data
        return {_BUFFER_TAG: True, "log": torch.from_numpy(np.asarray(logs, dtype=np.float64)),
                "count": torch.from_numpy(np.asarray(counts, dtype=np.float64)), "max_length": obj.max_length}
    if isinstance(obj, np.ndarray):
        return {_NDARRAY_TAG: True, "tensor": torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_plain(v) for v in obj)
    return obj


def from_plain(obj):
    """Inverse of :func:`to_plain`."""
    from mmengine.logging import HistoryBuffer

    if isinstance(obj, dict):
        if obj.get(_BUFFER_TAG):
            buf = HistoryBuffer(obj["log"].numpy().tolist(), obj["count"].numpy().tolist(), obj["max_length"])
            return buf
        if obj.get(_NDARRAY_TAG):
            return obj["tensor"].numpy()
        return {k: from_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_plain(v) for v in obj]
    return obj


def rng_state() -> dict:
    """Python, numpy and torch random states as plain data, so a resumed run draws what it would have."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    state = {
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {"kind": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


_installed = False


def install() -> None:
    """Route mmengine's local checkpoint loading through :func:`safe_load` and its writes through renames."""
    global _installed
    if _installed:
        return
    from mmengine.fileio.backends import LocalBackend, register_backend
    from mmengine.runner.checkpoint import CheckpointLoader

    class AtomicLocalBackend(LocalBackend):
        """mmengine's local storage, but a file appears whole or not at all."""

        def put(self, obj: bytes, filepath) -> None:
            atomic_write_bytes(obj, filepath)

    register_backend("local", AtomicLocalBackend, force=True, prefixes="")

    @CheckpointLoader.register_scheme(prefixes="", force=True)
    def load_from_safe_local(filename, map_location):  # noqa: ANN001
        return safe_load(filename, map_location=map_location)

    _installed = True
