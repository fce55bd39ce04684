"""Every image is read at the pixel size the model was trained at (#39), whichever way its own pixel size is known:
given, a DICOM header's, a plausible ruler's, or estimated from the anatomy's size; the landmarks come back in the
image's own pixels, and an image read at another scale is never passed as ok.

The synthetic cephalograms carry a 2.5 mm mark on each landmark; the refine stage of the test model reports how large
it saw each mark, in patch pixels: the scale it read the image at."""
from __future__ import annotations

import numpy as np
import pytest
from scale_helpers import MARK_MM, model_meta, predictor, render

from zoo.data.synthetic.generator import make_sample


def _read(pred, ceph, image=None, **kwargs):
    pred.backend.show(ceph, image)
    entry = pred.predict(ceph.image if image is None else image, name="ceph.png", **kwargs)
    xy = np.array([[lm["x"], lm["y"]] for lm in entry["landmarks"].values()])
    radii = pred.backend.radii
    return entry, xy, float(np.median(radii)) if radii else None  # None: no refine stage saw a mark


def test_the_training_pixel_size_reads_a_mark_at_its_size_in_patch_pixels(big_ceph):
    pred = predictor()
    entry, xy, radius = _read(pred, big_ceph, spacing_mm=pred.model_mm)
    assert entry["scale"]["factor"] == 1.0 and entry["quality"]["status"] == "ok", entry["quality"]
    assert radius == pytest.approx(MARK_MM / pred.model_mm, rel=0.12)
    assert np.abs(xy - big_ceph.truth).max() < 0.6


def test_a_given_pixel_size_reads_a_coarser_image_at_the_models_scale(small_ceph):
    pred = predictor()
    entry, xy, radius = _read(pred, small_ceph, spacing_mm=small_ceph.spacing)
    scale = entry["scale"]
    assert scale["source"] == "given" and scale["factor"] == pytest.approx(small_ceph.spacing / pred.model_mm)
    assert scale["read_mm_per_pixel"] == pytest.approx(pred.model_mm)
    assert radius == pytest.approx(MARK_MM / pred.model_mm, rel=0.12)  # the mark as large as in training
    assert np.abs(xy - small_ceph.truth).max() < 0.5  # mapped back to the coarse image's own pixels
    assert entry["mm_per_pixel"] == small_ceph.spacing and entry["mm_per_pixel_source"] == "given"
    assert entry["quality"]["status"] == "ok", entry["quality"]
    # the radius of the uncertainty-free model is absent; the verdict's signals are in the model's pixels
    assert entry["quality"]["signals"]["scale_error"] < 1.2


def test_read_as_it_lies_the_same_image_is_half_scale_and_never_ok(small_ceph):
    pred = predictor(scale="fixed")
    entry, _, radius = _read(pred, small_ceph, spacing_mm=small_ceph.spacing)
    assert entry["scale"]["factor"] == 1.0 and entry["scale"]["mode"] == "fixed"
    assert radius == pytest.approx(MARK_MM / small_ceph.spacing, rel=0.2)  # half the trained size
    quality = entry["quality"]
    assert quality["status"] != "ok" and quality["signals"]["scale_error"] > 1.8
    assert any("where the model was calibrated at" in r for r in quality["reasons"]), quality["reasons"]


def test_a_dicom_headers_pixel_size_reads_at_the_models_scale(small_ceph, tmp_path):
    pydicom = pytest.importorskip("pydicom")
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = generate_uid(), generate_uid(), "DX"
    ds.Rows, ds.Columns = small_ceph.image.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelSpacing = [small_ceph.spacing, small_ceph.spacing]
    ds.PixelData = np.ascontiguousarray(small_ceph.image).tobytes()
    path = tmp_path / "small ceph.dcm"
    ds.save_as(str(path), enforce_file_format=True)
    assert pydicom.dcmread(str(path)).PixelSpacing[0] == pytest.approx(small_ceph.spacing)

    pred = predictor()
    pred.backend.show(small_ceph)
    entry = pred.predict(path)
    assert entry["scale"]["source"] == "dicom:PixelSpacing" and entry["mm_per_pixel_source"] == "dicom:PixelSpacing"
    assert entry["scale"]["factor"] == pytest.approx(small_ceph.spacing / pred.model_mm, rel=1e-4)
    assert float(np.median(pred.backend.radii)) == pytest.approx(MARK_MM / pred.model_mm, rel=0.12)
    xy = np.array([[lm["x"], lm["y"]] for lm in entry["landmarks"].values()])
    assert np.abs(xy - small_ceph.truth).max() < 0.5


def test_a_plausible_ruler_gives_the_scale_when_nothing_else_does(small_ceph):
    pred = predictor(model_meta(ruler_mm=30.0))
    entry, xy, radius = _read(pred, small_ceph)
    ruler = 30.0 / np.hypot(*(small_ceph.truth[-1] - small_ceph.truth[-2]))
    assert entry["scale"]["source"] == "ruler"
    assert entry["scale"]["image_mm_per_pixel"] == pytest.approx(ruler, rel=1e-3)
    assert entry["scale"]["factor"] == pytest.approx(ruler / pred.model_mm, rel=1e-3)
    assert radius == pytest.approx(MARK_MM / pred.model_mm, rel=0.12)
    assert np.abs(xy - small_ceph.truth).max() < 0.5
    assert entry["mm_per_pixel_source"] == "ruler" and entry["ruler"]["used"]
    # the anatomy's estimate is reported beside the ruler's, and agrees with it
    cal = entry["calibration"]
    assert cal["used"] == "ruler" and cal["estimate"] == pytest.approx(ruler, rel=0.15)
    assert not any("anatomy" in w for w in entry["warnings"]), entry["warnings"]


def test_an_unknown_pixel_size_is_estimated_from_the_anatomy_and_read_at_the_models_scale():
    pred = predictor()
    for index in (3, 4, 5):
        ceph = render(index, (200, 250))  # ~1.07 mm/px, twice the training pixel size
        entry, xy, radius = _read(pred, ceph)
        scale = entry["scale"]
        assert scale["source"] == "anatomy" and scale["factor"] > 1.6
        # off only by how far this skull's size strays from the training mean (the synthetic set: a few %)
        assert scale["image_mm_per_pixel"] == pytest.approx(ceph.spacing, rel=0.12)
        assert radius == pytest.approx(MARK_MM / pred.model_mm, rel=0.2)
        assert np.abs(xy - ceph.truth).max() < 0.6
        # an estimate reads the image; it never makes mm figures
        assert entry["mm_per_pixel"] is None and "x_mm" not in entry["landmarks"]["S"]
        assert any("pixel size is unknown" in w for w in entry["warnings"])
        assert entry["quality"]["status"] == "ok", entry["quality"]


def test_an_estimate_within_the_anatomys_own_spread_reads_the_image_as_it_lies():
    """Within one sd of the training skulls' size the estimate cannot tell a small skull from a small pixel: the image
    is read as it lies; beyond, at the estimate's scale."""
    pred = predictor()
    kinds = set()
    for index in range(8):
        ceph = render(index)
        entry, xy, _ = _read(pred, ceph)
        scale = entry["scale"]
        off = abs(np.log(scale["estimate_mm_per_pixel"] / pred.model_mm))
        within = off <= pred.anatomy.log_sd
        kinds.add(within)
        assert scale["factor"] == (1.0 if within else pytest.approx(scale["estimate_mm_per_pixel"] / pred.model_mm))
        assert any("pixel size is unknown" in w for w in entry["warnings"]) == (not within)
        assert np.abs(xy - ceph.truth).max() < 0.6
    assert kinds == {True, False}


def test_a_wrong_given_pixel_size_is_named_by_the_anatomy_and_flagged_by_the_gate(small_ceph):
    pred = predictor()
    entry, _, _ = _read(pred, small_ceph, spacing_mm=small_ceph.spacing / 2)  # says 0.55, the image is 1.1
    assert entry["calibration"]["estimate"] == pytest.approx(small_ceph.spacing, rel=0.12)
    assert any("the anatomy's" in w and "disagree" in w for w in entry["warnings"]), entry["warnings"]
    assert entry["quality"]["status"] != "ok"
    assert any("scale_error" in r for r in entry["quality"]["reasons"])


def test_a_model_file_from_before_records_nothing_and_reads_as_before(small_ceph):
    pred = predictor(model_meta(train_mm=False, anatomy=False))
    assert pred.model_mm is None and pred.anatomy is None
    entry, _, radius = _read(pred, small_ceph, spacing_mm=small_ceph.spacing)
    assert entry["scale"]["factor"] == 1.0 and "does not record" in entry["scale"]["note"]
    assert radius == pytest.approx(MARK_MM / small_ceph.spacing, rel=0.2)
    assert "scale_error" not in entry["quality"]["signals"]


def test_landmarks_map_back_exactly_for_any_factor():
    """The resampled frame's warp and its inverse: a single-stage reading (no refine) comes back where it went."""
    meta = model_meta()
    del meta["refine"]
    pred = predictor(meta)
    ceph = render(6, (300, 375))
    entry, xy, _ = _read(pred, ceph, spacing_mm=make_sample(7, 6, size=(300, 375)).spacing)
    assert entry["scale"]["factor"] != 1.0
    assert np.abs(xy - ceph.truth).max() < 1e-4  # the test model answers in float32


def test_the_server_and_the_python_api_read_at_the_models_scale(small_ceph):
    import cv2
    from fastapi.testclient import TestClient

    from zoo.api import LandmarkModel
    from zoo.serve import create_app

    pred = predictor()
    pred.backend.show(small_ceph)
    ok, png = cv2.imencode(".png", small_ceph.image)
    with TestClient(create_app(pred)) as client:
        answer = client.post("/v1/landmarks", files={"file": ("small ceph.png", png.tobytes(), "image/png")},
                             data={"spacing_mm": str(small_ceph.spacing)})
    assert answer.status_code == 200, answer.text
    entry = answer.json()["predictions"][0]
    assert entry["scale"]["source"] == "given"
    assert entry["scale"]["factor"] == pytest.approx(small_ceph.spacing / pred.model_mm)
    assert np.abs(_xy(entry) - small_ceph.truth).max() < 0.5

    pred.backend.show(small_ceph)
    result = LandmarkModel(pred, "marks").predict(small_ceph.image)  # nothing given: the anatomy's estimate
    assert result.scale["source"] == "anatomy" and result.mm_per_pixel is None
    assert np.abs(result.coords() - small_ceph.truth).max() < 0.6


def _xy(entry) -> np.ndarray:
    return np.array([[lm["x"], lm["y"]] for lm in entry["landmarks"].values()])


def test_landmarks_that_are_no_skull_measure_no_pixel_size(big_ceph):
    """A reading whose landmarks huddle in a few pixels (what a model makes of noise) would put the pixel size at
    centimetres: the estimate is reported with why it cannot be, and the image is read as it lies."""
    from scale_helpers import Ceph

    huddled = Ceph(big_ceph.image, big_ceph.truth.mean(axis=0) + (big_ceph.truth - big_ceph.truth.mean(axis=0)) / 40,
                   big_ceph.spacing)
    pred = predictor()
    entry, _, _ = _read(pred, huddled)
    scale = entry["scale"]
    assert scale["factor"] == 1.0 and scale["source"] is None and scale["estimate_mm_per_pixel"] > 5
    assert "implausible" in scale["note"] and "read as it lies" in scale["note"]
    assert entry["quality"]["status"] == "reject"
