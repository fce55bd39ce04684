"""Decoding uploads in processes the server can kill, under a deadline.

``cv2.imdecode`` cannot be interrupted: a thread running it runs until libjpeg or libpng is done, and a
request that times out meanwhile keeps its inference slot (see :mod:`.limits`) -- two hostile uploads held
both slots for five minutes and every other client got 503. The header checks
(:func:`zoo.data.imageio.plan_decode`) refuse every such file known; the deadline is for the ones not known
yet. Each inference slot has a decoding process of its own (:mod:`.decode_worker`, started with the app),
and a decode past its deadline is ended by killing that process; a fresh one replaces it at once.

Nothing outlives its request: the thread that holds an inference slot is the one that waits for the
decoding, and it kills the process before it lets the slot go. So at most ``max_concurrency`` decodes run at
once, and an abandoned one never goes on using a core. A decoder that crashes (a bug in a codec) ends only
its own process. The process answers in JSON and raw pixels, never pickle: a codec that an image managed to
exploit could otherwise run code in the server.

The process returns the array as OpenCV decodes it (8 or 16 bits), or a DICOM file's stored values as pydicom
decodes them, never larger than the plan expects; the 8-bit stretch (a DICOM file's window or VOI LUT) runs in
the server. Memory stays what the plan counted: the decode in the worker, then
the array in one process or the other.

Where the platform has no ``select`` on pipes (Windows), images are decoded in the inference thread as
before, without a deadline; the header checks still apply.
"""
from __future__ import annotations

import json
import os
import queue
import struct
import subprocess
import sys
import threading
import time

import numpy as np

#: how long a freshly started worker may take to import numpy and OpenCV before it is given up
START_S = 60.0
#: the dtypes a worker may answer with: what the plans decode to (8 or 16 bits)
_DTYPES = {"|u1": np.uint8, "<u2": np.uint16, "<i2": np.int16}  # int16: a DICOM file's signed stored values


class DecodeDeadline(Exception):
    """The decoding did not finish within ``seconds`` (``request``: the request's own deadline came first);
    its process has been killed."""

    def __init__(self, seconds: float, request: bool = False):
        super().__init__(f"decoding did not finish within {seconds:.1f} s")
        self.seconds = seconds
        self.request = request


class DecoderCrash(Exception):
    """The decoding process ended or answered out of protocol: the codec crashed on the image, or the
    system killed the process (memory)."""


class _Worker:
    """One decoding process and the two ends of its pipes."""

    def __init__(self):
        from multiprocessing.connection import Connection

        self.proc = subprocess.Popen([sys.executable, "-m", "zoo.serve.decode_worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, close_fds=True)
        # the Connections own duplicates of the pipe ends; the Popen's file objects are closed right away
        self.tx = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.rx = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.ready = False

    def wait_ready(self, seconds: float) -> bool:
        """Whether the process has imported OpenCV and said so within ``seconds``."""
        if not self.ready and self.rx.poll(max(0.0, seconds)):
            if self.rx.recv_bytes(16) != b"ready":
                raise EOFError("the decoding process started wrong")
            self.ready = True
        return self.ready

    def end(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.tx.close()
        self.rx.close()


class ProcessDecoder:
    """A decoding process per inference slot: ``decode(data, plan, name, seconds)`` returns OpenCV's array
    for an upload, or kills the process when ``seconds`` run out (:class:`DecodeDeadline`). ``workers``
    processes serve as many threads at once, each process one image at a time; a thread that finds none
    free waits for one until its request's deadline."""

    def __init__(self, workers: int):
        self.workers = int(workers)
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._all: set = set()
        self._lock = threading.Lock()
        self._closed = False
        self._started = False
        self.isolated = sys.platform != "win32"  # Connection.poll needs select() on pipes

    def start(self, wait_s: float = START_S) -> None:
        """Start the processes and wait until each has imported OpenCV (about half a second, in parallel):
        the first uploads then do not spend their deadline on it. The app's lifespan calls this; an ASGI host
        that runs no lifespan (a bare ``TestClient``, some embedders) gets its processes at the first upload."""
        if not self.isolated:  # pragma: no cover - Windows
            return
        with self._lock:
            if self._started:
                return
            self._started = True
        started = [self._spawn() for _ in range(self.workers)]
        deadline = time.monotonic() + wait_s
        for worker in started:
            try:
                ready = worker.wait_ready(deadline - time.monotonic())
            except (EOFError, OSError):
                ready = False
            if not ready:
                self.close()
                command = f"{sys.executable} -m zoo.serve.decode_worker"
                raise RuntimeError(f"the image decoding process ({command}) did not start within {wait_s:g} s; "
                                   "its errors are above")
            self._idle.put(worker)

    def _spawn(self) -> _Worker:
        worker = _Worker()
        with self._lock:
            self._all.add(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        """Kill ``worker`` and put a fresh process in its place (it imports in the background)."""
        worker.end()
        with self._lock:
            self._all.discard(worker)
            closed = self._closed
        if not closed:
            self._idle.put(self._spawn())

    def decode(self, data: bytes, plan, name: str, seconds: float, within: float | None = None):
        """The array OpenCV decodes ``data`` to with ``plan.flags`` (gray or BGR, 8 or 16 bits), as
        :func:`zoo.data.imageio.decode_planned` would before its 8-bit stretch.

        ``seconds`` is the image's own time; ``within`` (a ``time.monotonic()`` instant) the request's
        deadline, which also bounds the wait for a process that is still starting (that wait is the
        server's, not the image's). Raises ``ImageReadError`` naming ``name`` when OpenCV cannot decode it,
        :class:`DecodeDeadline` when time runs out and :class:`DecoderCrash` when the process dies or
        answers out of protocol."""
        from multiprocessing import BufferTooShort

        from zoo.data.errors import ImageReadError
        from zoo.data.imageio import decode_stored

        if not self.isolated:  # pragma: no cover - Windows
            return decode_stored(data, plan, name)
        within = time.monotonic() + seconds if within is None else within
        if not self._started:
            self.start(wait_s=max(0.0, within - time.monotonic()))
        worker = self._ready_worker(within, seconds)
        deadline = min(time.monotonic() + max(0.0, seconds), within)
        request_first = deadline == within
        done = False
        try:
            worker.tx.send_bytes(struct.pack("<i", int(plan.flags)))
            worker.tx.send_bytes(data)
            if not worker.rx.poll(max(0.0, deadline - time.monotonic())):
                raise DecodeDeadline(seconds, request_first)
            head = json.loads(worker.rx.recv_bytes(4096))
            status = head.get("status")
            if status == "ok":
                img = self._pixels(worker, head, plan, name)
            elif status == "error":
                raise ImageReadError(f"{name}: OpenCV cannot decode it ({str(head.get('message'))[:300]})")
            elif status == "empty":
                raise ImageReadError(f"{name}: corrupt {plan.fmt.upper()} image (OpenCV could not decode it)")
            else:
                raise DecoderCrash(f"{name}: the decoding process answered out of protocol")
            done = True
            return img
        except ImageReadError:
            done = True  # answered in full: the process is fine
            raise
        except (EOFError, OSError, ValueError, BufferTooShort):  # a closed pipe, a cut or garbled answer
            code = worker.proc.poll()
            raise DecoderCrash(f"{name}: the decoding process stopped on this image without an answer (exit "
                               f"code {code}); the server goes on") from None
        finally:
            if done:
                self._idle.put(worker)
            else:  # past its deadline, crashed, or interrupted mid-answer: never reused
                self._retire(worker)

    def _ready_worker(self, within: float, seconds: float) -> _Worker:
        """An idle process that has finished starting, waiting at most until ``within``; one that died
        while idle (killed for memory, say) is replaced on the way."""
        while True:
            try:
                worker = self._idle.get(timeout=max(0.001, within - time.monotonic()))
            except queue.Empty:
                raise DecodeDeadline(seconds, True) from None
            try:
                if worker.proc.poll() is None and worker.wait_ready(within - time.monotonic()):
                    return worker
                alive = worker.proc.poll() is None
            except (EOFError, OSError):
                alive = False
            if alive:  # still starting when the request ran out of time: keep it for the next one
                self._idle.put(worker)
                raise DecodeDeadline(seconds, True)
            self._retire(worker)

    @staticmethod
    def _pixels(worker: _Worker, head: dict, plan, name: str):
        """The array the header announces, read straight into its final buffer; one larger than the plan's
        is out of protocol (the plan is what the memory budget admitted; a BMP's is colour: an upper
        bound)."""
        dtype = _DTYPES.get(str(head.get("dtype")))
        shape = tuple(int(n) for n in head.get("shape", ()))
        if dtype is None or not 2 <= len(shape) <= 3 or min(shape) < 1:
            raise DecoderCrash(f"{name}: the decoding process answered out of protocol")
        img = np.empty(shape, dtype)
        if img.nbytes > plan.array_bytes:
            raise DecoderCrash(f"{name}: decoded to {shape} {img.dtype}, not the planned {plan.describe()}")
        worker.rx.recv_bytes_into(memoryview(img.reshape(-1)).cast("B"))
        return img

    def close(self) -> None:
        """Kill every decoding process (the server is shutting down)."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.end()

    @property
    def pids(self) -> list[int]:
        """The decoding processes alive now (never more than ``workers``)."""
        with self._lock:
            return [w.proc.pid for w in self._all if w.proc.poll() is None]
