"""Where downloaded models live, and the one way a file gets there: fetched to a temporary name, its sha256
checked, then renamed. A file in the cache is therefore always a whole, verified copy, and an interrupted or
tampered download never becomes the model a name resolves to.

A download has a total deadline (:data:`DEFAULT_DEADLINE_S`, or ``--deadline`` / ``$ZOO_DOWNLOAD_DEADLINE``),
not only a per-read timeout: a server that trickles one byte a second never trips a read timeout and would
hold the command forever. SIGTERM or SIGHUP during a download (a ``timeout`` command, a closed terminal, a
container stop) removes the temporary file before the process ends as the signal asks; only SIGKILL, which no
process can catch, leaves one, and the next download of that model removes it once it is a day old. The cached
file gets the permissions any file the user creates would have (0666 less the umask, 0644 under the usual
umask 022), so a server running as another user can read it.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from zoo.registry import ZooError

from .index import ModelEntry

ENV_HOME = "ZOO_HOME"
ENV_DEADLINE = "ZOO_DOWNLOAD_DEADLINE"
CHUNK = 1 << 20
#: seconds one network operation (connect, one read) may wait for the server
DOWNLOAD_TIMEOUT_S = 60.0
#: seconds a whole download may take: the shipped models are a few MB, so this allows a link of a few kB/s
DEFAULT_DEADLINE_S = 600.0
#: a temporary file this old is left from a download that was killed (SIGKILL), never one still running
STALE_PART_S = 24 * 3600.0


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


def deadline_seconds(value: float | None = None) -> float:
    """The total time a download may take: ``value``, else ``$ZOO_DOWNLOAD_DEADLINE``, else the default; 0
    means no deadline (a per-read timeout still applies)."""
    if value is None:
        text = os.environ.get(ENV_DEADLINE, "").strip()
        if not text:
            return DEFAULT_DEADLINE_S
        try:
            value = float(text)
        except ValueError:
            raise DownloadError(f"${ENV_DEADLINE} must be a number of seconds (0: none), got {text!r}") \
                from None
    if not value >= 0:
        raise DownloadError(f"a download deadline is a number of seconds (0: none), got {value!r}")
    return float(value)


def _socket_of(response):
    """The socket under an ``http.client`` response, to shorten its timeout as the deadline nears; None where
    the stack is built differently (then a stalled read may overrun the deadline by one read timeout)."""
    return getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)


def _copy_url(url: str, out, limit: int, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s if deadline_s > 0 else float("inf")
    got = 0

    def past_deadline() -> DownloadError:
        return DownloadError(
            f"downloading {url} took longer than its {deadline_s:g} s deadline ({got} of {limit} bytes had "
            f"arrived); nothing was kept. Allow more with --deadline SECONDS (or ${ENV_DEADLINE}), or fetch "
            f"the file another way and pass --from FILE")

    def next_timeout() -> float:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise past_deadline()
        return min(DOWNLOAD_TIMEOUT_S, remaining)

    timeout = next_timeout()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            sock = _socket_of(response)
            while True:
                timeout = next_timeout()
                if sock is not None:
                    sock.settimeout(timeout)
                # read1: what one read brings; read(n) would wait for all n bytes, however long they take
                block = response.read1(CHUNK)
                if not block:
                    return
                got += len(block)
                if got > limit:  # a wrong URL must not fill the disk before the hash can say so
                    raise DownloadError(f"{url} sends more than the {limit} bytes the model index names; "
                                        f"stopped")
                out.write(block)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) and timeout < DOWNLOAD_TIMEOUT_S:  # a wait the deadline cut short
            raise past_deadline() from None
        raise DownloadError(f"cannot download {url}: {reason}") from None


class _Terminated(BaseException):
    """SIGTERM or SIGHUP arrived during a download: unwinds it so its temporary file is removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _cleanup_on_termination():
    """While a download runs, SIGTERM and SIGHUP unwind it (so ``finally`` removes its temporary file) and are
    then delivered again, so the process still ends as the signal asks. Only where Python's default (ending
    the process at once) was in force, and only in the main thread: a program's own handler is left alone."""
    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    taken: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in wanted:
            if signal.getsignal(signum) == signal.SIG_DFL:
                taken[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    except _Terminated as exc:
        for signum, previous in taken.items():
            signal.signal(signum, previous)
        taken.clear()
        signal.raise_signal(exc.signum)
        raise  # not reached while the default handler ends the process
    finally:
        for signum, previous in taken.items():
            signal.signal(signum, previous)


def _raise_terminated(signum, frame):
    raise _Terminated(signum)


_PART_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _part_name(dest: Path) -> Path:
    """A hidden temporary name beside ``dest``; the file is created with ``O_EXCL`` (see :func:`fetch`)."""
    return dest.parent / f".{dest.name}.{secrets.token_hex(8)}.part"


def _remove_stale_parts(dest: Path) -> None:
    now = time.time()
    for part in dest.parent.glob(f".{dest.name}.*.part"):
        try:
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
        except OSError:
            pass  # another process removed or renamed it


def fetch(entry: ModelEntry, source: str | None = None, force: bool = False,
          deadline_s: float | None = None) -> Path:
    """Put ``entry``'s file into the cache from ``source`` (a URL or a local file; default: the index's URL,
    or the copy shipped in the package) and return its path. An already verified copy is kept unless
    ``force``. ``deadline_s`` bounds the whole download (see :func:`deadline_seconds`)."""
    deadline = deadline_seconds(deadline_s)
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
    _remove_stale_parts(dest)
    tmp = None
    with _cleanup_on_termination():
        try:
            tmp = _part_name(dest)
            # made as open() makes a file (0666 less the umask, applied by the kernel), not 0600 as mkstemp
            # does: the verified download is renamed, not copied, so this is the cached file's mode
            with os.fdopen(os.open(tmp, _PART_FLAGS, 0o666), "wb") as out:
                if _is_url(source):
                    _copy_url(source, out, entry.size_bytes, deadline)
                else:
                    path = Path(source).expanduser()
                    if not path.is_file():
                        raise DownloadError(f"--from {source}: file not found")
                    with open(path, "rb") as src:
                        shutil.copyfileobj(src, out, CHUNK)
            verify(tmp, entry)
            os.replace(tmp, dest)
        finally:
            if tmp is not None and tmp.exists():
                tmp.unlink()
    return dest
