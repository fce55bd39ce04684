"""libjpeg's warnings about a JPEG's data, which OpenCV prints on stderr and otherwise ignores.

A JPEG with garbage or lost bytes in the middle of its compressed data still has its end-of-image marker,
so the completeness check of :mod:`zoo.data.imageio` passes, and OpenCV decodes it without an error: the
blocks after the damage come out grey or smeared, and the only sign is a line such as "Corrupt JPEG data:
115 extraneous bytes before marker 0xd9" that libjpeg writes to the process's stderr. Catching that line
is the one way to know from Python, so :func:`libjpeg_warnings` redirects file descriptor 2 around a decode.

It finds what libjpeg finds (``tests/data/test_jpeg_integrity.py`` damages the synthetic set's JPEGs):
long overwrites almost always and most short ones, but a few of the shortest only shift some blocks and
leave no trace in the stream. Where OpenCV's C runtime keeps its own stderr
(Windows), nothing is caught and files pass as before.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager

#: libjpeg's messages (jerror.h) that mean the compressed data is damaged
DATA_WARNINGS = ("Corrupt JPEG data", "Premature end of JPEG file", "Inconsistent progression sequence",
                 "Invalid SOS parameters")

_LOCK = threading.Lock()  # fd 2 is one per process: one capture at a time


@contextmanager
def libjpeg_warnings():
    """Collect libjpeg's data warnings written while the block runs: yields a list, filled when it ends.

    Everything else native code writes to stderr meanwhile is passed on to the real stderr.
    """
    found: list[str] = []
    with _LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with tempfile.TemporaryFile() as tmp:
                os.dup2(tmp.fileno(), 2)
                try:
                    yield found
                finally:
                    os.dup2(saved, 2)
                    tmp.seek(0)
                    _sort(tmp.read().decode("utf-8", "replace"), found)
        finally:
            os.close(saved)


def _sort(text: str, found: list[str]) -> None:
    other = []
    for line in text.splitlines():
        (found if any(sign in line for sign in DATA_WARNINGS) else other).append(line.strip())
    if other:
        sys.stderr.write("\n".join(other) + "\n")
