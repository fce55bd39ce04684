"""Reading cephalogram files safely: format by magic bytes, size from the header, truncation checks.

``cv2.imread`` returns ``None`` without saying why, decodes a truncated JPEG with only a warning on
stderr, and cannot open non-ASCII paths on Windows. So the bytes are read with ``pathlib`` and checked
here, and every failure becomes an :class:`ImageReadError` naming the file.
"""
from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import dicom
from .errors import DecodeCostError, ImageReadError
from .pixels import BAND_SAMPLES, stretch_to_uint8
from .pixels import BAND_SAMPLES as _BAND_SAMPLES  # noqa: F401  (the band size, for the memory tests)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".dcm", ".dicom")
#: how many first bytes :func:`sniff_format` needs: a DICOM file's marker sits after a 128-byte preamble
HEAD_BYTES = dicom.HEAD_BYTES
#: the formats a message names when a file is none of them
FORMATS_TEXT = "JPEG/PNG/BMP/TIFF image"
#: the cv2.IMREAD_* "flags" of a DICOM plan: no OpenCV flag, the decoding process runs pydicom instead
DICOM_FLAGS = -0x44434D

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
    """The image format from a file's first bytes (:data:`HEAD_BYTES` of them tell DICOM apart), or None when it
    is not an image we read."""
    if dicom.is_dicom(head):
        return "dicom"
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


def not_an_image(name, head: bytes) -> str:
    """The message for bytes that are no image the zoo reads; a ``.dcm`` file without the DICOM marker is told
    so (a raw dataset without the Part 10 preamble)."""
    if dicom.has_dicom_suffix(name):
        return (f"{name}: not a DICOM Part 10 file (no 'DICM' marker at byte 128; {describe_bytes(head)}); "
                "export it from the archive as a DICOM file")
    return f"{name}: not a {FORMATS_TEXT} ({describe_bytes(head)}), nor DICOM"


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_sof(data: bytes):
    """``(height, width, components)`` from a JPEG's start-of-frame segment, or None if not found."""
    frame = _jpeg_frame(data)
    return None if frame is None else frame[:3]


def _jpeg_frame(data: bytes):
    """``(height, width, components, bits per sample)`` from a JPEG's start-of-frame segment, or None."""
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
            return int(h), int(w), int(data[i + 9]), int(data[i + 4])
        i += 2 + length
    return None


# -- what a JPEG costs to decode, from its markers ---------------------------------------------------------
#: a progressive JPEG's decoder passes over every 8x8 block of the components a scan covers, once per scan,
#: and the standard sets no limit on scans: a scan that only says "nothing new" (an EOB run) takes a few
#: bytes and the full pass. 3000 of them in a 660 kB 8000x8000 gray file took cv2.imdecode 147 s. Encoders
#: write 1 to about 20 (libjpeg's default progression: 6 gray, 10 colour); the report of this attack against
#: libjpeg (Red Hat bug 1344214) found it hard to imagine a real-world file needing more than 100.
MAX_JPEG_SCANS = 100
#: 8x8 block decodes over all scans, plus the one pass that turns blocks into pixels: 64 Mi, a few seconds of
#: decoding (60-90 ns a block on the 2-core test machine). The largest images the zoo reads pass with room to
#: spare: 200 MP progressive 4:4:4 colour (libjpeg's 10 scans) is 53 M, 100 MP gray (6 scans) 11 M; a 100 MP
#: baseline gray file 3 M. It is what bounds the time when the scans stay under MAX_JPEG_SCANS: 100 scans of
#: an 8000x8000 gray image would be 101 M.
MAX_JPEG_BLOCK_DECODES = 64 * 2**20
#: marker segments read before a file is refused: real files have tens (tables, APPn, one SOS per scan; an ICC
#: profile splits into at most 255). Bounds the walk itself, which runs before decoding, on the server's loop.
MAX_JPEG_SEGMENTS = 4096

#: in a scan's entropy-coded data 0xFF is followed by 0x00 (a stuffed byte), a restart marker (D0-D7) or
#: another 0xFF (fill); any other byte ends the data: the next marker. Searched for in C, not byte by byte.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOS, _EOI = 0xDA, 0xD9


@dataclass(frozen=True)
class JpegScans:
    """What decoding a JPEG takes, read from its markers: ``scans`` (start-of-scan segments; the walk stops
    at ``MAX_JPEG_SCANS + 1`` or ``MAX_JPEG_SEGMENTS + 1`` segments, already enough to refuse) and
    ``block_decodes`` (each scan's 8x8 blocks summed over the components it covers, plus one pass over all of
    them for the inverse DCT)."""

    height: int
    width: int
    progressive: bool
    scans: int
    segments: int
    block_decodes: int


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _component_blocks(data: bytes, i: int, n: int) -> tuple[int, int, bool, dict[int, int]]:
    """``(height, width, progressive, {component id: 8x8 blocks})`` from the SOF segment at ``i``."""
    h, w = struct.unpack(">HH", data[i + 5:i + 9])
    count = data[i + 9]
    comps = [data[j:j + 3] for j in range(i + 10, min(i + 10 + 3 * count, n - 2), 3)]
    hmax = max((c[1] >> 4 for c in comps), default=1) or 1
    vmax = max((c[1] & 15 for c in comps), default=1) or 1
    blocks = {}
    for ident, sampling, _ in comps:
        ch, cv = max(1, sampling >> 4), max(1, sampling & 15)
        blocks[ident] = _ceil_div(_ceil_div(w * ch, hmax), 8) * _ceil_div(_ceil_div(h * cv, vmax), 8)
    return int(h), int(w), data[i + 1] in (0xC2, 0xC6, 0xCA, 0xCE), blocks


def jpeg_scans(data: bytes) -> JpegScans:
    """Walk a JPEG's marker segments (jumping over each scan's entropy-coded data) without decoding it."""
    i, n = 2, len(data)
    h = w = scans = segments = work = 0
    progressive, blocks = False, None
    while i + 4 <= n:
        if data[i] != 0xFF:  # bytes between segments: libjpeg skips to the next marker, and so does this
            found = _NEXT_MARKER.search(data, i)
            if found is None:
                break
            i = found.start()
            continue
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == _EOI:
            break
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            i += 2
            continue
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            break
        length = (data[i + 2] << 8) | data[i + 3]
        if marker in _SOF and blocks is None and i + 10 <= n:
            h, w, progressive, blocks = _component_blocks(data, i, n)
        elif marker == _SOS:
            scans += 1
            if scans > MAX_JPEG_SCANS:
                break
            count = data[i + 4] if i + 4 < n else 0
            work += sum((blocks or {}).get(c, 0) for c in data[i + 5:i + 5 + 2 * count:2])
            found = _NEXT_MARKER.search(data, i + 2 + length)
            if found is None:
                break
            i = found.start()
            continue
        i += 2 + length
    return JpegScans(h, w, progressive, scans, segments, work + sum((blocks or {}).values()))


def check_jpeg_cost(data: bytes, name: str) -> JpegScans:
    """:func:`jpeg_scans`, refusing with :class:`DecodeCostError` a JPEG over :data:`MAX_JPEG_SCANS`,
    :data:`MAX_JPEG_BLOCK_DECODES` or :data:`MAX_JPEG_SEGMENTS`: decoding it would take minutes, and nothing
    can stop ``cv2.imdecode`` once it has started."""
    found = jpeg_scans(data)
    advice = "re-save it as a baseline JPEG or a PNG if it is a genuine image"
    if found.segments > MAX_JPEG_SEGMENTS:
        raise DecodeCostError(f"{name}: a JPEG of more than {MAX_JPEG_SEGMENTS} marker segments (real files "
                              f"have tens); refused before decoding; {advice}", reason="image too costly")
    if found.scans > MAX_JPEG_SCANS:
        raise DecodeCostError(
            f"{name}: a JPEG of more than {MAX_JPEG_SCANS} scans (encoders write 1 to about 20); "
            "the decoder passes over the whole image once per scan, so thousands of scans take minutes to "
            f"decode a file of a few hundred kB. Refused before decoding; {advice}",
            reason="image too costly")
    if found.block_decodes > MAX_JPEG_BLOCK_DECODES:
        raise DecodeCostError(
            f"{name}: decoding this {found.width}x{found.height} JPEG takes {found.block_decodes / 1e6:.0f} "
            f"million 8x8 block decodes over its {found.scans} scans, over the limit of "
            f"{MAX_JPEG_BLOCK_DECODES / 1e6:.0f} million (a few seconds of decoding). Refused before "
            f"decoding; {advice}", reason="image too costly")
    return found


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


def image_size(path: str | Path) -> tuple[int, int]:
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
        raise ImageReadError(not_an_image(path, head))
    if fmt == "dicom":
        header = dicom.read_header(path)
        return header.rows, header.columns
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


def read_bytes(path: str | Path) -> bytes:
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


def decode(path: str | Path, flags: int | None = None, max_pixels: int | None = MAX_PIXELS):
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

    data = bytes(data)
    if sniff_format(data[:HEAD_BYTES]) == "dicom":  # pydicom reads it, to the 8 bits a viewer shows
        return dicom.read_dicom(data, name, max_pixels, check_jpeg_cost)[0]
    fmt = _checked_format(data, name, max_pixels)
    return _imdecode(data, fmt, cv2.IMREAD_UNCHANGED if flags is None else flags, name)


def decode_image(source, name: str | None = None, max_pixels: int | None = MAX_PIXELS):
    """``(image, DICOM header or None)`` for a path or a file's bytes: :func:`decode_bytes` (OpenCV's array, or a
    DICOM file's 8-bit display), and for a DICOM file its header too (pixel size, UIDs), read once."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), name or "<image>"
    else:
        data, name = read_bytes(source), name or str(source)
    if sniff_format(data[:HEAD_BYTES]) == "dicom":
        return dicom.read_dicom(data, name, max_pixels, check_jpeg_cost)
    return decode_bytes(data, name, None, max_pixels), None


def _checked_format(data: bytes, name: str, max_pixels: int | None) -> str:
    """The format, once the bytes are known to be a complete image of at most ``max_pixels``."""
    fmt = sniff_format(data[:HEAD_BYTES])
    if fmt is None:
        raise ImageReadError(not_an_image(name, data[:32]))
    _check_complete(data, fmt, name)
    if max_pixels:
        _check_pixels(*size_from_bytes(data, fmt, name), max_pixels, name)
    if fmt == "jpeg":
        check_jpeg_cost(data, name)
    return fmt


def _check_pixels(h: int, w: int, max_pixels: int | None, name: str) -> None:
    if max_pixels and h * w > max_pixels:
        raise ImageReadError(
            f"{name}: {w}x{h} = {w * h / 1e6:.0f} megapixels exceeds the cap of {max_pixels / 1e6:.0f} MP "
            "(a decompression bomb guard); raise max_pixels in LoadCephalogram if the image is genuine"
        )


def _imdecode(data: bytes, fmt: str, flags: int, name: str):
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None or img.size == 0:
        raise ImageReadError(f"{name}: corrupt {fmt.upper()} image (OpenCV could not decode it)")
    return img


# -- decoding an upload for a model, with its memory known from the header ------------------------------
_DEPTH_WORDS = {1: "8-bit", 2: "16-bit", 4: "32-bit", 8: "64-bit"}


@dataclass(frozen=True)
class DecodePlan:
    """How an encoded image is decoded for a model, and the memory that takes, known from its header alone.

    ``channels`` is what the decoded array holds (1 for a gray source, else 3: alpha is never decoded) and
    ``bytes_per_sample`` the depth it is decoded at; ``flags`` are the cv2.IMREAD_* flags that do both.
    ``extra_bytes`` is what the decoder holds beside the array: a TIFF's strip or tile buffers, which a file
    written as one strip makes as large as the image.
    """

    fmt: str
    height: int
    width: int
    channels: int
    bytes_per_sample: int
    flags: int
    extra_bytes: int = 0
    #: a DICOM file's header (:class:`zoo.data.dicom.DicomHeader`): how its stored values are displayed
    header: object = field(default=None, repr=False, compare=False)

    @property
    def array_bytes(self) -> int:
        return self.height * self.width * self.channels * self.bytes_per_sample

    @property
    def peak_bytes(self) -> int:
        """What decoding holds at once: twice the decoded array, since OpenCV's Python binding copies the
        array its decoder filled (PNG, JPEG, BMP and TIFF alike), plus :attr:`extra_bytes`. A deeper
        source's 8-bit copy comes after the decoder's buffer is freed and is smaller, so it adds nothing."""
        return 2 * self.array_bytes + self.extra_bytes

    def describe(self) -> str:
        depth = _DEPTH_WORDS.get(self.bytes_per_sample, f"{8 * self.bytes_per_sample}-bit")
        return f"{self.width}x{self.height} {depth} {'gray' if self.channels == 1 else 'colour'}"


def _tiff_layout(data: bytes, name: str) -> tuple[int, int, int]:
    """``(decoded channels, bytes per sample, extra bytes)`` from a TIFF's first directory (Pillow reads tags
    only).

    A palette image (photometric 3) has one 8-bit sample a pixel in the file, but OpenCV expands its colour
    map while decoding: it comes out 8-bit colour, three times the one channel its samples suggest. A gray one
    (photometric 0 or 1) comes out gray, alpha or not; anything else as colour.

    OpenCV decodes a TIFF a strip (or tile) at a time, and to 8 bits through libtiff's RGBA reader: a 4-byte
    buffer a pixel of the strip, beside libtiff's own decoded copy of it; a deeper one straight into a buffer
    of the strip's samples. Pillow and many scanners write a whole image as one strip, which made a gray
    8-bit TIFF take 3.3 times its planned memory and a palette one 4.2 times; the strip's size is in the tags.
    """
    import io

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: only the header is read
            with Image.open(io.BytesIO(data)) as im:
                tags, (width, height) = im.tag_v2, im.size
                samples = int(tags.get(277, len(im.getbands())))
                bits = tags.get(258, 8)
                photometric = tags.get(262)
                tile_w = int(tags.get(322, width))
                tile_h = int(tags.get(323, 0)) or min(int(tags.get(278, height)), height)
    except Exception as exc:
        raise ImageReadError(f"{name}: unreadable image header ({type(exc).__name__}: {exc})") from None
    bits = max(bits) if isinstance(bits, tuple) else int(bits)
    tile_px = max(1, tile_w) * max(1, tile_h)
    stored = -(-tile_px * samples * bits // 8)  # one strip or tile, decompressed
    if photometric == 3:
        return 3, 1, tile_px * 4 + stored
    gray = photometric in (0, 1) or (photometric is None and samples == 1)
    depth = max(1, -(-int(bits) // 8))
    return (1 if gray else 3), depth, (tile_px * 4 + stored if depth == 1 else stored)


def _layout(data: bytes, fmt: str, name: str, model_channels: int) -> tuple[int, int, int, int]:
    """``(decoded channels, bytes per sample, cv2 flags, the decoder's extra bytes)`` for one format's
    header."""
    import cv2

    native = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_IGNORE_ORIENTATION  # as IMREAD_UNCHANGED, less the alpha
    if fmt == "png" and len(data) >= 26:
        gray = data[25] in (0, 4)  # gray, gray + alpha
        return (1 if gray else 3), (2 if data[24] == 16 else 1), native | (
            cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR), 0
    if fmt == "jpeg":  # the flags LoadCephalogram decodes a JPEG file with, so `zoo predict` agrees
        frame = _jpeg_frame(data[:65536])
        gray = model_channels == 1 or (frame is not None and frame[2] == 1)
        return (1, 1, cv2.IMREAD_GRAYSCALE, 0) if gray else (3, 1, cv2.IMREAD_COLOR, 0)
    if fmt == "tiff":
        channels, depth, extra = _tiff_layout(data, name)
        return channels, depth, native | cv2.IMREAD_ANYCOLOR, extra
    return 3, 1, native | cv2.IMREAD_ANYCOLOR, 0  # BMP: 8-bit, a palette may be colour


def plan_decode(data: bytes, name: str, model_channels: int = 3) -> DecodePlan:
    """What :func:`decode_for_model` decodes ``data`` to and the memory that takes, without decoding it; a
    truncated JPEG or PNG is refused here, since no plan can decode it whole, and so is a JPEG whose scans
    would take too long to decode (:func:`check_jpeg_cost`, a :class:`DecodeCostError`)."""
    fmt = sniff_format(data[:HEAD_BYTES])
    if fmt is None:
        raise ImageReadError(not_an_image(name, data[:32]))
    if fmt == "dicom":
        return _dicom_plan(data, name)
    _check_complete(data, fmt, name)
    if fmt == "jpeg":
        check_jpeg_cost(data, name)
    h, w = size_from_bytes(data, fmt, name)
    channels, depth, flags, extra = _layout(data, fmt, name, model_channels)
    return DecodePlan(fmt, int(h), int(w), channels, depth, flags, int(extra))


def _dicom_plan(data: bytes, name: str) -> DecodePlan:
    """A DICOM upload's plan: its header checked as :func:`zoo.data.dicom.read_dicom` checks it (one image frame,
    a decoder installed, a JPEG frame's scan work), the stored array pydicom decodes to (8 or 16 bits, gray or
    colour), and beside it the 8-bit display array and a band's float temporaries."""
    header = dicom.plan_header(data, name, None, check_jpeg_cost)
    extra = header.rows * header.columns * header.samples + 16 * BAND_SAMPLES
    return DecodePlan("dicom", header.rows, header.columns, header.samples, header.bytes_per_sample, DICOM_FLAGS,
                      extra, header)


def decode_for_model(data: bytes, name: str, model_channels: int = 3, max_pixels: int | None = MAX_PIXELS,
                     max_bytes: int | None = None):
    """Decode an upload straight to the uint8 a model reads, with memory bounded by ``max_bytes``.

    Alpha is dropped while decoding and a gray source stays one channel, so a 16-bit RGBA image costs its
    16-bit colour array (:attr:`DecodePlan.peak_bytes`), not 8 bytes a pixel plus the full-size float32
    copies of a whole-image stretch. The result is in OpenCV's order (gray, or BGR) like
    :func:`decode_bytes`, and the pixels ``LoadCephalogram`` reads from the same file.
    """
    plan = plan_decode(data, name, model_channels)
    _check_pixels(plan.height, plan.width, max_pixels, name)
    if max_bytes is not None and plan.peak_bytes > max_bytes:
        raise DecodeCostError(f"{name}: decoding {plan.describe()} takes {plan.peak_bytes / 2**20:.0f} MiB, "
                              f"over the budget of {max_bytes / 2**20:.0f} MiB", reason="image too large")
    return decode_planned(data, plan, name)


def decode_planned(data: bytes, plan: DecodePlan, name: str):
    """Decode ``data`` as ``plan`` (from :func:`plan_decode` on the same bytes, its limits already checked)
    says: the server plans on the event loop and decodes in the inference thread without reading the header
    again."""
    return to_model_bits(decode_stored(data, plan, name), plan)


def decode_stored(data: bytes, plan: DecodePlan, name: str):
    """What the decoder itself gives for ``plan``, before the 8-bit display: OpenCV's array, or a DICOM file's
    stored values (what the server's decoding process runs, :mod:`zoo.serve.decode_worker`)."""
    if plan.fmt == "dicom":
        import pydicom

        with dicom._quiet():
            ds = pydicom.dcmread(io.BytesIO(data))
        return dicom.stored_pixels(ds, plan.header)
    return _imdecode(data, plan.fmt, plan.flags, name)


def to_model_bits(img, plan: DecodePlan):
    """A decoded array as the model's 8 bits: a DICOM file's display (window, VOI LUT, MONOCHROME1), else the
    band stretch of a deeper image."""
    if plan.fmt == "dicom":
        return dicom.to_display(img, plan.header)
    return stretch_to_uint8(img)


def find_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder`` (by suffix, any case), sorted by name."""
    folder = Path(folder)
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                  key=lambda p: p.name)
