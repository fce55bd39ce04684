"""Files that appear whole or not at all, with the permissions any file the user creates would have."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import CheckpointWriteError


def _umask() -> int:
    """The process umask (reading it means setting it; it is put straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(data: bytes, path) -> Path:
    """Write to a temporary file beside ``path``, fsync, then rename: a crash leaves the old file intact.

    ``mkstemp`` creates its file readable by the owner only (0600), which is right while it is half-written but
    wrong for a published or downloaded model that others on the machine (a server's user, a colleague) must read:
    the finished file gets 0666 less the umask, as ``open(path, 'w')`` would have given it.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, CheckpointWriteError):  # e.g. ENOSPC: say which file
            raise CheckpointWriteError(f"could not write {path} ({exc.strerror or exc}); it was not replaced and "
                                       "no partial file is left") from exc
        raise
    return path
