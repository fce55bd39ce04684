"""Downloads against servers that trickle or stall, a SIGTERM mid-download, and the cached file's permissions.

Issue #33 (item 7): ``zoo download`` had no total deadline (a server sending a byte a second kept it forever,
since no single read timed out) and left a 0-byte ``.part`` after SIGTERM; the downloaded file was mode 0600.
The servers here run on 127.0.0.1 in this process; the file is random bytes named by a private index, since the
cache checks only its size and sha256.
"""
from __future__ import annotations

import http.server
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

PAYLOAD = os.urandom(48 * 1024)


@pytest.fixture
def remote_index(tmp_path, monkeypatch):
    """An index naming one download-only model, ``remote``, with the cache (``$ZOO_HOME``) in ``tmp_path``."""
    import hashlib

    from zoo.model_zoo import cache, index

    path = tmp_path / "index.json"
    path.write_text(json.dumps({"models": [dict(
        name="remote", config="configs/quickstart.py", landmark_set="isbi2015", num_landmarks=19,
        training_data="none", file="remote.safetensors", sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        size_bytes=len(PAYLOAD), url="http://127.0.0.1:9/remote.safetensors")]}))
    monkeypatch.setattr(index, "INDEX_FILE", path)
    monkeypatch.setenv(cache.ENV_HOME, str(tmp_path / "zoo home"))
    index._load.cache_clear()
    yield path
    index._load.cache_clear()


class _Slow(http.server.BaseHTTPRequestHandler):
    """``/trickle``: the right headers, then one byte every 0.1 s. ``/stall``: the headers, then nothing.
    ``/whole``: the file at once."""

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        try:
            if self.path == "/whole":
                self.wfile.write(PAYLOAD)
                return
            for i in range(len(PAYLOAD)):
                if self.server.stopping.is_set():
                    return
                if self.path == "/trickle":
                    self.wfile.write(PAYLOAD[i:i + 1])
                    self.wfile.flush()
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should


@pytest.fixture
def slow_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    server.stopping = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.stopping.set()
    server.shutdown()
    server.server_close()


def _leftovers(entry) -> list[Path]:
    from zoo.model_zoo.cache import cached_path

    folder = cached_path(entry).parent
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("route", ["trickle", "stall"])
def test_a_download_ends_at_its_deadline_and_keeps_nothing(route, remote_index, slow_server):
    from zoo.model_zoo import DownloadError, fetch, get_entry

    entry = get_entry("remote")
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"took longer than its 1\.5 s deadline \(\d+ of 49152 bytes") as err:
        fetch(entry, source=f"{slow_server}/{route}", deadline_s=1.5)
    elapsed = time.monotonic() - start
    assert 1.4 < elapsed < 6, elapsed  # not the 60 s read timeout, and not the 80 minutes the trickle would take
    assert "--deadline" in str(err.value)
    assert _leftovers(entry) == []  # no .part, no cached file


def test_the_cli_deadline_is_one_line_and_the_env_var_sets_it(remote_index, slow_server, capsys, monkeypatch):
    from zoo.cli import main
    from zoo.model_zoo import DownloadError, fetch, get_entry

    with pytest.raises(SystemExit) as exit_info:
        main(["download", "remote", "--from", f"{slow_server}/trickle", "--deadline", "1"])
    assert exit_info.value.code == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert "took longer than its 1 s deadline" in line
    monkeypatch.setenv("ZOO_DOWNLOAD_DEADLINE", "0.5")
    with pytest.raises(DownloadError, match=r"0\.5 s deadline"):
        fetch(get_entry("remote"), source=f"{slow_server}/stall")
    monkeypatch.setenv("ZOO_DOWNLOAD_DEADLINE", "ten minutes")
    with pytest.raises(DownloadError, match=r"\$ZOO_DOWNLOAD_DEADLINE must be a number of seconds"):
        fetch(get_entry("remote"), source=f"{slow_server}/whole")
    assert _leftovers(get_entry("remote")) == []


def test_sigterm_mid_download_leaves_no_part_file(remote_index, slow_server, tmp_path):
    """The real ``zoo download`` in a child process, terminated while the server trickles."""
    home = tmp_path / "zoo home"
    driver = textwrap.dedent(f"""
        from pathlib import Path
        from zoo.model_zoo import index
        index.INDEX_FILE = Path(r'{remote_index}')
        from zoo.cli import main
        main(['download', 'remote', '--from', '{slow_server}/trickle'])
    """)
    env = dict(os.environ, ZOO_HOME=str(home), OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, "-c", driver], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    folder = home / "models" / "remote"
    try:
        deadline = time.monotonic() + 60
        while not list(folder.glob(".*.part")) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        parts = list(folder.glob(".*.part"))
        assert parts, child.communicate(timeout=10)
        time.sleep(0.5)  # some bytes in, the rest trickling
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGTERM, err  # it still ends as SIGTERM asks
    assert list(folder.iterdir()) == [], list(folder.iterdir())  # the .part is gone, nothing is cached


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_a_downloaded_model_gets_the_permissions_of_any_new_file(umask, mode, remote_index, slow_server,
                                                                 tmp_path):
    from zoo.model_zoo import fetch, get_entry

    local = tmp_path / "mirror.safetensors"
    local.write_bytes(PAYLOAD)
    previous = os.umask(umask)
    try:
        by_http = fetch(get_entry("remote"), source=f"{slow_server}/whole")
        assert stat.S_IMODE(by_http.stat().st_mode) == mode
        by_copy = fetch(get_entry("remote"), source=str(local), force=True)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(by_copy.stat().st_mode) == mode
    assert by_copy.read_bytes() == PAYLOAD
