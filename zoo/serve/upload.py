"""The ``POST /v1/landmarks`` form, read and checked before any pixel is decoded.

Each failure is answered with what was wrong and how to send it right: an empty body (400), something
other than multipart (415), a missing or misspelled field (422), a file that is not an image (415), one
larger than the caps in pixels or in decode memory (413), a bad number (422). Decoding itself happens
later, in the inference thread.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from zoo.data.spacing import SPACING_RANGE_MM

from .errors import ApiError, UploadTooLarge

FIELDS = ("file", "ruler_mm", "spacing_mm", "analyze")
HOW = "send the image as multipart/form-data in a field named 'file', e.g. curl -F file=@ceph.png URL"
#: upper bound that keeps every derived mm value finite (a 10 m ruler: far beyond real ones)
MAX_RULER_MM = 10_000.0
#: a pixel spacing is physical or refused: the range ``zoo predict``, the Python API and the datasets use
MIN_SPACING_MM, MAX_SPACING_MM = SPACING_RANGE_MM
#: the two spellings the OpenAPI document's boolean allows (any case)
_TRUE = {"true"}
_FALSE = {"false"}


@dataclass
class LandmarkRequest:
    data: bytes
    filename: str
    ruler_mm: float | None
    spacing_mm: float | None
    analyze: bool


def clean_filename(name: str | None) -> str:
    """The client's file name without directories or control characters (it is echoed in the answer)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()[:200]
    return base or "upload"


def _number(form, key: str, upper: float, lower: float | None = None) -> float | None:
    """The field as a number of mm in ``(0, upper]``, or ``[lower, upper]`` when ``lower`` is given."""
    value = form.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", f"'{key}' must be a number (mm), not a file")
    try:
        number = float(value)
    except ValueError:
        raise ApiError(422, "invalid_field", f"'{key}' must be a number in mm, got {value[:40]!r}") from None
    if lower is not None and not (math.isfinite(number) and lower <= number <= upper):
        raise ApiError(422, "invalid_field", f"'{key}' must be between {lower:g} and {upper:g} mm per pixel "
                       f"(a cephalogram's detector or scan), got {value[:40]!r}")
    if not (math.isfinite(number) and 0 < number <= upper):
        raise ApiError(422, "invalid_field",
                       f"'{key}' must be a positive number of mm up to {upper:g}, got {value[:40]!r}")
    return number


def _flag(form, key: str, default: bool) -> bool:
    value = form.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    text = value.strip().lower() if isinstance(value, str) else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ApiError(422, "invalid_field", f"'{key}' must be true or false, got {str(value)[:40]!r}")


def _check_fields(form) -> None:
    keys = list(form.keys())
    if not keys:
        raise ApiError(400, "empty_form", f"the form has no fields: {HOW}")
    unknown = [k for k in dict.fromkeys(keys) if k not in FIELDS]
    if "file" not in keys:
        got = f" (got {', '.join(repr(k) for k in unknown)})" if unknown else ""
        raise ApiError(422, "missing_file", f"no 'file' field in the form{got}: {HOW}")
    if unknown:
        raise ApiError(422, "unknown_field", f"unknown form field(s) {', '.join(repr(k) for k in unknown)}; "
                       f"known: {', '.join(FIELDS)}")
    for key in FIELDS:
        if len(form.getlist(key)) > 1:
            raise ApiError(422, "repeated_field", f"'{key}' is given {len(form.getlist(key))} times; send it once")


async def read_form(request, max_bytes: int) -> LandmarkRequest:
    """Parse and check the form; the image bytes are only sniffed, not decoded."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        body = await request.body()
        if not body:
            raise ApiError(400, "empty_body", f"the request body is empty: {HOW}")
        got = ctype[:80] or "no content type"
        raise ApiError(415, "not_multipart", f"expected multipart/form-data, got {got!r}: {HOW}")
    try:
        form = await request.form(max_files=1, max_fields=len(FIELDS))
    except UploadTooLarge:
        raise
    except Exception as exc:  # noqa: BLE001 - starlette's HTTPException(400) or whatever the parser raises
        detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
        raise ApiError(400, "malformed_form", f"cannot parse the multipart body ({detail}): {HOW}") from None
    try:
        _check_fields(form)
        upload = form["file"]
        if isinstance(upload, str):
            raise ApiError(422, "file_not_uploaded",
                           f"'file' arrived as a text value, not a file upload (give it a filename): {HOW}")
        data = await upload.read()
        filename = clean_filename(upload.filename)
        if not data:
            raise ApiError(400, "empty_file", f"the uploaded file {filename!r} is empty (0 bytes)")
        if len(data) > max_bytes:
            raise ApiError(413, "upload_too_large", f"{filename}: {len(data)} bytes exceeds the upload limit "
                           f"of {max_bytes} bytes (zoo serve --max-upload-mb)")
        return LandmarkRequest(data=data, filename=filename,
                               ruler_mm=_number(form, "ruler_mm", MAX_RULER_MM),
                               spacing_mm=_number(form, "spacing_mm", MAX_SPACING_MM, MIN_SPACING_MM),
                               analyze=_flag(form, "analyze", True))
    finally:
        await form.close()


def check_image(data: bytes, name: str, max_pixels: int, max_decode_bytes: int | None = None,
                channels: int = 3):
    """How the image will be decoded for a model with ``channels`` inputs (a ``DecodePlan``, from the first
    bytes, the header and a JPEG's markers alone); 415 if not an image, 413 if too big in pixels or in decode
    memory, or a JPEG whose scans would take too long to decode."""
    from zoo.data.errors import DecodeCostError, ImageReadError
    from zoo.data.imageio import HEAD_BYTES, not_an_image, plan_decode, sniff_format

    if sniff_format(data[:HEAD_BYTES]) is None:
        raise ApiError(415, "not_an_image", not_an_image(name, data[:32]))
    try:
        plan = plan_decode(data, name, channels)
    except DecodeCostError as exc:
        raise ApiError(413, "image_too_costly", str(exc)) from None
    except ImageReadError as exc:
        if exc.reason == "not an image":  # a DICOM structured report, RT plan...: no radiograph in it
            raise ApiError(415, "not_an_image", str(exc)) from None
        if exc.reason == "missing decoder":  # a DICOM transfer syntax this server has no codec for
            raise ApiError(415, "unsupported_transfer_syntax", str(exc)) from None
        raise ApiError(422, "unreadable_image", str(exc)) from None
    w, h = plan.width, plan.height
    if w < 1 or h < 1:
        raise ApiError(422, "unreadable_image", f"{name}: the header says the image is {w}x{h} pixels")
    if w * h > max_pixels:
        raise ApiError(413, "image_too_large", f"{name}: {w}x{h} = {w * h / 1e6:.1f} megapixels exceeds the "
                       f"cap of {max_pixels / 1e6:g} MP (zoo serve --max-pixels)")
    if max_decode_bytes is not None and plan.peak_bytes > max_decode_bytes:
        needs = f"{plan.peak_bytes / 2**20:.0f} MiB"
        raise ApiError(413, "image_too_large", f"{name}: decoding {plan.describe()} takes {needs}, over the "
                       f"decode budget of {max_decode_bytes / 2**20:g} MiB (zoo serve --max-decode-mb)")
    return plan
