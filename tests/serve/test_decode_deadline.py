"""Decode time is bounded (issue #33 item 5): a JPEG whose scans would take minutes is refused from its
markers, every decode in the server runs in a process killed at ``decode_timeout_s``, and ``zoo predict``
and the Python API refuse the same file with the same message. Pixel spacings are physical everywhere.

The reported attack: an 8000 x 8000 progressive gray JPEG with its last scan repeated 3000 times, 536 kB,
under the pixel, byte and decode-memory caps; ``cv2.imdecode`` took 147 s on it, and two such uploads held
both inference slots so that every other prediction got 503 for about 300 s.
"""
from __future__ import annotations

import io
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image
from serve_helpers import running_server

#: how fast a client that sent a normal image must be answered while hostile uploads are being handled
PROMPT_S = 1.0


def flat_progressive(h: int, w: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w), 128, np.uint8)).save(buf, "JPEG", progressive=True)
    return buf.getvalue()


def repeat_last_scan(data: bytes, times: int) -> bytes:
    """The bytes from the last start-of-scan marker to the end-of-image marker, ``times`` more times."""
    last = [m.start() for m in re.finditer(rb"\xff\xda", data)][-1]
    return data[:-2] + data[last:-2] * times + b"\xff\xd9"


@pytest.fixture(scope="module")
def scan_bomb(tmp_path_factory):
    """The reported file, built as the report describes it."""
    path = tmp_path_factory.mktemp("hostile") / "scan bomb.jpg"
    path.write_bytes(repeat_last_scan(flat_progressive(8000, 8000), 3000))
    assert len(path.read_bytes()) < 660_000
    return path


@pytest.fixture(scope="module")
def slow_decode():
    """A file that passes the header checks once their limits are lifted, and then takes seconds to decode
    (2000 x 2000, 3006 scans): what an attack not known yet would look like to the server."""
    return repeat_last_scan(flat_progressive(2000, 2000), 3000)


class InstantBackend:
    """Fixed landmarks at once: the timings below are the server's, not the model's."""

    name = "instant"

    def __init__(self, k: int):
        self.k = k

    def __call__(self, batch):
        n = batch.shape[0]
        points = np.stack([10.0 + 7 * np.arange(self.k), 20.0 + 3 * np.arange(self.k)], 1).astype(np.float32)
        return np.repeat(points[None], n, 0), np.full((n, self.k), 0.9, np.float32)


@pytest.fixture()
def instant(predictor):
    from zoo.inference import Predictor

    return Predictor(InstantBackend(len(predictor.symbols)), predictor.meta, orientation="fixed")


def serve(predictor, **limits):
    from zoo.serve import ServeLimits, create_app

    app = create_app(predictor, ServeLimits(**limits))
    return app.state.decoder, running_server(app)


def post(url: str, name: str, data: bytes, timeout: float = 60) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    with httpx.Client(timeout=timeout) as client:
        response = client.post(f"{url}/v1/landmarks", files={"file": (name, data)})
    return response, time.perf_counter() - started


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_scan_bombs_are_refused_at_the_door_while_others_are_served(instant, images, scan_bomb):
    """Two reported files at once, and a normal image beside them: the bombs get 413 from their markers, the
    normal image its landmarks, each within a second, and no slot is ever held."""
    bomb, png = scan_bomb.read_bytes(), images["png"].read_bytes()
    decoder, server = serve(instant)
    with server as url, ThreadPoolExecutor(3) as pool:
        workers = decoder.pids
        bombs = [pool.submit(post, url, f"bomb {i}.jpg", bomb) for i in range(2)]
        time.sleep(0.05)
        normal, normal_s = pool.submit(post, url, "ceph.png", png).result()
        answers = [future.result() for future in bombs]
        health = httpx.get(f"{url}/healthz").json()
        assert decoder.pids == workers  # no decoding process was even asked
    assert normal.status_code == 200 and normal_s < PROMPT_S, (normal.text, normal_s)
    for response, seconds in answers:
        assert response.status_code == 413 and response.json()["error"] == "image_too_costly", response.text
        assert "more than 100 scans" in response.json()["message"] and seconds < PROMPT_S
    assert health["running"] == 0 and not any(alive(pid) for pid in workers)  # ended with the server


def test_a_decode_past_its_deadline_is_killed_and_frees_its_slot(instant, images, slow_decode, monkeypatch):
    """With the scan limits lifted, two slow files take both slots; at ``decode_timeout_s`` their decoding
    processes are killed, they get 422, and the client queued behind them is served: no 503, no process left
    decoding (before, a thread decoded on for minutes and kept its slot)."""
    from zoo.data import imageio

    monkeypatch.setattr(imageio, "MAX_JPEG_SCANS", 10**6)
    monkeypatch.setattr(imageio, "MAX_JPEG_BLOCK_DECODES", 10**12)
    png = images["png"].read_bytes()
    deadline_s = 1.0
    decoder, server = serve(instant, max_concurrency=2, queue_wait_s=5, decode_timeout_s=deadline_s)
    with server as url, ThreadPoolExecutor(3) as pool:
        workers = decoder.pids
        slow = [pool.submit(post, url, f"slow {i}.jpg", slow_decode) for i in range(2)]
        until = time.monotonic() + deadline_s / 2
        while httpx.get(f"{url}/healthz").json()["running"] < 2 and time.monotonic() < until:
            time.sleep(0.02)
        assert httpx.get(f"{url}/healthz").json()["running"] == 2
        normal, normal_s = pool.submit(post, url, "ceph.png", png).result()
        answers = [future.result() for future in slow]
        health = httpx.get(f"{url}/healthz").json()
        replaced = decoder.pids
    assert normal.status_code == 200 and normal_s < deadline_s + PROMPT_S, (normal.text, normal_s)
    for response, seconds in answers:
        body = response.json()
        assert response.status_code == 422 and body["error"] == "decode_timeout", response.text
        assert "2000x2000 8-bit" in body["message"] and "--decode-timeout-s" in body["message"]
        assert deadline_s <= seconds < deadline_s + PROMPT_S
    # the two decoding processes were killed, not left decoding, and two fresh ones took their places
    assert health["running"] == 0 and not any(alive(pid) for pid in workers)
    assert len(replaced) == 2 and not set(replaced) & set(workers)


def test_the_request_deadline_also_stops_a_decode(instant, slow_decode, monkeypatch):
    """A request timeout shorter than the decode deadline: 504 as before, but the decode is killed with it,
    so the slot is free at once instead of when the decode would have ended."""
    from zoo.data import imageio

    monkeypatch.setattr(imageio, "MAX_JPEG_SCANS", 10**6)
    monkeypatch.setattr(imageio, "MAX_JPEG_BLOCK_DECODES", 10**12)
    decoder, server = serve(instant, max_concurrency=1, timeout_s=1.5, decode_timeout_s=30)
    with server as url:
        (worker,) = decoder.pids
        response, seconds = post(url, "slow.jpg", slow_decode)
        time.sleep(0.2)
        health = httpx.get(f"{url}/healthz").json()
        assert not alive(worker)
    assert response.status_code == 504 and response.json()["error"] == "timeout", response.text
    assert seconds < 1.5 + PROMPT_S and health["running"] == 0


def test_decoding_in_a_child_gives_the_pixels_of_the_file(predictor, images):
    """The child process decodes what ``LoadCephalogram`` reads (``zoo predict``, training), every format."""
    from zoo.data.imageio import decode_for_model, plan_decode
    from zoo.data.pixels import stretch_to_uint8
    from zoo.serve.decoding import ProcessDecoder

    decoder = ProcessDecoder(1)
    decoder.start()
    try:
        (worker,) = decoder.pids
        for fmt, path in images.items():
            data = path.read_bytes()
            plan = plan_decode(data, path.name, predictor.channels)
            got = stretch_to_uint8(decoder.decode(data, plan, path.name, 30))
            want = decode_for_model(data, path.name, predictor.channels)
            np.testing.assert_array_equal(got, want, err_msg=fmt)
        assert decoder.pids == [worker]  # one process decoded them all
    finally:
        decoder.close()
    assert not alive(worker)


def test_an_app_whose_host_runs_no_lifespan_still_decodes(predictor):
    """A bare ``TestClient`` (or an ASGI host that skips the lifespan) never starts the decoding processes: the
    first upload starts them, instead of waiting out its deadline and answering 504 (a full-size film, 4.6 MP)."""
    import cv2
    from fastapi.testclient import TestClient

    from zoo.serve import create_app

    film = np.random.default_rng(1).integers(0, 256, (2400, 1935), dtype=np.uint8)
    client = TestClient(create_app(predictor))  # no `with`: no lifespan
    png = cv2.imencode(".png", film)[1].tobytes()
    answer = client.post("/v1/landmarks", files={"file": ("film.png", png, "image/png")})
    assert answer.status_code == 200, answer.text


def test_a_corrupt_image_is_a_422_and_the_decoding_process_goes_on(instant, images):
    """OpenCV decoding nothing is the client's 422, answered by the same process that then decodes the next
    image; a process that dies without an answer is replaced."""
    data = bytearray(images["png"].read_bytes())
    data[60:400] = bytes(340)  # the IDAT's compressed bytes zeroed: the header passes, the pixels do not
    decoder, server = serve(instant, max_concurrency=1)
    with server as url:
        (worker,) = decoder.pids
        broken, _ = post(url, "broken.png", bytes(data))
        assert decoder.pids == [worker]
        os.kill(worker, 9)  # what the kernel's OOM killer would do
        time.sleep(0.1)
        after, _ = post(url, "ceph.png", images["png"].read_bytes())
        (fresh,) = decoder.pids
    assert broken.status_code == 422 and broken.json()["error"] == "unreadable_image", broken.text
    assert "broken.png" in broken.json()["message"]
    assert after.status_code == 200, after.text
    assert fresh != worker


def test_zoo_predict_and_the_python_api_refuse_the_same_file(tiny_model, scan_bomb, images, capsys):
    """The same refusal and the same sentence: the CLI reports it on its own line and goes on with the next
    image (exit 1); the API raises it."""
    import zoo
    from zoo.cli import main
    from zoo.commands.predict import run_predict
    from zoo.data.errors import DecodeCostError

    with pytest.raises(DecodeCostError) as refused:
        zoo.load(tiny_model, orientation="fixed").predict(scan_bomb)
    message = str(refused.value)
    assert str(scan_bomb) in message and "more than 100 scans" in message
    result = run_predict(tiny_model, [scan_bomb, images["png"]], orientation="fixed")
    assert [f["error"] for f in result["failed"]] == [message] and len(result["predictions"]) == 1
    started = time.perf_counter()
    with pytest.raises(SystemExit) as exited:
        main(["predict", str(tiny_model), str(scan_bomb), "--orientation", "fixed"])
    assert exited.value.code == 1 and f"error: {message}" in capsys.readouterr().err
    assert time.perf_counter() - started < 30  # the model's loading; the refusal itself takes milliseconds


# -- pixel spacings ------------------------------------------------------------------------------------------

NON_PHYSICAL = [5e-324, 0.001, 5.5, 1e9, -0.1]


@pytest.mark.parametrize("value", NON_PHYSICAL)
def test_non_physical_spacings_are_refused_by_the_cli_api_and_predictor(value, tmp_path, predictor, images,
                                                                         capsys):
    """``--spacing-mm`` before the model is even opened (a missing model shows it), ``predict(spacing_mm=)``
    and ``Predictor.predict`` before the image is read; one line saying the range."""
    from zoo.api import LandmarkModel
    from zoo.cli import main
    from zoo.data.errors import SpacingError

    with pytest.raises(SystemExit) as exited:
        main(["predict", str(tmp_path / "no model.pth"), str(images["png"]), "--spacing-mm", repr(value)])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "--spacing-mm must be between 0.01 and 5 mm per pixel" in err, err
    for call in (lambda: LandmarkModel(predictor, "tiny").predict(images["png"], spacing_mm=value),
                 lambda: predictor.predict(tmp_path / "not read.png", spacing_mm=value)):
        with pytest.raises(SpacingError, match="spacing_mm must be between 0.01 and 5 mm per pixel"):
            call()


def test_the_server_form_takes_physical_spacings_only(server, images):
    png = images["png"].read_bytes()
    with httpx.Client(timeout=60) as client:
        for value in ("5e-324", "0.001", "5.01", "100"):
            response = client.post(f"{server}/v1/landmarks", files={"file": ("a.png", png)},
                                   data={"spacing_mm": value})
            assert response.status_code == 422 and response.json()["error"] == "invalid_field", response.text
            assert "between 0.01 and 5 mm per pixel" in response.json()["message"]
        edge = client.post(f"{server}/v1/landmarks", files={"file": ("a.png", png)}, data={"spacing_mm": "5"})
        schema = client.get(f"{server}/openapi.json").json()
    assert edge.status_code == 200 and edge.json()["predictions"][0]["mm_per_pixel"] == 5.0
    form = schema["paths"]["/v1/landmarks"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    number = form["properties"]["spacing_mm"]["anyOf"][0]
    assert (number["minimum"], number["maximum"]) == (0.01, 5.0)


def test_a_deep_json_body_is_refused_unparsed(server):
    """The API takes multipart forms only: JSON nested 100000 deep is answered 415 like any JSON body, and
    the server goes on."""
    deep = "[" * 100_000 + "]" * 100_000
    response = httpx.post(f"{server}/v1/landmarks", content=deep, headers={"content-type": "application/json"},
                          timeout=30)
    assert response.status_code == 415 and response.json()["error"] == "not_multipart", response.text
    assert httpx.get(f"{server}/healthz", timeout=5).json()["status"] == "ok"
