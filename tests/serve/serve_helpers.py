"""Helpers of the serve tests (importable by the test modules; fixtures are in ``conftest``).

The checkpoint is a randomly initialised HRNet-W18-small with a 128x128 letterbox, saved the way
``zoo train`` saves one (state dict plus ``zoo_meta``), so the server loads it through the same
``Predictor.from_path`` as any trained model. Servers are uvicorn on 127.0.0.1 in a background thread of
the test process: the same HTTP stack as ``zoo serve``, without paying the import time again.
"""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
INPUT = 128


def build_tiny_checkpoint(path: Path, config: str = "heatmap/hm_hrnet-w18_b8-2k_isbi19-512.py",
                          ruler_mm: float | None = None) -> Path:
    """Save an untrained small model from a real config, with the metadata inference reads."""
    import torch

    from zoo.engine.config import load_config
    from zoo.modelfile.meta import build_zoo_meta
    from zoo.registry import MODELS, load_plugins

    load_plugins()
    cfg = load_config(REPO / "configs" / config)
    cfg.model.backbone.arch = "hrnet_w18_small"
    cfg.test_pipeline = [dict(type="LoadCephalogram", channels=3),
                         dict(type="LetterboxResize", size=(INPUT, INPUT), pad_value=0),
                         dict(type="PackLandmarkInputs")]
    if ruler_mm is not None:
        cfg.ruler_mm = ruler_mm
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    torch.save({"state_dict": model.state_dict(), "zoo_meta": build_zoo_meta(cfg, model)}, path)
    return path


def synthetic_cephalogram(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A gray skull-ish picture (ellipses, a bright band, noise): structure for the model to react to."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.full((h, w), 30, np.uint8)
    cv2.ellipse(img, (w // 2, h // 2), (w // 3, h // 3), 15, 0, 360, 170, -1)
    cv2.ellipse(img, (int(w * 0.6), int(h * 0.65)), (w // 6, h // 8), -20, 0, 360, 230, -1)
    cv2.rectangle(img, (w // 5, h // 4), (w // 5 + 6, h // 4 + h // 3), 255, -1)
    noise = rng.normal(0, 12, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def server_sized_heap():
    """Latency bounds are for a server process, whose heap is its model and a few requests. This test process
    also holds every earlier test's objects, and a full garbage collection scanning them stops every thread,
    the server's included, for as long as the scan takes. Freezing what exists now (``gc.freeze``) leaves the
    collector what a server would have: the objects made during the measurement."""
    import gc

    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def running_server(app):
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    from zoo.serve.run import uvicorn_options

    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", **uvicorn_options("warning"))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def post_image(client, url: str, path: Path, **fields):
    with Path(path).open("rb") as fh:
        return client.post(f"{url}/v1/landmarks", files={"file": (Path(path).name, fh)},
                           data={k: str(v) for k, v in fields.items()})


def assert_same_landmarks(api_entry: dict, local_entry: dict, tol: float = 1e-3) -> None:
    assert list(api_entry["landmarks"]) == list(local_entry["landmarks"])
    assert (api_entry["width"], api_entry["height"]) == (local_entry["width"], local_entry["height"])
    for symbol, lm in local_entry["landmarks"].items():
        got = api_entry["landmarks"][symbol]
        assert got["x"] == pytest.approx(lm["x"], abs=tol), symbol
        assert got["y"] == pytest.approx(lm["y"], abs=tol), symbol
        assert got["confidence"] == pytest.approx(lm["confidence"], abs=1e-4), symbol
        assert got["low_confidence"] == lm["low_confidence"], symbol
    if local_entry["mm_per_pixel"] is None:
        assert api_entry["mm_per_pixel"] is None
    else:
        assert api_entry["mm_per_pixel"] == pytest.approx(local_entry["mm_per_pixel"], rel=1e-5)
    assert api_entry["mm_per_pixel_source"] == local_entry["mm_per_pixel_source"]
