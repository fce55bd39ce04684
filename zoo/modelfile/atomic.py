"""Files that appear whole or not at all, with the permissions any file the user creates would have."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from .errors import CheckpointWriteError

#: a new file that no other process holds, written in bytes on every OS
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def atomic_write_bytes(data: bytes, path) -> Path:
    """Write to a temporary file beside ``path``, fsync, then rename: a crash leaves the old file intact.

    The temporary is created as ``open(path, 'w')`` would create the file (0666 less the umask, applied by the
    kernel), not as ``mkstemp`` does (0600): a published or downloaded model must be readable by whoever the umask
    lets read it (a server's user, a colleague). Its random name and ``O_EXCL`` give what ``mkstemp`` gave.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        name = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(name, _CREATE, 0o666)
        tmp = name  # ours from here on: only now may a failure remove it
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
    return path
