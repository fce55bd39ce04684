"""Where downloaded models live, and the one way a file gets there: fetched to a temporary name, its sha256
checked, then renamed. A file in the cache is therefore always a whole, verified copy, and an interrupted or
tampered download never becomes the model a name resolves to."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from zoo.registry import ZooError

from .index import ModelEntry

ENV_HOME = "ZOO_HOME"
CHUNK = 1 << 20
DOWNLOAD_TIMEOUT_S = 60.0


class DownloadError(ZooError):
    """A model could not be fetched, or what was fetched is not the file the index names."""


def zoo_home() -> Path:
    """``$ZOO_HOME``, else the user's cache folder (``~/.cache/ceph-zoo`` on Linux, ``%LOCALAPPDATA%`` on Windows)."""
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("ceph-zoo", appauthor=False))


def cached_path(entry: ModelEntry) -> Path:
    return zoo_home() / "models" / entry.name / entry.file


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, entry: ModelEntry) -> None:
    """The file must be exactly the one the index names; the message says which check failed."""
    size = path.stat().st_size
    if size != entry.size_bytes:
        raise DownloadError(f"{path} is {size} bytes, the model index says {entry.size_bytes} for {entry.name!r}: "
                            f"not the published file (an interrupted or altered download?)")
    digest = sha256_of(path)
    if digest != entry.sha256:
        raise DownloadError(f"{path}: sha256 {digest} does not match the model index's {entry.sha256} for "
                            f"{entry.name!r}: not the published file")


def _is_url(source: str) -> bool:
    return source.split(":", 1)[0].lower() in ("http", "https")


def _copy_url(url: str, out, limit: int) -> None:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:  # noqa: S310 (scheme checked)
            total = 0
            for block in iter(lambda: response.read(CHUNK), b""):
                total += len(block)
                if total > limit:  # a wrong URL must not fill the disk before the hash can say so
                    raise DownloadError(f"{url} sends more than the {limit} bytes the model index names; stopped")
                out.write(block)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"cannot download {url}: {getattr(exc, 'reason', exc)}") from None


def fetch(entry: ModelEntry, source: str | None = None, force: bool = False) -> Path:
    """Put ``entry``'s file into the cache from ``source`` (a URL or a local file; default: the index's URL, or
    the copy shipped in the package) and return its path. An already verified copy is kept unless ``force``."""
    dest = cached_path(entry)
    if dest.is_file() and not force:
        try:
            verify(dest, entry)
            return dest
        except DownloadError:
            pass  # a damaged copy is replaced below
    if source is None:
        source = str(entry.shipped_path) if entry.shipped else entry.url
    if not source:
        raise DownloadError(f"model {entry.name!r} has no download URL; pass --from URL_OR_FILE")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            if _is_url(source):
                _copy_url(source, out, entry.size_bytes)
            else:
                path = Path(source).expanduser()
                if not path.is_file():
                    raise DownloadError(f"--from {source}: file not found")
                with open(path, "rb") as src:
                    shutil.copyfileobj(src, out, CHUNK)
        verify(Path(tmp), entry)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest
