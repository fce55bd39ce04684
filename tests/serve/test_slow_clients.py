"""Slow clients on loopback: a trickled upload or header block is bounded in time and holds no queue place.

Ten uploads trickling one byte at a time used to take all ten admission places of the default limits
(2 slots + 8 queued) for the whole request timeout, and every other client got 503. The sockets here are
raw, because an HTTP client library sends a body as fast as it can.
"""
from __future__ import annotations

import json
import select
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from serve_helpers import post_image, running_server, server_sized_heap

SLOW_CLIENTS = 10
BODY_S = 3.0
HEADER_S = 1.0
#: a liveness probe's patience (Kubernetes' default timeoutSeconds): a loop the slow uploads held would
#: keep a poll waiting for their body timeout, BODY_S
HEALTHZ_S = 1.0
MULTIPART_HEAD = (b"POST /v1/landmarks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
                  b"Content-Type: multipart/form-data; boundary=zoo\r\n\r\n--zoo\r\n")


def serve(predictor, **limits):
    from zoo.serve import ServeLimits, create_app

    return running_server(create_app(predictor, ServeLimits(**limits)))


def connect(url: str, first: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(first)
    return sock


def trickle(sock: socket.socket, interval: float, give_up_s: float, since: float | None = None):
    """One byte every ``interval`` s until the server closes the connection: ``(answer, seconds, closed)``,
    seconds counted from ``since`` (when the request began) or from now."""
    started, answer = since or time.monotonic(), b""
    with sock:
        while time.monotonic() - started < give_up_s:
            if select.select([sock], [], [], interval)[0]:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    return answer, time.monotonic() - started, True
                answer += chunk
            elif not answer:
                try:
                    sock.sendall(b"x")
                except OSError:  # closed between the select and the send
                    return answer, time.monotonic() - started, True
    return answer, time.monotonic() - started, False


def status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def healthz_latencies(url: str, n: int = 20) -> list[float]:
    latencies = []
    with httpx.Client(timeout=5) as client:
        for _ in range(n):
            started = time.perf_counter()
            assert client.get(f"{url}/healthz").status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.02)
    return latencies


def test_slow_uploads_hold_no_queue_place_and_get_408(predictor, images):
    with (server_sized_heap(), serve(predictor, body_timeout_s=BODY_S) as url,
          ThreadPoolExecutor(SLOW_CLIENTS) as pool):
        since = time.monotonic()
        socks = [connect(url, MULTIPART_HEAD) for _ in range(SLOW_CLIENTS)]
        pending = [pool.submit(trickle, sock, 0.5, BODY_S + 10, since) for sock in socks]
        time.sleep(0.3)
        health = httpx.get(f"{url}/healthz", timeout=5).json()
        with httpx.Client(timeout=30) as client:
            normal = post_image(client, url, images["png"])
        latencies = healthz_latencies(url)
        assert not any(p.done() for p in pending), "the slow uploads ended before the others were served"
        answers = [p.result() for p in pending]
    assert health["waiting"] == 0 and health["running"] == 0
    assert normal.status_code == 200, normal.text
    assert max(latencies) < HEALTHZ_S, latencies
    for answer, seconds, closed in answers:
        status, body = status_and_json(answer)
        assert status == 408 and body["error"] == "upload_timeout" and "--body-timeout-s" in body["message"]
        assert closed and BODY_S <= seconds < BODY_S + 2.0, seconds


def test_slow_headers_get_408_and_the_connection_closes(predictor):
    with serve(predictor, header_timeout_s=HEADER_S) as url:
        since = time.monotonic()
        sock = connect(url, b"POST /v1/landmarks HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer, seconds, closed = trickle(sock, 0.3, HEADER_S + 10, since)
        status, body = status_and_json(answer)
        assert status == 408 and body["error"] == "header_timeout" and "--header-timeout-s" in body["message"]
        assert closed and HEADER_S <= seconds < HEADER_S + 1.5, seconds
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200


def test_the_header_deadline_restarts_for_each_request_of_a_connection(predictor):
    """uvicorn's keep-alive timer stops at the next request's first byte; the header deadline takes over."""
    with serve(predictor, header_timeout_s=HEADER_S) as url:
        sock = connect(url, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first or not first.rstrip().endswith(b"}"):
            first += sock.recv(65536)
        assert status_and_json(first)[0] == 200
        time.sleep(HEADER_S * 1.5)  # idle between requests: the keep-alive timer's time, not the header one's
        since = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        answer, seconds, closed = trickle(sock, 0.3, HEADER_S + 10, since)
    status, body = status_and_json(answer)
    assert status == 408 and body["error"] == "header_timeout" and closed
    assert HEADER_S <= seconds < HEADER_S + 1.5, seconds


def test_an_answer_before_the_whole_body_closes_the_connection(predictor):
    """Otherwise uvicorn keeps the connection and discards what follows, for as long as bytes keep coming."""
    with serve(predictor) as url:  # a wrong method is answered without reading the body
        sock = connect(url, b"DELETE /v1/landmarks HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        answer, _, closed = trickle(sock, 0.3, 5)
        with httpx.Client(timeout=5) as client:
            whole_body = client.post(f"{url}/v1/landmarks", content=b"x" * 10)  # read: no reason to close
    assert status_and_json(answer)[0] == 405 and b"connection: close" in answer.lower() and closed
    assert whole_body.status_code == 415 and "connection" not in whole_body.headers
