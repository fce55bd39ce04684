"""Every kind of bad request gets a 4xx JSON error saying what was wrong, and the server keeps serving."""
from __future__ import annotations

import httpx
import numpy as np
import pytest
from serve_helpers import assert_same_landmarks, post_image, running_server

MAX_UPLOAD_MB = 0.05  # 52 KB: small enough to exceed cheaply
MAX_PIXELS = 100_000


@pytest.fixture(scope="module")
def strict(predictor):
    from zoo.serve import ServeLimits, create_app

    limits = ServeLimits(max_upload_mb=MAX_UPLOAD_MB, max_pixels=MAX_PIXELS, timeout_s=30)
    with running_server(create_app(predictor, limits)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def encode(ext: str, img: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def png_bytes(images):
    return images["png"].read_bytes()


def expect(response, status: int, code: str, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message"} and body["error"] == code, body
    for word in words:
        assert word in body["message"], (word, body["message"])
    return body


def post(client, files=None, data=None, **kwargs):
    return client.post("/v1/landmarks", files=files, data=data, **kwargs)


def test_not_an_image(strict):
    expect(post(strict, files={"file": ("notes.txt", b"these are not pixels")}), 415, "not_an_image",
           "notes.txt", "not a JPEG/PNG/BMP/TIFF image")
    expect(post(strict, files={"file": ("page.png", b"<!DOCTYPE html><html></html>")}), 415, "not_an_image",
           "HTML page")
    expect(post(strict, files={"file": ("x.json", b'{"landmarks": []}')}), 415, "not_an_image", "JSON")


def test_truncated_and_corrupt_images(strict, png_bytes):
    expect(post(strict, files={"file": ("cut.png", png_bytes[: len(png_bytes) // 2])}), 422, "unreadable_image",
           "cut.png", "truncated PNG")
    from serve_helpers import synthetic_cephalogram

    jpeg = encode(".jpg", synthetic_cephalogram(120, 100))
    assert len(jpeg) > 2000
    expect(post(strict, files={"file": ("cut.jpg", jpeg[: len(jpeg) * 2 // 3])}), 422, "unreadable_image",
           "truncated JPEG")
    corrupt = png_bytes[:40] + bytes(200) + png_bytes[-12:]  # header and IEND intact, data destroyed
    expect(post(strict, files={"file": ("broken.png", corrupt)}), 422, "unreadable_image", "broken.png")
    expect(post(strict, files={"file": ("tiny.png", png_bytes[:10])}), 422, "unreadable_image", "tiny.png")


def test_oversized_upload_declared(strict):
    big = b"\x89PNG\r\n\x1a\n" + bytes(200_000)
    expect(post(strict, files={"file": ("big.png", big)}), 413, "upload_too_large", "0.05 MiB")


def test_oversized_upload_streamed_without_length(strict, png_bytes):
    """A chunked body has no Content-Length: it is counted as it arrives and cut off."""
    boundary = "zooboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bmp\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()

    def chunks():
        yield head + b"BM"
        for _ in range(20):
            yield bytes(10_000)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = strict.post("/v1/landmarks", content=chunks(),
                           headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    expect(response, 413, "upload_too_large")


def test_image_over_the_pixel_cap(strict):
    data = encode(".png", np.zeros((300, 400), np.uint8))  # 120,000 px, a few hundred bytes
    assert len(data) < 5000
    expect(post(strict, files={"file": ("wide.png", data)}), 413, "image_too_large", "wide.png", "400x300")


def test_empty_body_and_empty_file(strict):
    expect(strict.post("/v1/landmarks"), 400, "empty_body", "field named 'file'")
    expect(post(strict, files={"file": ("nothing.png", b"")}), 400, "empty_file", "nothing.png")


def test_wrong_and_unknown_fields(strict, png_bytes):
    expect(post(strict, files={"image": ("a.png", png_bytes)}), 422, "missing_file", "'image'", "'file'")
    expect(post(strict, files={"file": ("a.png", png_bytes)}, data={"rulermm": "100"}), 422, "unknown_field",
           "'rulermm'")
    expect(post(strict, files=[("file", (None, b"a.png"))]), 422, "file_not_uploaded", "text value")
    expect(post(strict, data={"file": "a.png"}), 415, "not_multipart", "x-www-form-urlencoded")
    for value in ("maybe", "1", "yes"):
        expect(post(strict, files={"file": ("a.png", png_bytes)}, data={"analyze": value}), 422, "invalid_field",
               "analyze")
    two = [("file", ("a.png", png_bytes)), ("file", ("b.png", png_bytes))]
    expect(post(strict, files=two), 400, "malformed_form")


@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan", "inf", "1e400", "1e9"])
def test_bad_numbers(strict, png_bytes, value):
    for field in ("ruler_mm", "spacing_mm"):
        expect(post(strict, files={"file": ("a.png", png_bytes)}, data={field: value}), 422, "invalid_field", field)


def test_not_multipart(strict, png_bytes):
    expect(strict.post("/v1/landmarks", content=png_bytes, headers={"content-type": "image/png"}), 415,
           "not_multipart", "image/png")
    expect(strict.post("/v1/landmarks", json={"file": "x"}), 415, "not_multipart")
    expect(strict.post("/v1/landmarks", content=b"garbage", headers={"content-type": "multipart/form-data"}), 400,
           "malformed_form")


def test_routes_and_methods(strict):
    expect(strict.get("/v1/landmarks"), 405, "method_not_allowed", "GET")
    expect(strict.get("/v2/landmarks"), 404, "not_found", "/v2/landmarks")
    expect(strict.post("/healthz"), 405, "method_not_allowed")


def test_still_serving_after_all_that(strict, predictor, images):
    """The same process that answered every error above still predicts correctly."""
    assert strict.get("/healthz").json()["status"] == "ok"
    response = post_image(strict, str(strict.base_url).rstrip("/"), images["jpeg"])
    assert response.status_code == 200, response.text
    assert_same_landmarks(response.json()["predictions"][0], predictor.predict(images["jpeg"]))


def test_limits_are_validated():
    from zoo.registry import ZooError
    from zoo.serve import ServeLimits

    for bad in (dict(max_upload_mb=0), dict(timeout_s=float("nan")), dict(max_concurrency=0),
                dict(max_pixels=0), dict(max_queue=-1), dict(queue_wait_s=-1), dict(max_decode_mb=0),
                dict(header_timeout_s=float("inf")), dict(body_timeout_s=-2)):
        with pytest.raises(ZooError):
            ServeLimits(**bad)
    assert ServeLimits(max_concurrency=3).queue == 12 and ServeLimits(max_queue=0).queue == 0
    assert ServeLimits(timeout_s=5, body_timeout_s=30).upload_s == 5  # the body is part of the whole budget


def test_clean_filename():
    from zoo.serve.upload import clean_filename

    assert clean_filename("C:\\scans\\patient 1.png") == "patient 1.png"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("a\x00b\n.png") == "ab.png"
    assert clean_filename(None) == clean_filename("") == "upload"

