"""Named models: weights files, the index, the verified cache, downloads (file and loopback http) and names
accepted wherever a model file is."""
from __future__ import annotations

import http.server
import threading
from pathlib import Path

import numpy as np
import pytest


def test_weights_file_round_trip_is_the_same_model(tiny_checkpoint, tiny_weights, xray):
    from zoo.inference import Predictor
    from zoo.model_zoo import read_weights

    loaded = read_weights(tiny_weights)
    assert set(loaded) == {"state_dict", "zoo_meta"}  # the optimizer stays behind
    assert all(v.dtype != np.float16 for v in loaded["state_dict"].values())
    a = Predictor.from_path(tiny_checkpoint).predict(xray)
    b = Predictor.from_path(tiny_weights).predict(xray)
    for s, lm in a["landmarks"].items():  # fp16 storage moves a random-weights model's landmarks by << 1 px
        assert abs(lm["x"] - b["landmarks"][s]["x"]) < 0.5 and abs(lm["y"] - b["landmarks"][s]["y"]) < 0.5
    assert tiny_weights.stat().st_size < 0.6 * tiny_checkpoint.stat().st_size


def test_weights_file_without_metadata_is_refused(tmp_path):
    import torch
    from safetensors.torch import save_file

    from zoo.model_zoo import WeightsFileError, read_weights

    bare = tmp_path / "bare.safetensors"
    save_file({"w": torch.zeros(2)}, str(bare))
    with pytest.raises(WeightsFileError, match="zoo_meta"):
        read_weights(bare)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(WeightsFileError, match="cannot read"):
        read_weights(junk)


def test_name_resolves_to_shipped_then_cached_file(private_index, tiny_weights):
    from zoo.model_zoo import ModelIndexError, fetch, get_entry, resolve_model

    assert resolve_model("tiny").read_bytes() == tiny_weights.read_bytes()
    with pytest.raises(ModelIndexError, match="zoo download tiny-remote"):
        resolve_model("tiny-remote")
    with pytest.raises(ModelIndexError, match="did you mean tiny"):
        resolve_model("tinny")
    fetch(get_entry("tiny-remote"), source=str(tiny_weights))
    assert resolve_model("tiny-remote").is_file()
    assert resolve_model(str(tiny_weights)) == tiny_weights  # an existing path is never taken for a name


def test_tampered_cache_is_refused_not_used(private_index, tiny_weights):
    from zoo.model_zoo import ModelIndexError, fetch, get_entry, resolve_model

    path = fetch(get_entry("tiny-remote"), source=str(tiny_weights))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIndexError, match="sha256"):
        resolve_model("tiny-remote")
    fetch(get_entry("tiny-remote"), source=str(tiny_weights))  # a damaged copy is replaced, not kept
    assert resolve_model("tiny-remote").read_bytes() == tiny_weights.read_bytes()


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture()
def loopback(tmp_path, tiny_weights):
    """An http server on 127.0.0.1 serving the good file and a wrong one."""
    root = tmp_path / "served"
    root.mkdir()
    (root / "tiny.safetensors").write_bytes(tiny_weights.read_bytes())
    (root / "wrong.safetensors").write_bytes(tiny_weights.read_bytes()[:-10] + b"0123456789")
    handler = lambda *a, **k: _Files(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_over_http_is_verified(private_index, loopback):
    from zoo.model_zoo import DownloadError, fetch, get_entry, resolve_model
    from zoo.model_zoo.cache import cached_path

    entry = get_entry("tiny-remote")
    with pytest.raises(DownloadError, match="sha256"):
        fetch(entry, source=f"{loopback}/wrong.safetensors")
    assert not cached_path(entry).exists() and not list(cached_path(entry).parent.glob("*.part"))
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(entry, source=f"{loopback}/missing.safetensors")
    path = fetch(entry, source=f"{loopback}/tiny.safetensors")
    assert resolve_model("tiny-remote") == path


def test_cli_models_download_and_predict_by_name(private_index, tiny_weights, xray, tmp_path, capsys):
    import cv2

    from zoo.cli import main

    main(["models"])
    out = capsys.readouterr().out
    assert "tiny" in out and "shipped" in out and "not downloaded" in out
    main(["download", "tiny-remote", "--from", str(tiny_weights)])
    assert "sha256 verified" in capsys.readouterr().out
    image = tmp_path / "my ceph.png"
    cv2.imwrite(str(image), xray)
    main(["predict", "tiny-remote", str(image)])
    assert "my ceph.png" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "tinyy", str(image)])
    assert exit_info.value.code == 2
    assert "did you mean tiny" in capsys.readouterr().err


def test_publish_writes_a_loadable_weights_file(tiny_checkpoint, tmp_path, capsys):
    from zoo.cli import main
    from zoo.model_zoo.cache import sha256_of

    out = tmp_path / "published model.safetensors"
    main(["checkpoint", "publish", str(tiny_checkpoint), "--out", str(out)])
    assert sha256_of(out) in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["checkpoint", "publish", str(tiny_checkpoint), "--out", str(tmp_path / "x.pth")])


def test_load_from_accepts_a_name(private_index, tiny_weights):
    from mmengine.config import Config

    from zoo.engine.runner import prepare

    cfg = Config(dict(model=dict(type="LandmarkDetector"), work_dir=str(private_index.parent / "w")))
    prepare(cfg, load_from="tiny", phases=("test",))
    assert Path(cfg.load_from).read_bytes() == tiny_weights.read_bytes()


def test_export_by_name_writes_to_the_working_folder_not_the_package(private_index, tmp_path, monkeypatch, capsys):
    from zoo.cli import main
    from zoo.model_zoo import index

    work = tmp_path / "my work"
    work.mkdir()
    monkeypatch.chdir(work)
    main(["export", "tiny", "--format", "onnx", "--no-check"])
    assert (work / "tiny.onnx").is_file()
    assert not list(index.SHIPPED_DIR.glob("*.onnx"))
