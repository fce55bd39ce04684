"""``zoo serve`` as a user runs it: a real process on loopback, clean refusals of bad options and models."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from serve_helpers import assert_same_landmarks, free_socket, post_image, running_server


def test_zoo_serve_process(onnx_model, images, tmp_path):
    """The exported model, as a deployment would serve it (no torch needed to start)."""
    from zoo.inference import Predictor

    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "zoo.cli", "serve", str(onnx_model), "--port", str(port),
                             "--max-concurrency", "1", "--log-level", "warning"],
                            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONIOENCODING="utf-8"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "zoo serve did not come up"
            time.sleep(0.25)
        with httpx.Client(timeout=60) as client:
            info = client.get(f"{url}/v1/model").json()
            response = post_image(client, url, images["png16"])
        assert info["limits"]["max_concurrency"] == 1 and info["name"] == "tiny ceph"
        assert info["runtime"] == "onnxruntime"
        assert response.status_code == 200, response.text
        local = Predictor.from_path(onnx_model).predict(images["png16"])
        assert_same_landmarks(response.json()["predictions"][0], local)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    banner = (tmp_path / "server.log").read_text()
    assert "serving tiny ceph.onnx (onnxruntime, isbi2015, 19 landmarks)" in banner
    assert proc.returncode == 0, banner


def run_cli(capsys, *args) -> tuple[int, str]:
    """The real entry point in this process (no new interpreter): exit code and stderr."""
    from zoo.cli import main

    with pytest.raises(SystemExit) as exited:
        main([*map(str, args)])
    return exited.value.code, capsys.readouterr().err


def test_bad_model_and_bad_options_are_one_line_errors(tmp_path, tiny_model, capsys):
    code, err = run_cli(capsys, "serve", tmp_path / "no such model.pth")
    assert code == 2 and err.startswith("error: model file not found") and "no such model.pth" in err
    assert len(err.strip().splitlines()) == 1
    not_a_model = tmp_path / "notes.onnx"
    not_a_model.write_text("hello")
    code, err = run_cli(capsys, "serve", not_a_model)
    assert code == 2 and "cannot load ONNX model" in err
    for option, value in (("--max-concurrency", 0), ("--max-upload-mb", -1), ("--timeout-s", 0),
                          ("--max-decode-mb", 0), ("--header-timeout-s", -1), ("--body-timeout-s", 0)):
        code, err = run_cli(capsys, "serve", tiny_model, option, value)
        assert code == 2 and option.lstrip("-").replace("-", "_") in err, err


def test_worker_factory_builds_from_the_environment(monkeypatch, tiny_model, images, predictor):
    """``--workers N`` hands the settings to each uvicorn worker through the environment."""
    from zoo.serve.run import ENV_CONFIG, app_from_env

    monkeypatch.setenv(ENV_CONFIG, json.dumps({"model": str(tiny_model), "threads": None,
                                               "limits": {"max_upload_mb": 3.0, "max_concurrency": 1}}))
    with running_server(app_from_env()) as url, httpx.Client(timeout=60) as client:
        limits = client.get(f"{url}/v1/model").json()["limits"]
        entry = post_image(client, url, images["bmp"]).json()["predictions"][0]
    assert limits["max_upload_mb"] == 3.0 and limits["max_concurrency"] == 1
    assert_same_landmarks(entry, predictor.predict(images["bmp"]))


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                            ("0.0.0.0", False), ("192.168.1.5", False)])
def test_loopback_detection(host, loopback):
    from zoo.serve.run import _is_loopback

    assert _is_loopback(host) is loopback
