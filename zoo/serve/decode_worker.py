"""The decoding process of a server slot: ``python -m zoo.serve.decode_worker``, driven by :mod:`.decoding`.

A process of its own so that the server can kill it: ``cv2.imdecode`` cannot be interrupted. It is started
as a fresh interpreter, not forked from the server or from ``multiprocessing``'s fork server, because those
import the server's ``__main__`` again in every child: a script that builds an app at its top level would
start its server once more in each one. It imports numpy and OpenCV and nothing of the zoo's; a DICOM upload
(the flags :data:`DICOM_FLAGS`) is decoded with pydicom, imported on the first one, into its stored values (the
codecs pydicom runs, pylibjpeg's among them, are as much C code as OpenCV's); the server turns those into the
display (:func:`zoo.data.dicom.to_display`).

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

#: the flags that say "a DICOM file" (zoo.data.imageio.DICOM_FLAGS; no OpenCV flag is negative but -1)
DICOM_FLAGS = -0x44434D


def _dicom_stored(data: bytes):
    """A DICOM file's stored pixel values, as pydicom decodes them, in native byte order. Its warnings quote
    header values (patient data among them), so they are silenced."""
    import io
    import logging
    import warnings

    import pydicom

    logging.getLogger("pydicom").disabled = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        img = pydicom.dcmread(io.BytesIO(data)).pixel_array
    return img.astype(img.dtype.newbyteorder("="), copy=False) if img.dtype.byteorder == ">" else img


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
            img = _dicom_stored(data) if flags == DICOM_FLAGS else cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        except cv2.error as exc:
            tx.send_bytes(json.dumps({"status": "error", "message": str(exc.err or exc)}).encode())
            continue
        except Exception as exc:  # noqa: BLE001 - pydicom's codecs raise many kinds; the type is enough to say
            # only the exception's type: its text may quote a header value, and this answer is echoed to clients
            tx.send_bytes(json.dumps({"status": "error", "message": f"pydicom: {type(exc).__name__}"}).encode())
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
