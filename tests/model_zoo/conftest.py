"""A tiny model saved as a real zoo checkpoint, and a private model index / cache per test (``$ZOO_HOME``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, untrained_checkpoint, tiny_heatmap_config) -> Path:
    folder = tmp_path_factory.mktemp("model zoo")
    return untrained_checkpoint(tiny_heatmap_config(), folder / "tiny.py", folder / "tiny.pth", optimizer={"state": {}})


@pytest.fixture(scope="session")
def tiny_weights(tiny_checkpoint) -> Path:
    from zoo.model_zoo import write_weights
    from zoo.modelfile import safe_load

    return write_weights(safe_load(tiny_checkpoint), tiny_checkpoint.with_name("tiny.safetensors"))


@pytest.fixture(scope="session")
def xray() -> np.ndarray:
    """A cephalogram-like gray image: a bright skull-ish ellipse on dark, 160 x 128."""
    import cv2

    img = np.zeros((160, 128), np.uint8)
    cv2.ellipse(img, (64, 70), (45, 55), 0, 0, 360, 200, -1)
    cv2.circle(img, (80, 60), 8, 90, -1)
    return img


@pytest.fixture()
def private_index(tmp_path, monkeypatch, tiny_weights):
    """An index naming the tiny weights twice (shipped, and download-only), with the cache in ``tmp_path``."""
    from zoo.model_zoo import cache, index
    from zoo.model_zoo.cache import sha256_of

    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "tiny.safetensors").write_bytes(tiny_weights.read_bytes())
    base = dict(config="configs/quickstart.py", landmark_set="isbi2015", num_landmarks=19,
                training_data="none: random weights", file="tiny.safetensors", sha256=sha256_of(tiny_weights),
                size_bytes=tiny_weights.stat().st_size)
    path = tmp_path / "index.json"
    path.write_text(json.dumps({"models": [dict(base, name="tiny", shipped=True),
                                           dict(base, name="tiny-remote", url="http://127.0.0.1:9/tiny.safetensors")]}))
    monkeypatch.setattr(index, "INDEX_FILE", path)
    monkeypatch.setattr(index, "SHIPPED_DIR", shipped)
    monkeypatch.setenv(cache.ENV_HOME, str(tmp_path / "zoo home"))
    index._load.cache_clear()
    yield path
    index._load.cache_clear()
