"""Refuse oversized request bodies before they are read, not after they fill memory or disk.

Starlette spools a multipart upload completely before the endpoint sees it, so the cap must sit below
the app: a declared ``Content-Length`` over the cap is refused without storing a byte, and a chunked body
is counted as it arrives and cut off when it passes the cap.

Before the 413 goes out, the rest of the body is read and thrown away (up to a bound in bytes and
time): closing a socket with unread data makes the kernel send a reset, and the client would see
"connection reset" instead of the JSON that says what was wrong.

Any other answer given before the body was read to its end (a 408 for a body that was too slow, a
malformed form) says ``Connection: close``: uvicorn keeps a connection open after the response and
silently discards the rest of its body, so a client trickling one byte every few seconds would otherwise
keep its connection forever -- each byte cancels the keep-alive timer.
"""
from __future__ import annotations

import json
import time

from .errors import UploadTooLarge

CLOSE = (b"connection", b"close")


def _expects_body(headers: dict) -> bool:
    return b"transfer-encoding" in headers or headers.get(b"content-length", b"0").strip() not in (b"0", b"")


def _closing(message: dict) -> dict:
    headers = list(message.get("headers") or ())
    if any(k.lower() == b"connection" for k, _ in headers):
        return message
    return {**message, "headers": [*headers, CLOSE]}


class BodySizeLimit:
    """Pure ASGI middleware: 413 with the JSON error shape for bodies above ``max_bytes``, and
    ``Connection: close`` on any answer that leaves part of a body unread."""

    def __init__(self, app, max_bytes: int, max_upload_mb: float, drain_bytes: int | None = None,
                 drain_s: float = 5.0):
        self.app = app
        self.max_bytes = int(max_bytes)
        self.max_upload_mb = max_upload_mb
        self.drain_bytes = int(drain_bytes if drain_bytes is not None else max(8 << 20, 2 * self.max_bytes))
        self.drain_s = drain_s

    async def _drain(self, receive, already: int = 0) -> None:
        """Discard what is left of the body (bounded), so the answer reaches the client."""
        import asyncio

        total, deadline = already, time.monotonic() + self.drain_s
        while total <= self.drain_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                message = await asyncio.wait_for(receive(), left)
            except TimeoutError:
                return
            if message["type"] != "http.request":
                return
            total += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _reject(self, send, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": code, "message": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    def _too_large(self, size: str) -> str:
        return (f"request body {size} exceeds the upload limit of {self.max_upload_mb:g} MiB "
                "(zoo serve --max-upload-mb)")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                return await self._reject(send, 400, "bad_request", "Content-Length is not a number")
            if length > self.max_bytes:
                if length <= self.drain_bytes:
                    await self._drain(receive)
                return await self._reject(send, 413, "upload_too_large", self._too_large(f"of {length} bytes"))

        received = 0
        started = False
        body_complete = not _expects_body(headers)

        async def counting_receive():
            nonlocal received, body_complete
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    raise UploadTooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not body_complete:
                    message = _closing(message)
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except UploadTooLarge:
            if started:
                raise
            if not body_complete:  # another receive() after the last chunk would wait for nothing
                await self._drain(receive, received)
            await self._reject(send, 413, "upload_too_large", self._too_large(f"of more than {self.max_bytes} bytes"))
