"""Checkpoints that cannot run code when loaded, that cannot expand into memory far beyond their size, and that
are never half-written.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses mmengine's resume checkpoints because its
message hub pickles ``HistoryBuffer`` objects and numpy arrays. Rather than allow-listing unpickling machinery
(numpy's reconstruction needs ``builtins.getattr``, which is not safe), the zoo makes what is *saved* plain
(``zoo.engine.run_state``) and every load in the zoo -- test, predict, export, serve, ``load_from``, resume -- goes
through :func:`safe_load`, which always passes ``weights_only=True``.
"""
from __future__ import annotations

import io
import pickle
import re
import zipfile
from pathlib import Path

from .atomic import atomic_write_bytes
from .errors import CheckpointError, UnsafeCheckpointError

#: the first bytes of the two layouts torch.save writes: a zip archive, or a pickle stream (protocol >= 2)
_ZIP_MAGIC = b"PK\x03\x04"
#: how far the records of a checkpoint archive may expand beyond the file's own size. torch.save stores every
#: record uncompressed, so a real checkpoint expands by 1x; a deflated record of zeros expands 1000x (a 15 MB file
#: that asks for 3 GB before anything can check it).
MAX_EXPANSION = 4.0


def safe_load(path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; refuse, with the reason, anything that needs more, anything
    that would expand far beyond its size, and anything that is not a checkpoint (a text file renamed ``.pth``, a
    bare list), saying what it is. A weights file (``.safetensors``) is read as the checkpoint it stands for."""
    import torch

    from .weights import is_weights_file, read_weights

    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if is_weights_file(path):
        return read_weights(path)
    _check_expansion(path)
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


def _check_expansion(path: Path) -> None:
    """Refuse a zip checkpoint whose records declare far more bytes than the file holds (a compression bomb),
    from its central directory, before torch allocates anything."""
    if not zipfile.is_zipfile(path):
        return
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: a damaged archive ({exc})") from None
    declared = sum(r.file_size for r in records)
    if declared > MAX_EXPANSION * size + (1 << 20):
        worst = max(records, key=lambda r: r.file_size)
        raise CheckpointError(
            f"refused to load {path}: its records would expand to {declared / 2**20:.0f} MB from a "
            f"{size / 2**20:.1f} MB file (record {worst.filename!r}: {worst.file_size / 2**20:.0f} MB); torch.save "
            f"stores records uncompressed, so this file was not written by it and could exhaust memory")


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


def save_checkpoint(checkpoint: dict, path) -> Path:
    """``torch.save`` through :func:`atomic_write_bytes`: a checkpoint the zoo writes outside training (an upgrade,
    an ensemble, a calibration) is whole or absent, never half-written."""
    import torch

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return atomic_write_bytes(buffer.getvalue(), path)
