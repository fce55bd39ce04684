"""Reading DICOM cephalograms (zoo.data.dicom through zoo.data.imageio): stored values to the 8 bits a viewer shows,
the pixel size and its source from the header, the refusals, and no patient data in any message. Synthetic
images only: these always run."""
from __future__ import annotations

import numpy as np
import pytest
from dicom_helpers import dataset, jpeg, jpeg_decoder_available, phi_in, rle, to_bytes, write

from zoo.data import dicom
from zoo.data.errors import DecodeCostError, ImageReadError
from zoo.data.imageio import decode, decode_image, image_size, plan_decode
from zoo.data.pixels import to_uint8


def test_8bit_monochrome2_is_the_image_itself_with_the_corrected_spacing(synthetic_image):
    img, spacing = synthetic_image
    ds = dataset(img, ImagerPixelSpacing=[spacing * 1.1, spacing * 1.1], EstimatedRadiographicMagnificationFactor=1.1,
                 PixelSpacing=[spacing, spacing])
    out, header = decode_image(to_bytes(ds), "scan.dcm")
    assert out.dtype == np.uint8 and np.array_equal(out, img)
    assert header.spacing_mm == pytest.approx(spacing)
    assert header.spacing_source == dicom.SOURCE_CORRECTED and header.notes == ()
    assert header.to_dict()["sop_instance_uid"] == ds.SOPInstanceUID
    assert not phi_in(repr(header) + str(header.to_dict()))


def test_12bit_monochrome1_rescaled_reads_as_the_image(synthetic_image, tmp_path):
    """MONOCHROME1 (high values dark) in 12 of 16 bits, with a rescale: inverted after the stretch, as viewers do."""
    img = to_uint8(synthetic_image[0].astype(np.float32))  # spanning 0..255, as a detector's full range does
    stored = ((255 - img.astype(np.uint16)) * 16 + 5).astype(np.uint16)
    ds = dataset(stored, photometric="MONOCHROME1", bits_stored=12, RescaleSlope=2, RescaleIntercept=-1024)
    path = write(tmp_path / "mono 1.dcm", ds)
    out = decode(path)
    expected = 255 - to_uint8(stored.astype(np.float32) * 2 - 1024)  # the stretch of any 16-bit file, inverted
    assert np.array_equal(out, expected)
    assert np.abs(out.astype(int) - img).max() <= 1  # and that is the image, to rounding
    assert image_size(path) == img.shape


def test_signed_16bit_with_a_window(synthetic_image):
    img, _ = synthetic_image
    stored = (img.astype(np.int16) * 8 - 600).astype(np.int16)
    ds = dataset(stored, bits_stored=12, signed=True, WindowCenter=300, WindowWidth=1000)
    out, _ = decode_image(to_bytes(ds), "w.dcm")
    x = stored.astype(np.float64)
    expected = np.clip(((x - (300 - 0.5)) / (1000 - 1) + 0.5), 0, 1) * 255  # PS3.3 C.11.2.1.2.1, LINEAR
    assert np.abs(out.astype(float) - expected).max() <= 0.51
    assert out.min() == 0 and out.max() == 255  # the window clips at both ends


def test_voi_lut_sequence_is_applied(synthetic_image):
    from pydicom.dataset import Dataset

    img, _ = synthetic_image
    stored = img.astype(np.uint16) * 16
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    lut = (np.sqrt(np.arange(4096) / 4095.0) * 4095).astype(np.uint16)  # a gamma curve
    item.add_new((0x0028, 0x3006), "US", lut.tolist())  # LUTData
    ds = dataset(stored, bits_stored=12, VOILUTSequence=[item])
    out, _ = decode_image(to_bytes(ds), "lut.dcm")
    expected = np.clip(lut[stored].astype(np.float64) * 255 / lut.max() + 0.5, 0, 255).astype(np.uint8)
    assert np.array_equal(out, expected)


def test_rle_compressed_reads_as_uncompressed(synthetic_image):
    img, _ = synthetic_image
    plain, _ = decode_image(to_bytes(dataset(img)), "a.dcm")
    packed, header = decode_image(to_bytes(rle(dataset(img))), "b.dcm")
    assert header.compressed and np.array_equal(plain, packed)


@pytest.mark.skipif(not jpeg_decoder_available(), reason="no JPEG decoder plugin for pydicom")
def test_jpeg_baseline_frame_reads_as_the_jpeg_file(synthetic_image):
    import cv2

    img, _ = synthetic_image
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    out, header = decode_image(to_bytes(jpeg(dataset(img), buf.tobytes())), "j.dcm")
    assert header.transfer_syntax_name.startswith("JPEG Baseline")
    as_file = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    assert np.abs(out.astype(int) - as_file).max() <= 2  # two libjpeg builds' IDCTs


def test_spacing_sources_and_their_notes(synthetic_image):
    img, _ = synthetic_image
    small = img[:64, :64]
    read = lambda **kw: dicom.parse_header(dataset(small, **kw), "x.dcm")  # noqa: E731
    assert read(PixelSpacing=[0.1, 0.1]).spacing_source == dicom.SOURCE_PIXEL
    detector = read(ImagerPixelSpacing=[0.11, 0.11])
    assert detector.spacing_source == dicom.SOURCE_IMAGER and "magnified" in " ".join(detector.notes)
    nothing = read()
    assert nothing.spacing_mm is None and nothing.spacing_source is None
    oblong = read(PixelSpacing=[0.1, 0.2])
    assert oblong.spacing_mm is None and "not square" in " ".join(oblong.notes)
    absurd = read(PixelSpacing=[50, 50])
    assert absurd.spacing_mm is None and "between 0.01 and 5" in " ".join(absurd.notes)
    apart = read(ImagerPixelSpacing=[0.11, 0.11], EstimatedRadiographicMagnificationFactor=1.1,
                 PixelSpacing=[0.13, 0.13])
    assert apart.spacing_mm == pytest.approx(0.1) and "disagree by 30 %" in " ".join(apart.notes)
    wild = read(ImagerPixelSpacing=[0.11, 0.11], EstimatedRadiographicMagnificationFactor=7)
    assert wild.spacing_source == dicom.SOURCE_IMAGER and "not applied" in " ".join(wild.notes)


def test_refusals_name_the_reason_and_never_the_patient(synthetic_image, monkeypatch):
    img, _ = synthetic_image
    small = img[:32, :32]
    frames = dataset(np.concatenate([small, small]), NumberOfFrames=2)
    frames.Rows = 32
    cases = {
        "multi-frame": (to_bytes(frames), "2 frames in one object"),
        "report": (to_bytes(dataset(small, modality="SR")), "a structured report"),
        "rt": (to_bytes(dataset(small, modality="RTSTRUCT")), "radiotherapy structure set"),
    }
    no_image = dataset(small)
    del no_image.Rows, no_image.Columns, no_image.PixelData
    cases["no image"] = (to_bytes(no_image), "without an image")
    truncated = to_bytes(dataset(small))
    cases["truncated"] = (truncated[:-300], "cannot decode")
    for what, (data, expected) in cases.items():
        with pytest.raises(ImageReadError) as info:
            decode_image(data, "Quixote Dulcinea.dcm" if what == "report" else f"{what}.dcm")
        assert expected in str(info.value), what
        assert not phi_in(str(info.value).replace("Quixote Dulcinea.dcm", "")), (what, str(info.value))


def test_a_missing_decoder_is_named(synthetic_image, monkeypatch):
    import pydicom.pixels

    class Missing:
        is_available = False
        missing_dependencies = ["pylibjpeg - requires pylibjpeg>=2.0 and pylibjpeg-libjpeg>=2.1"]

    img, _ = synthetic_image
    data = to_bytes(rle(dataset(img[:32, :32])))
    monkeypatch.setattr(pydicom.pixels, "get_decoder", lambda ts: Missing())
    with pytest.raises(dicom.DicomError, match=r"RLE Lossless; pydicom needs a decoder plugin for it: install "
                                               r"pylibjpeg>=2.0 and pylibjpeg-libjpeg>=2.1") as info:
        decode_image(data, "c.dcm")
    assert info.value.reason == "missing decoder"


def test_pydicom_errors_are_scrubbed_of_patient_data(synthetic_image, caplog):
    """A malformed value pydicom complains about quotes it; the message the zoo raises does not."""
    img, _ = synthetic_image
    data = bytearray(to_bytes(dataset(img[:16, :16])))
    at = data.find(b"MRN0048151623")
    data[at - 2:at] = b"\xff\xff"  # the PatientID's length: far past the end of the file
    with pytest.raises(ImageReadError) as info:
        decode_image(bytes(data), "d.dcm")
    assert "d.dcm" in str(info.value) and not phi_in(str(info.value))
    assert not phi_in(caplog.text)


def test_limits_apply_before_decoding(synthetic_image):
    img, _ = synthetic_image
    data = to_bytes(dataset(img))
    with pytest.raises(DecodeCostError, match="megapixels exceeds the cap"):
        decode_image(data, "big.dcm", max_pixels=1000)
    plan = plan_decode(to_bytes(dataset(img.astype(np.uint16) * 16, bits_stored=12)), "p.dcm")
    assert (plan.fmt, plan.channels, plan.bytes_per_sample) == ("dicom", 1, 2)
    assert plan.array_bytes == img.size * 2 and plan.header.rows == img.shape[0]


def test_a_file_named_after_its_patient_is_labelled_by_its_uid(synthetic_image, tmp_path):
    img, _ = synthetic_image
    ds = dataset(img[:16, :16])
    header = dicom.parse_header(ds, "x")
    assert header.label(tmp_path / "MRN0048151623.dcm") == str(tmp_path / f"dicom-{ds.SOPInstanceUID}.dcm")
    assert header.label(tmp_path / "ceph 1.dcm") == str(tmp_path / "ceph 1.dcm")


def test_a_dcm_without_the_marker_says_so(tmp_path):
    path = tmp_path / "raw.dcm"
    path.write_bytes(b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100" + bytes(200))
    with pytest.raises(ImageReadError, match="not a DICOM Part 10 file"):
        decode(path)


def test_a_training_annotation_may_name_a_dicom_file(synthetic_image, tmp_path):
    """Readers take the size from the DICOM header, and the training loader decodes it as `zoo predict` does."""
    from zoo.data.datasets import CsvLandmarkDataset
    from zoo.data.transforms.loading import LoadCephalogram

    img, spacing = synthetic_image
    write(tmp_path / "scans" / "ceph 1.dcm", dataset(img, PixelSpacing=[spacing, spacing]))
    (tmp_path / "labels.csv").write_text("image,S_x,S_y,N_x,N_y\nscans/ceph 1.dcm,100,120,300,110\n")
    ds = CsvLandmarkDataset(ann_file="labels.csv", data_root=str(tmp_path), spacing=spacing)
    info = ds.get_data_info(0)
    assert info["ori_shape"] == img.shape
    loaded = LoadCephalogram(channels=1)(dict(img_path=info["img_path"], ori_shape=info["ori_shape"]))
    assert np.array_equal(loaded["img"][:, :, 0], img)
