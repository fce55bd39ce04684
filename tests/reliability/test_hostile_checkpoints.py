"""A checkpoint crafted to run code when unpickled is refused by every path that loads one.

Each path is driven through its real entry (``zoo.cli.main`` in this process, so the exit code and the
one-line message are what a user sees): test, predict, export, serve (the CLI and the multi-worker app
factory), ``--load-from`` and ``--resume``, plus backbone ``pretrained`` weights. Two payload styles per
path: bare pickle streams (protocols 2 and 5) and a valid torch zip checkpoint with the payload hidden among
real tensors.
The payload would create a marker file; the marker must never appear.
"""
from __future__ import annotations

import json

import pytest

STYLES = ("pickle2", "pickle5", "zip")


def _cli(argv, capsys) -> tuple[int, str]:
    from zoo.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    err = capsys.readouterr().err
    return exit_info.value.code, err


def _assert_refused(code, err, ckpt, marker, style):
    assert not marker.exists(), f"the hostile checkpoint's code RAN ({style})"
    assert code == 2, f"exit code {code}, stderr: {err[-2000:]}"
    assert "Traceback" not in err
    line = next(line for line in err.splitlines() if line.startswith("error:"))
    assert "refused to load" in line and "run code" in line, line
    assert str(ckpt) in line  # names the file
    if style != "pickle5":  # protocol 5 is refused at its first FRAME opcode, before the payload's global
        assert "io.open" in line or "builtins.open" in line, f"the message should say what it would call: {line}"
    assert "\x1b[" not in line  # torch's ANSI bold does not leak into a one-line error


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    import cv2
    import numpy as np

    path = tmp_path_factory.mktemp("img") / "ceph.png"
    cv2.imwrite(str(path), np.full((64, 80), 90, np.uint8))
    return path


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("command", ["test", "predict", "export", "serve"])
def test_cli_paths_refuse(command, style, hostile, image, capsys, tally):
    ckpt, marker = hostile(style)
    argv = {"test": ["test", str(ckpt)],
            "predict": ["predict", str(ckpt), str(image)],
            "export": ["export", str(ckpt), "--format", "onnx"],
            "serve": ["serve", str(ckpt), "--port", "0"]}[command]
    code, err = _cli(argv, capsys)
    _assert_refused(code, err, ckpt, marker, style)
    tally(f"hostile checkpoint: {command}")


@pytest.mark.parametrize("style", STYLES)
def test_serve_worker_factory_refuses(style, hostile, monkeypatch, tally):
    """``zoo serve --workers N`` builds each worker's app from the environment: same refusal."""
    from zoo.modelfile import UnsafeCheckpointError
    from zoo.serve.run import ENV_CONFIG, app_from_env

    ckpt, marker = hostile(style)
    monkeypatch.setenv(ENV_CONFIG, json.dumps({"model": str(ckpt), "threads": 1, "limits": {}}))
    with pytest.raises(UnsafeCheckpointError, match="refused to load"):
        app_from_env()
    assert not marker.exists()
    tally("hostile checkpoint: serve (worker factory)")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("how", ["--load-from", "--resume"])
def test_training_paths_refuse(how, style, hostile, tiny_data, make_config, tmp_path, capsys, tally):
    ckpt, marker = hostile(style)
    config = make_config(tmp_path, tiny_data, max_iters=2, interval=2)
    work = tmp_path / "work"
    code, err = _cli(["train", str(config), "--work-dir", str(work), "--no-test", how, str(ckpt)], capsys)
    _assert_refused(code, err, ckpt, marker, style)
    assert not list(work.glob("*.pth")), "training went ahead from a refused checkpoint"
    tally(f"hostile checkpoint: train {how}")


@pytest.mark.parametrize("style", STYLES)
def test_pretrained_backbone_weights_refuse(style, hostile, tally):
    from zoo.models.errors import WeightsFileError
    from zoo.models.weights import read_state_dict

    ckpt, marker = hostile(style)
    with pytest.raises(WeightsFileError, match="cannot read weights"):
        read_state_dict(ckpt)
    assert not marker.exists()
    tally("hostile checkpoint: backbone pretrained=")
