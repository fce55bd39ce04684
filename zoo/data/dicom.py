"""DICOM cephalograms: the header, the pixels as the model's 8 bits, the pixel size, and the UIDs that link a
result back to the archive without the patient's identity.

Clinic archives store every cephalogram as DICOM, and the header carries what a JPEG export loses: the pixel
size (``ImagerPixelSpacing`` and the magnification factor, or ``PixelSpacing``) and how the stored values are
meant to be displayed (rescale, window or VOI LUT, ``MONOCHROME1``'s inverted grey scale). pydicom parses the
file and runs the codecs (compressed transfer syntaxes through its decoder plugins); this module turns its
stored values into what a viewer shows, 8 bits a sample, a band of rows at a time so that a large 16-bit image
never has a whole-image float copy.

Patient data (name, ID, birth date...) is never put in a message: pydicom's own warnings and log lines are
silenced while it reads (they quote element values), and an error from it is scrubbed of those values before it
is raised. What a result carries are the Study, Series and SOP Instance UIDs (:meth:`DicomHeader.to_dict`).
"""
from __future__ import annotations

import io
import logging
import math
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DecodeCostError, ImageReadError
from .pixels import BAND_SAMPLES
from .spacing import spacing_problem

#: the four bytes at offset 128 of a DICOM Part 10 file (after the 128-byte preamble)
MAGIC = b"DICM"
MAGIC_OFFSET = 128
#: what ``sniff_format`` needs to see of a file to tell DICOM from the rest
HEAD_BYTES = MAGIC_OFFSET + len(MAGIC)
#: elements that identify the patient: never in a message, a prediction or a picture
PHI_KEYWORDS = ("PatientName", "PatientID", "PatientBirthDate", "OtherPatientIDs", "OtherPatientNames",
                "PatientBirthName", "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers",
                "IssuerOfPatientID", "MedicalRecordLocator")
#: modalities that hold no radiograph (structured reports, radiotherapy plans and structures, presentation
#: states, key-object selections, encapsulated documents): refused with what they are
NON_IMAGE_MODALITIES = {"SR": "a structured report", "RTSTRUCT": "a radiotherapy structure set",
                        "RTPLAN": "a radiotherapy plan", "RTDOSE": "a radiotherapy dose grid",
                        "RTRECORD": "a radiotherapy treatment record", "PR": "a presentation state",
                        "KO": "a key-object selection", "DOC": "an encapsulated document",
                        "SEG": "a segmentation", "REG": "a registration", "PLAN": "a plan"}
#: transfer syntaxes whose frames are JPEG streams (baseline, extended, lossless): their scan work is planned
#: from the markers like a JPEG file's (:func:`zoo.data.imageio.check_jpeg_cost`)
JPEG_FAMILY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
               "1.2.840.10008.1.2.4.70"}
#: a magnification factor outside this is not a radiograph's (cephalostats are about 1.1)
MAGNIFICATION_RANGE = (1.0, 2.0)
#: row and column spacings further apart than this are anisotropic pixels, which one mm/px cannot describe
ANISOTROPY = 0.01
#: the spacing sources, as ``mm_per_pixel_source`` reports them
SOURCE_CORRECTED = "dicom:ImagerPixelSpacing/EstimatedRadiographicMagnificationFactor"
SOURCE_PIXEL = "dicom:PixelSpacing"
SOURCE_IMAGER = "dicom:ImagerPixelSpacing"
INSTALL = "pip install 'ceph-zoo[dicom]' (pydicom and the pylibjpeg decoders)"


class DicomError(ImageReadError):
    """A DICOM file the zoo cannot read as one cephalogram: not an image, several frames, a codec missing."""


def is_dicom(head: bytes) -> bool:
    """Whether a file's first :data:`HEAD_BYTES` bytes are a DICOM Part 10 file's."""
    return len(head) >= HEAD_BYTES and head[MAGIC_OFFSET:HEAD_BYTES] == MAGIC


def has_dicom_suffix(path) -> bool:
    return Path(str(path)).suffix.lower() in (".dcm", ".dicom")


def _pydicom(name: str):
    try:
        import pydicom
    except ImportError:
        raise DicomError(f"{name}: a DICOM file; reading it needs pydicom: {INSTALL}",
                         reason="missing decoder") from None
    return pydicom


class _Quiet(logging.Filter):
    def filter(self, record) -> bool:  # noqa: A003 - logging's name
        return False


@contextmanager
def _quiet():
    """pydicom's warnings and log records quote element values (a patient's name among them): none of it
    reaches the user's console or log while the zoo reads a file."""
    logger = logging.getLogger("pydicom")
    quiet = _Quiet()
    logger.addFilter(quiet)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.removeFilter(quiet)


def _phi_values(ds) -> list[str]:
    """The patient-identifying values of ``ds`` as text (each name part too), longest first, for scrubbing."""
    values: set[str] = set()
    for keyword in PHI_KEYWORDS:
        try:
            value = ds.get(keyword)
        except Exception:  # noqa: BLE001 - an unparsable value: nothing to scrub from it
            continue
        items = value if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
        for item in items:
            text = str(item or "").strip()
            if not text:
                continue
            values.add(text)
            values.update(part for part in re.split(r"[\^=\s,]+", text) if len(part) >= 2)
    return sorted(values, key=len, reverse=True)


def scrub(text: str, phi: list[str] | tuple[str, ...]) -> str:
    """``text`` with every patient-identifying value replaced by ``<redacted>`` (case-insensitive)."""
    for value in phi:
        text = re.sub(re.escape(value), "<redacted>", text, flags=re.IGNORECASE)
    return text


def _fail(name: str, what: str, exc: BaseException, phi) -> DicomError:
    message = scrub(f"{type(exc).__name__}: {exc}", phi)[:300]
    return DicomError(f"{name}: {what} ({message})", reason="unreadable image")


def _number(ds, keyword: str):
    """A numeric element as float(s), or None when absent or unparsable (a header is never trusted blindly)."""
    try:
        value = ds.get(keyword)
        if value is None or value == "":
            return None
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            return [float(v) for v in value]
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _pair(value) -> tuple[float, float] | None:
    if isinstance(value, list) and len(value) == 2 and all(math.isfinite(v) and v > 0 for v in value):
        return float(value[0]), float(value[1])
    return None


def header_spacing(ds) -> tuple[float | None, str | None, list[str]]:
    """``(mm per pixel, source, notes)`` from a DICOM header, following the zoo's precedence:

    1. ``ImagerPixelSpacing`` / ``EstimatedRadiographicMagnificationFactor`` when both are given: the spacing at
       the detector brought back to the patient's midsagittal plane;
    2. else ``PixelSpacing``: the vendor's own calibration at the patient;
    3. else ``ImagerPixelSpacing`` alone: the detector's spacing, with a note that anatomy at the detector is
       magnified (about 10 % on a cephalostat).

    A spacing is used only when rows and columns agree (square pixels) and it is a physical one
    (:mod:`zoo.data.spacing`); otherwise the notes say why it was not, and the ruler or ``--spacing-mm`` decides.
    ``PixelSpacing`` more than 5 % from the corrected imager spacing is noted too.
    """
    notes: list[str] = []
    imager = _pair(_number(ds, "ImagerPixelSpacing"))
    pixel = _pair(_number(ds, "PixelSpacing"))
    factor = _number(ds, "EstimatedRadiographicMagnificationFactor")
    if isinstance(factor, list):
        factor = factor[0] if factor else None
    lo, hi = MAGNIFICATION_RANGE
    if factor is not None and not (math.isfinite(factor) and lo <= factor <= hi):
        notes.append(f"the header's EstimatedRadiographicMagnificationFactor {factor:g} is not a radiograph's "
                     f"({lo:g}-{hi:g}); it is not applied")
        factor = None
    candidates = []
    if imager is not None and factor is not None:
        candidates.append(((imager[0] / factor, imager[1] / factor), SOURCE_CORRECTED))
    if pixel is not None:
        candidates.append((pixel, SOURCE_PIXEL))
    if imager is not None and factor is None:
        candidates.append((imager, SOURCE_IMAGER))
    chosen = None
    for (row, col), source in candidates:
        if abs(row - col) > ANISOTROPY * max(row, col):
            notes.append(f"the header's {source.split(':')[1]} is {row:g} x {col:g} mm (rows x columns): pixels that "
                         "are not square have no single mm per pixel, so it is not used")
            continue
        value = (row + col) / 2
        problem = spacing_problem(value)
        if problem is not None:
            notes.append(f"the header's {source.split(':')[1]} {problem}; it is not used")
            continue
        chosen = (value, source)
        break
    if chosen is None:
        return None, None, notes
    value, source = chosen
    if source == SOURCE_IMAGER:
        notes.append(f"the pixel size {value:.4g} mm comes from ImagerPixelSpacing, the detector's spacing, with no "
                     "EstimatedRadiographicMagnificationFactor: anatomy at the detector is magnified (about 10 % on a "
                     "cephalostat), so mm values are that much larger; give --spacing-mm to correct it")
    if source == SOURCE_CORRECTED and pixel is not None:
        other = (pixel[0] + pixel[1]) / 2
        off = abs(other - value) / value
        if off > 0.05:
            notes.append(f"the header's PixelSpacing {other:.4g} mm and ImagerPixelSpacing / magnification "
                         f"{value:.4g} mm disagree by {100 * off:.0f} %; the latter is used")
    return value, source, notes


@dataclass(frozen=True)
class DicomHeader:
    """What the zoo reads from a DICOM header: the pixel layout, the pixel size and its source, the UIDs.

    ``patient_id`` is kept only to group a batch's results per patient through a keyed hash (never the ID
    itself); it is left out of :meth:`to_dict`, ``repr`` and every message.
    """

    name: str
    rows: int
    columns: int
    samples: int
    frames: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric: str
    transfer_syntax: str
    transfer_syntax_name: str
    compressed: bool
    modality: str | None
    sop_class: str | None
    study_uid: str | None
    series_uid: str | None
    sop_uid: str | None
    spacing_mm: float | None
    spacing_source: str | None
    notes: tuple[str, ...] = ()
    burned_in: bool = False
    patient_id: str | None = field(default=None, repr=False)
    phi: tuple[str, ...] = field(default=(), repr=False, compare=False)
    dataset: object = field(default=None, repr=False, compare=False)

    @property
    def gray(self) -> bool:
        return self.samples == 1

    @property
    def bytes_per_sample(self) -> int:
        return self.bits_allocated // 8

    @property
    def array_bytes(self) -> int:
        """The stored array pydicom decodes to: what the decoding process hands back."""
        return self.rows * self.columns * self.samples * self.bytes_per_sample

    def label(self, path) -> str:
        """``path`` as a result names it, unless its name holds the patient's name, ID or birth date (archives
        export files as ``<PatientID>.dcm``): then ``<folder>/dicom-<SOP Instance UID>.dcm``."""
        text = str(path)
        stem = Path(text).name.lower()
        if self.phi and any(len(v) >= 3 and v.lower() in stem for v in self.phi):
            return str(Path(text).parent / f"dicom-{self.sop_uid or 'unknown'}.dcm")
        return text

    def to_dict(self) -> dict:
        """The ``dicom`` block of a prediction: the UIDs that link it back, and no patient data."""
        return {"study_instance_uid": self.study_uid, "series_instance_uid": self.series_uid,
                "sop_instance_uid": self.sop_uid, "sop_class_uid": self.sop_class, "modality": self.modality,
                "transfer_syntax": self.transfer_syntax_name, "photometric_interpretation": self.photometric,
                "bits_stored": self.bits_stored, "pixel_spacing_mm": self.spacing_mm,
                "pixel_spacing_source": self.spacing_source}

    def warnings(self) -> list[str]:
        """What a person should know about this file's header, said once per prediction."""
        out = list(self.notes)
        if self.burned_in:
            out.append("the DICOM header says the pixels carry burned-in annotation (BurnedInAnnotation YES): "
                       "patient data drawn into the image stays in any picture made from it")
        return out


def _int(ds, keyword: str, default: int | None = None) -> int | None:
    value = _number(ds, keyword)
    if isinstance(value, list):
        value = value[0] if value else None
    return default if value is None or not math.isfinite(value) else int(value)


def parse_header(ds, name: str) -> DicomHeader:
    """A :class:`DicomHeader` from a pydicom dataset, refusing what is not one cephalogram with the reason."""
    phi = tuple(_phi_values(ds))
    meta = getattr(ds, "file_meta", None)
    ts = str(getattr(meta, "TransferSyntaxUID", "") or "1.2.840.10008.1.2")
    from pydicom.uid import UID

    uid = UID(ts)
    modality = str(ds.get("Modality", "") or "").strip().upper() or None
    sop_class = str(ds.get("SOPClassUID", "") or "") or None
    sop_name = UID(sop_class).name if sop_class else "unknown SOP class"
    if modality in NON_IMAGE_MODALITIES:
        raise DicomError(f"{name}: {NON_IMAGE_MODALITIES[modality]} (modality {modality}, {sop_name}), not a "
                         "radiograph: the zoo reads cephalograms", reason="not an image")
    rows, columns = _int(ds, "Rows"), _int(ds, "Columns")
    if not rows or not columns:
        raise DicomError(f"{name}: a DICOM object without an image ({sop_name}, modality {modality or 'none'}): "
                         "no Rows/Columns", reason="not an image")
    if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        raise DicomError(f"{name}: floating-point pixel data ({sop_name}) is not a radiograph's",
                         reason="not an image")
    frames = _int(ds, "NumberOfFrames", 1) or 1
    if frames != 1:
        raise DicomError(f"{name}: {frames} frames in one object; a cephalogram is one frame (split the series "
                         "into single-frame files, one image each)", reason="multi-frame")
    samples = _int(ds, "SamplesPerPixel", 1)
    bits = _int(ds, "BitsAllocated", 0)
    stored = _int(ds, "BitsStored", bits)
    photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
    if samples not in (1, 3):
        raise DicomError(f"{name}: {samples} samples per pixel; the zoo reads gray (1) or colour (3) images",
                         reason="unsupported pixels")
    if bits not in (8, 16):
        raise DicomError(f"{name}: {bits} bits allocated per sample; the zoo reads 8- and 16-bit pixel data "
                         "(12 to 16 bits stored)", reason="unsupported pixels")
    if samples == 1 and photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise DicomError(f"{name}: photometric interpretation {photometric or 'missing'} for a one-sample image; "
                         "the zoo reads MONOCHROME1 and MONOCHROME2 (PALETTE COLOR is not a radiograph's)",
                         reason="unsupported pixels")
    spacing, source, notes = header_spacing(ds)
    return DicomHeader(
        name=name, rows=rows, columns=columns, samples=samples, frames=frames, bits_allocated=bits,
        bits_stored=int(stored or bits), signed=bool(_int(ds, "PixelRepresentation", 0)), photometric=photometric,
        transfer_syntax=ts, transfer_syntax_name=uid.name, compressed=bool(uid.is_compressed), modality=modality,
        sop_class=sop_class, study_uid=str(ds.get("StudyInstanceUID", "") or "") or None,
        series_uid=str(ds.get("SeriesInstanceUID", "") or "") or None,
        sop_uid=str(ds.get("SOPInstanceUID", "") or "") or None, spacing_mm=spacing, spacing_source=source,
        notes=tuple(notes), burned_in=str(ds.get("BurnedInAnnotation", "") or "").strip().upper() == "YES",
        patient_id=str(ds.get("PatientID", "") or "").strip() or None, phi=phi, dataset=ds)


def _read(source, name: str, stop_before_pixels: bool):
    pydicom = _pydicom(name)
    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else str(source)
    with _quiet():
        try:
            return pydicom.dcmread(fp, stop_before_pixels=stop_before_pixels)
        except FileNotFoundError:
            raise ImageReadError(f"{name}: image file not found", reason="missing image") from None
        except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds on a malformed file
            raise _fail(name, "not a readable DICOM file", exc, _phi_of_partial(fp)) from None


def _phi_of_partial(fp) -> list[str]:
    """The patient values of a file pydicom could not read whole, for scrubbing its error: the patient module
    comes early in a file, so a read of those elements alone usually succeeds."""
    try:
        import pydicom

        if isinstance(fp, io.BytesIO):
            fp.seek(0)
        with _quiet():
            ds = pydicom.dcmread(fp, specific_tags=list(PHI_KEYWORDS), stop_before_pixels=True, force=True)
        return _phi_values(ds)
    except Exception:  # noqa: BLE001 - nothing readable: nothing of it can be in the message either
        return []


def read_header(source, name: str | None = None) -> DicomHeader:
    """The header of a DICOM file (a path, or the file's bytes), without decoding pixels."""
    in_memory = isinstance(source, (bytes, bytearray, memoryview))
    name = name or ("<dicom>" if in_memory else str(source))
    ds = _read(bytes(source) if isinstance(source, (bytearray, memoryview)) else source, name, True)
    with _quiet():
        return parse_header(ds, name)


def check_decoder(header: DicomHeader) -> None:
    """Refuse, naming what to install, a compressed transfer syntax no installed pydicom plugin decodes."""
    if not header.compressed:
        return
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(header.transfer_syntax)
    except NotImplementedError:
        raise DicomError(f"{header.name}: compressed as {header.transfer_syntax_name}, which pydicom cannot decode",
                         reason="missing decoder") from None
    if not decoder.is_available:
        options = "; or ".join(str(m).split(" - ", 1)[-1].replace("requires ", "")
                               for m in decoder.missing_dependencies)
        raise DicomError(f"{header.name}: compressed as {header.transfer_syntax_name}; pydicom needs a decoder plugin "
                         f"for it: install {options or 'a decoder plugin'} (pip install 'ceph-zoo[dicom]' brings "
                         "pylibjpeg and its JPEG decoder)", reason="missing decoder")


def check_cost(ds, header: DicomHeader, jpeg_cost) -> None:
    """A JPEG-family frame's scans and block decodes are planned from its markers as a JPEG file's are
    (``jpeg_cost``: :func:`zoo.data.imageio.check_jpeg_cost`, handed down by imageio, which imports this module):
    the same kind of decoder runs on the same kind of bytes."""
    if jpeg_cost is None or header.transfer_syntax not in JPEG_FAMILY or "PixelData" not in ds:
        return
    from pydicom.encaps import generate_frames

    with _quiet():
        try:
            frame = next(generate_frames(ds.PixelData, number_of_frames=1))
        except Exception as exc:  # noqa: BLE001 - a broken encapsulation: the decode would fail the same way
            raise _fail(header.name, "its compressed pixel data is malformed", exc, header.phi) from None
    jpeg_cost(bytes(frame), header.name)


def check_pixels(header: DicomHeader, max_pixels: int | None) -> None:
    if max_pixels and header.rows * header.columns > max_pixels:
        w, h = header.columns, header.rows
        raise DecodeCostError(f"{header.name}: {w}x{h} = {w * h / 1e6:.0f} megapixels exceeds the cap of "
                              f"{max_pixels / 1e6:.0f} MP (a decompression bomb guard)", reason="image too large")


def stored_pixels(ds, header: DicomHeader) -> np.ndarray:
    """The stored values as pydicom decodes them (uint8, uint16 or int16; (H, W) or (H, W, 3) RGB)."""
    with _quiet():
        try:
            arr = ds.pixel_array
        except Exception as exc:  # noqa: BLE001 - a codec's or a truncated file's error, scrubbed
            raise _fail(header.name, f"cannot decode its {header.transfer_syntax_name} pixel data", exc,
                        header.phi) from None
    expected = (header.rows, header.columns) + ((3,) if header.samples == 3 else ())
    if tuple(arr.shape) != expected:
        raise DicomError(f"{header.name}: decoded to {tuple(arr.shape)}, not the {expected} its header says",
                         reason="unreadable image")
    return arr


def _modality(band: np.ndarray, ds) -> np.ndarray:
    """Stored values to modality values (rescale slope/intercept or a Modality LUT), as float32."""
    from pydicom.pixels import apply_modality_lut

    return np.asarray(apply_modality_lut(band, ds), dtype=np.float32)


def _window(x: np.ndarray, centre: float, width: float, function: str) -> np.ndarray:
    """PS3.3 C.11.2.1.2: a window straight to 0..255 (LINEAR, LINEAR_EXACT or SIGMOID)."""
    if function == "SIGMOID":
        return 255.0 / (1.0 + np.exp(-4.0 * (x - centre) / width))
    if function == "LINEAR_EXACT":
        return np.clip((x - centre) / width + 0.5, 0.0, 1.0) * 255.0
    width = max(width, 1.0)
    if width == 1.0:  # the standard's threshold window
        return np.where(x < centre - 0.5, 0.0, 255.0)
    return np.clip((x - (centre - 0.5)) / (width - 1.0) + 0.5, 0.0, 1.0) * 255.0


@dataclass(frozen=True)
class _Display:
    """How modality values become 8 bits for one file: a window, a VOI LUT, the stored 8 bits as they are, or a
    stretch of the image's own range."""

    kind: str  # 'window', 'lut', 'identity', 'stretch'
    centre: float = 0.0
    width: float = 1.0
    function: str = "LINEAR"
    lo: float = 0.0
    hi: float = 0.0


def _display(ds, header: DicomHeader, stored: np.ndarray) -> _Display:
    if "VOILUTSequence" in ds and len(ds.VOILUTSequence):
        return _Display("lut")
    centre, width = _number(ds, "WindowCenter"), _number(ds, "WindowWidth")
    centre = centre[0] if isinstance(centre, list) and centre else centre
    width = width[0] if isinstance(width, list) and width else width
    if isinstance(centre, float) and isinstance(width, float) and math.isfinite(centre) and math.isfinite(width) \
            and width > 0:
        function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
        return _Display("window", centre, width, function if function in ("LINEAR_EXACT", "SIGMOID") else "LINEAR")
    plain = _number(ds, "RescaleSlope") in (None, 1.0) and _number(ds, "RescaleIntercept") in (None, 0.0) \
        and "ModalityLUTSequence" not in ds
    if header.bits_stored <= 8 and stored.dtype == np.uint8 and plain:
        return _Display("identity")
    lo, hi = math.inf, -math.inf
    for band in _bands(stored):
        values = _modality(band, ds)
        lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
    return _Display("stretch", lo=lo, hi=hi)


def _bands(arr: np.ndarray):
    step = max(1, BAND_SAMPLES // max(1, arr[0].size))
    for start in range(0, arr.shape[0], step):
        yield arr[start:start + step]


def _lut_range(ds) -> tuple[float, float]:
    """The output range of the first VOI LUT: its data's own extremes (vendors often declare 16 bits for 12)."""
    data = np.asarray(ds.VOILUTSequence[0].LUTData, dtype=np.float64).reshape(-1)
    return (float(data.min()), float(data.max())) if data.size else (0.0, 1.0)


def to_display(stored: np.ndarray, header: DicomHeader) -> np.ndarray:
    """Stored values to the 8 bits a viewer shows: modality LUT (rescale), then the VOI LUT or the first window
    when the header has one (else the stored 8 bits as they are, or the image's own range stretched, as for any
    16-bit file), then ``MONOCHROME1`` inverted. Colour (RGB) comes back in OpenCV's BGR order, stretched to 8 bits
    when deeper. A band of rows at a time: no whole-image float copy."""
    from .pixels import stretch_to_uint8

    if header.samples == 3:
        rgb = stored if stored.dtype == np.uint8 else stretch_to_uint8(stored)
        return np.ascontiguousarray(rgb[:, :, ::-1])
    ds = header.dataset
    with _quiet():
        how = _display(ds, header, stored)
        if how.kind == "identity":
            out = np.array(stored, dtype=np.uint8, copy=True)
        else:
            out = np.empty(stored.shape, np.uint8)
            lut = _lut_range(ds) if how.kind == "lut" else None
            row = 0
            for band in _bands(stored):
                if how.kind == "lut":
                    from pydicom.pixels import apply_voi

                    y = (np.asarray(apply_voi(_modality(band, ds), ds, index=0), np.float32) - lut[0]) * (
                        255.0 / max(lut[1] - lut[0], 1e-9))
                elif how.kind == "window":
                    y = _window(_modality(band, ds), how.centre, how.width, how.function)
                elif how.hi > how.lo:
                    y = (_modality(band, ds) - how.lo) * (255.0 / (how.hi - how.lo))
                else:
                    y = np.zeros(band.shape, np.float32)
                out[row:row + band.shape[0]] = np.clip(y + 0.5, 0, 255).astype(np.uint8)
                row += band.shape[0]
    if header.photometric == "MONOCHROME1":  # high values are dark: inverted after the VOI, as a viewer does
        np.subtract(255, out, out=out)
    return out


def _admitted(data: bytes, name: str, max_pixels: int | None, jpeg_cost):
    """The dataset and its header once every check that needs no decoding has passed: one image frame, a decoder
    for its transfer syntax, at most ``max_pixels``, a JPEG frame's scan work within ``jpeg_cost``, pixel data."""
    ds = _read(bytes(data), name, False)
    with _quiet():
        header = parse_header(ds, name)
    check_pixels(header, max_pixels)
    check_decoder(header)
    check_cost(ds, header, jpeg_cost)
    if "PixelData" not in ds:
        raise DicomError(f"{name}: the header describes a {header.columns}x{header.rows} image but the file holds "
                         "no pixel data", reason="not an image")
    return ds, header


def read_dicom(data: bytes, name: str, max_pixels: int | None = None,
               jpeg_cost=None) -> tuple[np.ndarray, DicomHeader]:
    """A DICOM file's bytes -> ``(8-bit image, header)``: the header checked (one image frame, a decoder for its
    transfer syntax, at most ``max_pixels``, a JPEG frame's scan work through ``jpeg_cost``) before a pixel is
    decoded."""
    ds, header = _admitted(data, name, max_pixels, jpeg_cost)
    return to_display(stored_pixels(ds, header), header), header


def plan_header(data: bytes, name: str, max_pixels: int | None = None, jpeg_cost=None) -> DicomHeader:
    """The checks :func:`read_dicom` makes before decoding, alone: what the server runs before it admits an
    upload (the pixels are decoded later, in a process it can kill)."""
    ds, header = _admitted(data, name, max_pixels, jpeg_cost)
    del ds.PixelData  # the display needs the header alone; the pixels are decoded from the upload's bytes
    return header
