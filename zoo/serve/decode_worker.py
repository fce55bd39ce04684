"""The decoding process of a server slot: ``python -m zoo.serve.decode_worker``, driven by :mod:`.decoding`.

A process of its own so that the server can kill it: ``cv2.imdecode`` cannot be interrupted. It is started
as a fresh interpreter, not forked from the server or from ``multiprocessing``'s fork server, because those
import the server's ``__main__`` again in every child: a script that builds an app at its top level would
start its server once more in each one. It imports numpy and OpenCV and nothing of the zoo's.

Protocol, over stdin and stdout (stdout is moved aside first, so that a stray print goes to stderr): the
worker says ``ready``; then, per image, it reads the cv2.IMREAD_* flags (4 bytes) and the encoded bytes,
and answers one JSON header -- ``{"status": "ok", "shape": [...], "dtype": "<u2"}`` followed by the
pixels, ``{"status": "empty"}`` when OpenCV decodes nothing, ``{"status": "error", "message": ...}`` when
it raises. JSON rather than pickle: a codec exploited by an image must not be able to run code in the server.
"""
from __future__ import annotations

import json
import os
import struct
import sys
from multiprocessing.connection import Connection


def serve(rx: Connection, tx: Connection) -> None:
    """Decode one image after another until the server closes the pipe."""
    import cv2
    import numpy as np

    tx.send_bytes(b"ready")
    while True:
        try:
            (flags,) = struct.unpack("<i", rx.recv_bytes(4))
            data = rx.recv_bytes()
        except EOFError:
            return
        try:
            img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        except cv2.error as exc:
            tx.send_bytes(json.dumps({"status": "error", "message": str(exc.err or exc)}).encode())
            continue
        del data
        if img is None or img.size == 0:
            tx.send_bytes(b'{"status": "empty"}')
            continue
        img = np.ascontiguousarray(img)
        tx.send_bytes(json.dumps({"status": "ok", "shape": list(img.shape), "dtype": img.dtype.str}).encode())
        tx.send_bytes(memoryview(img.reshape(-1)).cast("B"))
        del img


def main() -> None:
    out = os.dup(1)
    os.dup2(2, 1)  # fd 1 is the answer channel from here on, so everything else written there goes to stderr
    sys.stdout = sys.stderr
    serve(Connection(os.dup(0), writable=False), Connection(out, readable=False))


if __name__ == "__main__":
    main()
