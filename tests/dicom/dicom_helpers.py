"""DICOM files the tests write themselves with pydicom, from the synthetic set's images or ISBI 2015's.

A clinic's archive is not something a test can ship, so each kind of file the zoo must read is made here:
8-bit and 12-bit (rescaled, windowed, VOI LUT), MONOCHROME1, with and without a pixel size, RLE or JPEG
compressed, multi-frame, and objects without an image. Every file carries a patient name, ID and birth date, so
that a test can look for them where they must never be.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")

from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.encaps import encapsulate  # noqa: E402
from pydicom.uid import (  # noqa: E402
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)

#: patient data planted in every test file; none of it may reach a message, a prediction, a report or a picture
PATIENT = {"PatientName": "Quixote^Dulcinea", "PatientID": "MRN0048151623", "PatientBirthDate": "19610704"}
DX_CLASS = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
STUDY = generate_uid()


def phi_in(text: str) -> list[str]:
    """The planted patient values (and the name's parts) found in ``text``."""
    parts = ["Quixote", "Dulcinea", PATIENT["PatientID"], PATIENT["PatientBirthDate"]]
    return [p for p in parts if p.lower() in text.lower()]


def dataset(pixels: np.ndarray, *, photometric: str = "MONOCHROME2", bits_stored: int | None = None,
            signed: bool = False, patient: dict | None = None, study: str | None = None, modality: str = "DX",
            **elements) -> Dataset:
    """A single-frame DX dataset holding ``pixels`` as they are (uint8, uint16 or int16; (H, W) or (H, W, 3))."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_CLASS
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = DX_CLASS, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study or STUDY, generate_uid()
    ds.Modality = modality
    for key, value in (PATIENT if patient is None else patient).items():
        setattr(ds, key, value)
    ds.Rows, ds.Columns = pixels.shape[:2]
    colour = pixels.ndim == 3
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = "RGB" if colour else photometric
    if colour:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored = bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    for key, value in elements.items():
        setattr(ds, key, value)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds


def to_bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def write(path: Path, ds: Dataset) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_bytes(ds))
    return path


def rle(ds: Dataset) -> Dataset:
    """``ds`` RLE Lossless compressed by pydicom's own encoder (no plugin needed)."""
    ds.compress(RLELossless)
    return ds


def jpeg(ds: Dataset, jpeg_bytes: bytes) -> Dataset:
    """``ds`` holding an 8-bit baseline JPEG stream as its one frame (a JPEG file's bytes, encapsulated)."""
    ds.PixelData = encapsulate([jpeg_bytes])
    ds["PixelData"].is_undefined_length = True
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    if ds.SamplesPerPixel == 3:
        ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.LossyImageCompression = "01"
    return ds


def jpeg_decoder_available() -> bool:
    from pydicom.pixels import get_decoder

    return get_decoder(JPEGBaseline8Bit).is_available


@pytest.fixture(scope="session")
def synthetic_image() -> tuple[np.ndarray, float]:
    """A synthetic cephalogram (gray uint8) and its pixel size: always there, no data needed."""
    from zoo.data.synthetic.generator import make_sample

    sample = make_sample(7, 3)
    return sample.image, sample.spacing


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, untrained_checkpoint, tiny_heatmap_config, one_torch_thread) -> Path:
    """An untrained HRNet-W18-small at 64 px for the ISBI 19 landmarks, saved as ``zoo train`` saves one:
    deterministic, so the same pixels give the same landmarks."""
    folder = tmp_path_factory.mktemp("dicom model")
    return untrained_checkpoint(tiny_heatmap_config(), folder / "tiny.py", folder / "tiny.pth")


@pytest.fixture(scope="session")
def ruler_model(tmp_path_factory, untrained_checkpoint, tiny_heatmap_config, one_torch_thread) -> Path:
    """The same, predicting the ruler's p1 and p2 (30 mm apart): a ruler to set against the header's pixel size."""
    folder = tmp_path_factory.mktemp("dicom ruler model")
    return untrained_checkpoint(tiny_heatmap_config("ceph31", 30.0), folder / "ruler.py", folder / "ruler.pth")
