"""Refuse oversized request bodies before they are read, not after they fill memory or disk.

Starlette spools a multipart upload completely before the endpoint sees it, so the cap must sit below
the app: a declared ``Content-Length`` over the cap is answered 413 at once, and a chunked body is
counted as it arrives and cut off when it passes the cap.
"""
from __future__ import annotations

import json

from .errors import UploadTooLarge


class BodySizeLimit:
    """Pure ASGI middleware: 413 with the JSON error shape for bodies above ``max_bytes``."""

    def __init__(self, app, max_bytes: int, max_upload_mb: float):
        self.app = app
        self.max_bytes = int(max_bytes)
        self.max_upload_mb = max_upload_mb

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
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                return await self._reject(send, 400, "bad_request", "Content-Length is not a number")
            if length > self.max_bytes:
                return await self._reject(send, 413, "upload_too_large", self._too_large(f"of {length} bytes"))

        received = 0
        started = False

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise UploadTooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except UploadTooLarge:
            if started:
                raise
            await self._reject(send, 413, "upload_too_large", self._too_large(f"of more than {self.max_bytes} bytes"))
