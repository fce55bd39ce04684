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


def describe_bytes(head: bytes) -> str:
    text = head[:16]
    if text.lstrip().startswith((b"{", b"[")):
        return "it looks like JSON"
    if text.lstrip().lower().startswith((b"<!doctype", b"<html")):
        return "it looks like an HTML page"
    if not text:
        return "it is empty"
    return f"it starts with bytes {text[:8]!r}"


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_sof(data: bytes):
    """``(height, width, components)`` from a JPEG's start-of-frame segment, or None if not found."""
    i, n = 2, len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = (data[i + 2] << 8) | data[i + 3]
        if marker in _SOF:
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return int(h), int(w), int(data[i + 9])
        i += 2 + length
    return None


def probe(data: bytes, fmt: str) -> tuple[int, int, int] | None:
    """``(height, width, channels)`` from an encoded image's first bytes when the format says it cheaply."""
    if fmt == "jpeg":
        return _jpeg_sof(data)
    if fmt == "png" and len(data) >= 26:
        w, h = struct.unpack(">II", data[16:24])
        channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(data[25], 3)
        return int(h), int(w), channels
    if fmt == "bmp" and len(data) >= 30:
        w, h = struct.unpack("<ii", data[18:26])
        bpp = struct.unpack("<H", data[28:30])[0]
        return abs(int(h)), int(w), (1 if bpp <= 8 else 3)
    return None


def image_size(path: "str | Path") -> tuple[int, int]:
    """``(height, width)`` from the file header without decoding pixels; raises naming the file."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)  # JPEG frame headers may follow up to 64 kB of EXIF
    except FileNotFoundError:
        raise ImageReadError(f"{path}: image file not found") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read image ({exc.strerror or exc})") from None
    fmt = sniff_format(head)
    if fmt is None:
        raise ImageReadError(f"{path}: not a JPEG/PNG/BMP/TIFF image ({describe_bytes(head)})")
    found = probe(head, fmt)
    if found is not None:
        return found[0], found[1]
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


def size_from_bytes(data: bytes, fmt: str, name: str) -> tuple[int, int]:
    """``(height, width)`` from an encoded image's header, read from memory (no pixels decoded)."""
    found = probe(data[:65536], fmt)
    if found is not None:
        return found[0], found[1]
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


def read_bytes(path: "str | Path") -> bytes:
    """A file's bytes, with the zoo's error naming the file."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: image file not found", reason="missing image") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not an image") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read image ({exc.strerror or exc})") from None


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
        raise ImageReadError(f"{name}: not a JPEG/PNG/BMP/TIFF image ({describe_bytes(data[:32])})")
    _check_complete(data, fmt, name)
    if max_pixels:
        h, w = size_from_bytes(data, fmt, name)
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
