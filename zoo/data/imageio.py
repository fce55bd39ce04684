"""Reading cephalogram files safely: format by magic bytes, size from the header, truncation checks.

``cv2.imread`` returns ``None`` without saying why, decodes a truncated JPEG with only a warning on
stderr, and cannot open non-ASCII paths on Windows. So the bytes are read with ``pathlib`` and checked
here, and every failure becomes an :class:`ImageReadError` naming the file.
"""
from __future__ import annotations

import struct
import warnings
from pathlib import Path

from .errors import ImageReadError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")

#: default pixel cap: above the largest Aariz images (~95 MP), far below a decompression bomb.
MAX_PIXELS = 200_000_000

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


def sniff_format(head: bytes) -> str | None:
    """The image format from a file's first bytes, or None when it is not an image we read."""
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    return None


def _describe(head: bytes) -> str:
    text = head[:16]
    if text.lstrip().startswith((b"{", b"[")):
        return "it looks like JSON"
    if text.lstrip().lower().startswith((b"<!doctype", b"<html")):
        return "it looks like an HTML page"
    if not text:
        return "it is empty"
    return f"it starts with bytes {text[:8]!r}"


def image_size(path: "str | Path") -> tuple[int, int]:
    """``(height, width)`` from the file header without decoding pixels; raises naming the file."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(32)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: image file not found") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read image ({exc.strerror or exc})") from None
    fmt = sniff_format(head)
    if fmt is None:
        raise ImageReadError(f"{path}: not a JPEG/PNG/BMP/TIFF image ({_describe(head)})")
    if fmt == "png" and len(head) >= 24:
        w, h = struct.unpack(">II", head[16:24])
        return int(h), int(w)
    if fmt == "bmp" and len(head) >= 26:
        w, h = struct.unpack("<ii", head[18:26])
        return abs(int(h)), int(w)
    return _size_with_pillow(path)


def _size_with_pillow(path: Path) -> tuple[int, int]:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow comes with matplotlib
        import cv2

        img = decode(path, cv2.IMREAD_GRAYSCALE, max_pixels=None)
        return int(img.shape[0]), int(img.shape[1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: we only read the header
            with Image.open(path) as im:
                w, h = im.size
    except Exception as exc:
        raise ImageReadError(f"{path}: unreadable image header ({type(exc).__name__}: {exc})") from None
    return int(h), int(w)


def _check_complete(data: bytes, fmt: str, name) -> None:
    if fmt == "jpeg":
        tail = data.rstrip(b"\x00")[-2:]
        if tail != b"\xff\xd9":
            raise ImageReadError(f"{name}: truncated JPEG (no end-of-image marker); the file is incomplete")
    elif fmt == "png" and b"IEND" not in data[-16:]:
        raise ImageReadError(f"{name}: truncated PNG (no IEND chunk); the file is incomplete")


def _size_from_bytes(data: bytes, fmt: str, name: str) -> tuple[int, int]:
    """``(height, width)`` from an encoded image's header, read from memory (no pixels decoded)."""
    if fmt == "png" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(h), int(w)
    if fmt == "bmp" and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return abs(int(h)), int(w)
    import io

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: we only read the header
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
    except Exception as exc:
        raise ImageReadError(f"{name}: unreadable image header ({type(exc).__name__}: {exc})") from None
    return int(h), int(w)


def decode(path: "str | Path", flags: int | None = None, max_pixels: int | None = MAX_PIXELS):
    """Decode an image with OpenCV after checking format, size cap and completeness.

    ``flags`` are cv2.IMREAD_* flags (default IMREAD_UNCHANGED). Returns the array as OpenCV gives it
    (BGR order for colour, uint8 or uint16).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: image file not found") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read image ({exc.strerror or exc})") from None
    return decode_bytes(data, str(path), flags, max_pixels)


def decode_bytes(data: bytes, name: str, flags: int | None = None, max_pixels: int | None = MAX_PIXELS):
    """:func:`decode` for bytes already in memory (an upload), with the same checks; errors name ``name``."""
    import cv2
    import numpy as np

    data = bytes(data)
    fmt = sniff_format(data[:16])
    if fmt is None:
        raise ImageReadError(f"{name}: not a JPEG/PNG/BMP/TIFF image ({_describe(data[:32])})")
    _check_complete(data, fmt, name)
    if max_pixels:
        h, w = _size_from_bytes(data, fmt, name)
        if h * w > max_pixels:
            raise ImageReadError(
                f"{name}: {w}x{h} = {w * h / 1e6:.0f} megapixels exceeds the cap of {max_pixels / 1e6:.0f} MP "
                "(a decompression bomb guard); raise max_pixels in LoadCephalogram if the image is genuine"
            )
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED if flags is None else flags)
    if img is None or img.size == 0:
        raise ImageReadError(f"{name}: corrupt {fmt.upper()} image (OpenCV could not decode it)")
    return img


def find_images(folder: "str | Path") -> list[Path]:
    """Image files directly in ``folder`` (by suffix, any case), sorted by name."""
    folder = Path(folder)
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                  key=lambda p: p.name)
