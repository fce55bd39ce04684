"""What one server accepts and how much work it takes on at once.

Inference is CPU-bound: running more images at once than there are slots only makes every answer later
and can exhaust memory. So a request first needs admission (at most ``max_concurrency + max_queue`` are
inside at once; the rest get 503 straight away), then waits at most ``queue_wait_s`` for an inference
slot (else 503), and a slot stays taken until its thread really finishes -- a request that timed out
(504) cannot free a slot its computation still uses. The one part that can be stopped, decoding the image,
runs in a child process with a deadline (``decode_timeout_s``, :mod:`.decoding`): a decode past it is
killed and its slot freed at once.

Admission comes only once the whole body has arrived: a client trickling its upload would otherwise hold
a queue place while sending nothing, and ten of them lock every other client out. A slow client is
bounded by time instead -- ``header_timeout_s`` for its request line and headers, ``body_timeout_s`` for
its body -- and holds only its connection meanwhile.
"""
from __future__ import annotations

import asyncio
import math
from dataclasses import asdict, dataclass

from zoo.registry import ZooError

from .errors import ApiError

#: the lifespan-state key under which an app tells uvicorn's connections its header timeout (see .protocol)
HEADER_TIMEOUT_KEY = "zoo_header_timeout_s"


class ServeConfigError(ZooError):
    """A serving limit is out of range."""


@dataclass(frozen=True)
class ServeLimits:
    """Caps of one server process.

    Args:
        max_upload_mb: largest accepted request body (the image plus a few form fields), in MiB.
        max_pixels: largest accepted image, width x height, read from the header before decoding (a
            decompression bomb guard; 100 MP is above the largest Aariz cephalograms, ~95 MP).
        timeout_s: a request's whole budget: upload, queueing and inference.
        max_concurrency: images predicted at the same time (threads of the inference pool).
        queue_wait_s: how long a request waits for a free slot before 503.
        max_queue: requests allowed to wait; ``None`` means ``4 * max_concurrency``.
        max_decode_mb: memory one image may take to decode, in MiB, from its header (width x height x
            decoded channels x bytes per sample, twice: see :class:`zoo.data.imageio.DecodePlan`). The
            pixel cap alone lets a 16-bit colour image cost six times an 8-bit gray one of the same size;
            the default admits every 8-bit or 16-bit gray image under 100 MP, 16-bit colour up to ~89 MP.
        header_timeout_s: time from opening a connection (or from the first byte of its next request)
            to the end of the request's headers; past it the connection gets 408 and is closed.
        body_timeout_s: time to receive the whole body once the headers are in (408 past it, the
            connection closed); never more than ``timeout_s``. 30 s is 2.2 MB/s for a 64 MiB upload.
        decode_timeout_s: time one image may take to decode; past it the decoding process is killed, its
            slot freed and the request answered 422 (see :mod:`.decoding`). The header checks already
            refuse what is known to be slow; 20 s is about four times the slowest image they admit on a
            2-core machine (a 99 MP 16-bit colour PNG, 5.1 s; a JPEG at the scan-work limit, 4-6 s).
    """

    max_upload_mb: float = 64.0
    max_pixels: int = 100_000_000
    timeout_s: float = 60.0
    max_concurrency: int = 2
    queue_wait_s: float = 10.0
    max_queue: int | None = None
    max_decode_mb: float = 1024.0
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    decode_timeout_s: float = 20.0

    def __post_init__(self):
        for name in ("max_upload_mb", "timeout_s", "queue_wait_s", "max_decode_mb", "header_timeout_s",
                     "body_timeout_s", "decode_timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ServeConfigError(f"{name} must be a positive number, got {value!r}")
        if int(self.max_pixels) < 1:
            raise ServeConfigError(f"max_pixels must be at least 1, got {self.max_pixels!r}")
        if int(self.max_concurrency) < 1:
            raise ServeConfigError(f"max_concurrency must be at least 1, got {self.max_concurrency!r}")
        if self.max_queue is not None and int(self.max_queue) < 0:
            raise ServeConfigError(f"max_queue must be 0 or more, got {self.max_queue!r}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_decode_bytes(self) -> int:
        return int(self.max_decode_mb * 1024 * 1024)

    @property
    def upload_s(self) -> float:
        """How long a body may take to arrive: the body timeout, within the whole-request budget."""
        return min(self.body_timeout_s, self.timeout_s)

    @property
    def queue(self) -> int:
        return 4 * int(self.max_concurrency) if self.max_queue is None else int(self.max_queue)

    def to_dict(self) -> dict:
        return dict(asdict(self), max_queue=self.queue)


class Gate:
    """Admission count plus inference slots, shared by every request of one app (one event loop)."""

    def __init__(self, slots: int, queue: int):
        self.slots = int(slots)
        self.capacity = self.slots + int(queue)
        self.inside = 0  # admitted and not finished answering
        self.running = 0  # holding a slot (their thread may outlive a timed-out request)
        self._sem = asyncio.Semaphore(self.slots)

    @property
    def waiting(self) -> int:
        return max(0, self.inside - self.running)

    def enter(self) -> None:
        if self.inside >= self.capacity:
            raise ApiError(503, "busy", f"server busy: {self.running} images in progress and "
                           f"{self.waiting} waiting (limit {self.capacity}); retry shortly",
                           headers={"Retry-After": "1"})
        self.inside += 1

    def leave(self) -> None:
        self.inside -= 1

    def _release(self, future) -> None:
        self.running -= 1
        self._sem.release()
        if not future.cancelled():
            future.exception()  # retrieved here, so an abandoned (timed-out) failure is not logged as lost

    async def run(self, executor, fn, wait_s: float, timeout_s: float):
        """Run ``fn`` in ``executor`` once a slot is free; 503 if none frees within ``wait_s``, 504 past
        ``timeout_s``."""
        if timeout_s <= 0:
            raise ApiError(504, "timeout", "the request timeout ran out before the image could be processed")
        try:
            if self._sem.locked():  # wait_for would time out even a free semaphore when wait_s is 0
                await asyncio.wait_for(self._sem.acquire(), max(wait_s, 0.0))
            else:
                await self._sem.acquire()
        except TimeoutError:
            raise ApiError(503, "busy", f"all {self.slots} inference slots stayed busy for {wait_s:.1f} s; "
                           "retry shortly", headers={"Retry-After": "1"}) from None
        self.running += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(executor, fn)
        except BaseException:
            self.running -= 1
            self._sem.release()
            raise
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(timeout_s, 0.0))
        except TimeoutError:
            raise ApiError(504, "timeout", f"the image was not processed within the request timeout "
                           f"({timeout_s:.1f} s left of it); try a smaller image or retry later") from None
