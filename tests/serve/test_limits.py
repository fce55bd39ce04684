"""Bounded concurrency, queueing and timeouts: overload answers 503/504 JSON, never a 500 or a crash.

A scripted backend (the tiny model's metadata, a controllable delay, fixed coordinates) makes the
timing deterministic; the real model's answers are covered in ``test_api``.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from serve_helpers import running_server


class ScriptedBackend:
    """Sleeps ``delay`` s, then answers K fixed points; ``fail`` makes it raise or return NaN."""

    name = "scripted"

    def __init__(self, k: int):
        self.k = k
        self.points = np.stack([10.0 + 7 * np.arange(k), 20.0 + 3 * np.arange(k) ** 1.5], 1)[None].astype(np.float32)
        self.delay = 0.0
        self.fail = None
        self.calls = 0
        self.finished = threading.Event()

    def __call__(self, batch):
        self.calls += 1
        self.finished.clear()
        time.sleep(self.delay)
        self.finished.set()
        if self.fail == "raise":
            raise RuntimeError("backend exploded")
        coords = self.points.copy()
        if self.fail == "same":  # a collapsed model: every landmark on one spot
            coords[:] = 12.0
        if self.fail == "nan":
            coords[0, 0, 0] = np.nan
        return coords, np.full((1, self.k), 0.9, np.float32)


@pytest.fixture()
def scripted(predictor):
    from zoo.inference import Predictor

    backend = ScriptedBackend(len(predictor.symbols))
    return backend, Predictor(backend, predictor.meta, orientation="fixed")  # one backend call per request


@pytest.fixture(scope="module")
def png(images):
    return images["png"].read_bytes()


def landmarks(url: str, data: bytes, timeout: float = 30):
    with httpx.Client(timeout=timeout) as client:
        return client.post(f"{url}/v1/landmarks", files={"file": ("a.png", data)})


def burst(url: str, data: bytes, n: int, stagger: float = 0.1):
    """``n`` requests at once (each from its own client), started ``stagger`` s apart so their order is known."""
    def one(i):
        time.sleep(i * stagger)
        return landmarks(url, data)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def serve(predictor, **limits):
    from zoo.serve import ServeLimits, create_app

    return running_server(create_app(predictor, ServeLimits(**limits)))


def test_full_queue_is_503_at_once(scripted, png):
    backend, predictor = scripted
    backend.delay = 1.5
    with serve(predictor, max_concurrency=1, max_queue=0) as url:
        started = time.monotonic()
        first, second = burst(url, png, 2)
        assert first.status_code == 200, first.text
        assert second.status_code == 503 and second.json()["error"] == "busy"
        assert second.headers["retry-after"] == "1" and "retry" in second.json()["message"]
        assert second.elapsed.total_seconds() < 1.0  # refused at the door, not after waiting
        assert time.monotonic() - started < 5
        assert httpx.get(f"{url}/healthz").json()["running"] == 0


def test_waiting_requests_get_503_after_the_queue_wait(scripted, png):
    backend, predictor = scripted
    backend.delay = 2.0
    with serve(predictor, max_concurrency=1, max_queue=4, queue_wait_s=0.4) as url:
        answers = burst(url, png, 3)
        assert [r.status_code for r in answers] == [200, 503, 503]
        assert all("slots stayed busy" in r.json()["message"] for r in answers[1:])
        assert backend.calls == 1  # the refused ones never reached the model


def test_queued_requests_are_served_in_turn(scripted, png):
    backend, predictor = scripted
    backend.delay = 0.4
    with serve(predictor, max_concurrency=1, max_queue=4, queue_wait_s=10) as url:
        answers = burst(url, png, 4, stagger=0.05)
        assert [r.status_code for r in answers] == [200] * 4
        assert backend.calls == 4


def test_timeout_is_504_and_keeps_the_slot_until_the_work_ends(scripted, png):
    backend, predictor = scripted
    backend.delay = 2.0
    with serve(predictor, max_concurrency=1, timeout_s=0.6, queue_wait_s=0.2) as url:
        slow = landmarks(url, png)
        assert slow.status_code == 504 and slow.json()["error"] == "timeout"
        # the abandoned computation still runs: its slot is not handed to a new request yet
        assert not backend.finished.is_set()
        assert httpx.get(f"{url}/healthz").json()["running"] == 1
        busy = landmarks(url, png)
        assert busy.status_code == 503
        assert backend.finished.wait(5)
        backend.delay = 0.0
        deadline = time.monotonic() + 5
        while httpx.get(f"{url}/healthz").json()["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert landmarks(url, png).status_code == 200


def test_event_loop_stays_responsive_during_inference(scripted, png):
    backend, predictor = scripted
    backend.delay = 1.5
    with serve(predictor, max_concurrency=1) as url, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(landmarks, url, png)
        time.sleep(0.4)
        started = time.monotonic()
        health = httpx.get(f"{url}/healthz", timeout=5).json()
        model = httpx.get(f"{url}/v1/model", timeout=5)
        assert time.monotonic() - started < 0.5
        assert health["running"] == 1 and model.status_code == 200
        assert pending.result().status_code == 200


def test_model_failures_are_json_500_and_the_server_goes_on(scripted, png):
    backend, predictor = scripted
    with serve(predictor) as url:
        backend.fail = "nan"
        nan = landmarks(url, png)
        assert nan.status_code == 500 and nan.json()["error"] == "model_error"
        assert "non-finite" in nan.json()["message"]
        backend.fail = "raise"
        boom = landmarks(url, png)
        assert boom.status_code == 500 and boom.json()["error"] == "internal_error"
        assert "RuntimeError" in boom.json()["message"] and "exploded" not in boom.json()["message"]
        backend.fail = "same"
        collapsed = landmarks(url, png)
        assert collapsed.status_code == 200, collapsed.text  # landmarks stand; measurements say what they can
        assert set(collapsed.json()["predictions"][0]["landmarks"]["S"]) >= {"x", "y", "confidence"}
        backend.fail = None
        ok = landmarks(url, png)
        assert ok.status_code == 200
        assert ok.json()["predictions"][0]["landmarks"]["S"]["confidence"] == pytest.approx(0.9)
