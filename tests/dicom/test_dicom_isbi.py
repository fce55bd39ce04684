"""Real cephalograms as DICOM: ISBI 2015 Test1 images written with pydicom (MONOCHROME1 16-bit with a window, and
the JPEG itself encapsulated as JPEG Baseline) read by the shipped isbi19 model to the JPEG's landmarks within
0.5 px, with mm from the header. Skipped without ../shared/data/isbi2015."""
from __future__ import annotations

import numpy as np
import pytest
from dicom_helpers import dataset, jpeg, jpeg_decoder_available, phi_in, to_bytes

pytestmark = pytest.mark.realdata


def _xy(prediction) -> np.ndarray:
    return prediction.coords()


@pytest.mark.parametrize("number", ["151", "176"])
def test_isbi_as_dicom_reads_to_the_jpegs_landmarks(isbi_data, number, one_torch_thread):
    import cv2

    import zoo

    path = isbi_data / "RawImage" / "Test1Data" / f"{number}.jpg"
    data = path.read_bytes()
    model = zoo.load("isbi19")
    ref = model.predict(path)
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    # 16 bits stored, high values dark; a LINEAR_EXACT window over the full range maps them back to these pixels
    stored = ((255 - gray.astype(np.uint32)) * 257).astype(np.uint16)
    mono1 = dataset(stored, photometric="MONOCHROME1", bits_stored=16, WindowCenter=32767.5, WindowWidth=65535,
                    VOILUTFunction="LINEAR_EXACT", ImagerPixelSpacing=[0.11, 0.11],
                    EstimatedRadiographicMagnificationFactor=1.1)
    variants = {"MONOCHROME1 16-bit": to_bytes(mono1)}
    if jpeg_decoder_available():
        colour = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        variants["JPEG Baseline"] = to_bytes(jpeg(dataset(np.ascontiguousarray(colour[:, :, ::-1]),
                                                          PixelSpacing=[0.1, 0.1]), data))
    for what, blob in variants.items():
        got = model.predict(blob)
        assert got.mm_per_pixel == pytest.approx(0.1), what
        assert got.mm_per_pixel_source.startswith("dicom:"), what
        assert np.abs(_xy(got) - _xy(ref)).max() <= 0.5, (what, np.abs(_xy(got) - _xy(ref)).max())
        assert got.landmarks["S"].x_mm == pytest.approx(got.landmarks["S"].x * 0.1)
        assert not phi_in(str(got.to_dict()))
