"""DICOM everywhere an image goes: `zoo predict`, `zoo analyze`, `zoo.load().predict` and `zoo serve`, with the
header's pixel size ranked between a given one and the ruler, and no patient data in what comes out. Synthetic
images and an untrained tiny model: these always run."""
from __future__ import annotations

import json

import numpy as np
import pytest
from dicom_helpers import dataset, phi_in, rle, to_bytes, write

from zoo.data.pixels import to_uint8


@pytest.fixture(scope="module")
def scans(synthetic_image, tmp_path_factory):
    """The same synthetic cephalogram as a PNG and as DICOM files of several kinds, in a folder with spaces."""
    import cv2

    img, spacing = synthetic_image
    full = to_uint8(img.astype(np.float32))  # 0..255: the 12-bit copy then reads back to these very pixels
    folder = tmp_path_factory.mktemp("clinic archive") / "scans in here"
    folder.mkdir()
    cv2.imwrite(str(folder / "plain.png"), full)
    pixel = dict(PixelSpacing=[spacing, spacing])
    write(folder / "mono2 8bit.dcm", dataset(full, **pixel))
    write(folder / "mono1 12bit.dcm", dataset(((255 - full.astype(np.uint16)) * 16).astype(np.uint16),
                                              photometric="MONOCHROME1", bits_stored=12, RescaleSlope=1,
                                              RescaleIntercept=-1024, **pixel))
    write(folder / "rle.dcm", rle(dataset(full, ImagerPixelSpacing=[spacing * 1.1] * 2,
                                          EstimatedRadiographicMagnificationFactor=1.1)))
    write(folder / "no spacing.dcm", dataset(full))
    write(folder / "MRN0048151623.dcm", dataset(full, **pixel))  # named after its patient, as archives export
    return folder, spacing


def test_predict_reads_dicom_like_the_png_with_the_header_spacing(tiny_model, scans, zoo_cli, tmp_path):
    folder, spacing = scans
    out = tmp_path / "preds.json"
    code, _, err = zoo_cli(["predict", tiny_model, folder, "--out", out, "--show-dir", tmp_path / "drawn"])
    assert code == 0, err
    entries = {e["image"].rsplit("/", 1)[-1]: e for e in json.loads(out.read_text())["predictions"]}
    png = entries.pop("plain.png")
    ref = np.array([[v["x"], v["y"]] for v in png["landmarks"].values()])
    for name, entry in entries.items():
        xy = np.array([[v["x"], v["y"]] for v in entry["landmarks"].values()])
        assert np.abs(xy - ref).max() <= 0.5, name
    assert entries["mono2 8bit.dcm"]["mm_per_pixel"] == pytest.approx(spacing)
    assert entries["mono2 8bit.dcm"]["mm_per_pixel_source"] == "dicom:PixelSpacing"
    assert entries["rle.dcm"]["mm_per_pixel_source"] == (
        "dicom:ImagerPixelSpacing/EstimatedRadiographicMagnificationFactor")
    assert entries["rle.dcm"]["mm_per_pixel"] == pytest.approx(spacing)
    assert entries["no spacing.dcm"]["mm_per_pixel"] is None
    lm = entries["mono1 12bit.dcm"]["landmarks"]["S"]
    assert lm["x_mm"] == pytest.approx(lm["x"] * spacing)
    dicom_block = entries["mono2 8bit.dcm"]["dicom"]
    assert dicom_block["study_instance_uid"] and dicom_block["sop_instance_uid"]
    renamed = [n for n in entries if n.startswith("dicom-")]  # the file named after its patient: by its UID
    assert len(renamed) == 1 and "MRN0048151623.dcm" not in entries
    assert not phi_in(out.read_text() + err)
    assert not phi_in(" ".join(p.name for p in (tmp_path / "drawn").iterdir()))


def test_given_beats_header_beats_ruler_and_each_disagreement_warns(ruler_model, tiny_model, scans):
    from zoo.data.imageio import decode_image
    from zoo.inference import Predictor

    folder, spacing = scans
    raw, header = decode_image(folder / "mono2 8bit.dcm")
    plain = Predictor.from_path(tiny_model)
    given = plain.predict(raw, name="x.dcm", spacing_mm=spacing * 1.2, header=header)
    assert given["mm_per_pixel"] == pytest.approx(spacing * 1.2) and given["mm_per_pixel_source"] == "given"
    assert given["calibration"]["header"] == pytest.approx(spacing) and given["calibration"]["used"] == "given"
    assert any("the image header's" in w and "disagree by 17 %" in w for w in given["warnings"])
    close = plain.predict(raw, name="x.dcm", spacing_mm=spacing * 1.02, header=header)
    assert not any("header" in w for w in close["warnings"])
    ruler = Predictor.from_path(ruler_model).predict(raw, name="x.dcm", header=header)
    assert ruler["mm_per_pixel"] == pytest.approx(spacing) and ruler["mm_per_pixel_source"] == "dicom:PixelSpacing"
    assert ruler["calibration"]["used"] == "header" and "ruler" in ruler  # the ruler is seen, and loses
    if ruler["calibration"]["disagreement"] > 0.05:
        assert any("the image header's pixel size" in w and "ruler's" in w for w in ruler["warnings"])


def test_python_api_and_analyze_read_dicom(tiny_model, scans, zoo_cli):
    import zoo

    folder, spacing = scans
    model = zoo.load(tiny_model)
    by_path = model.predict(folder / "mono1 12bit.dcm")
    by_bytes = model.predict((folder / "mono1 12bit.dcm").read_bytes())
    assert by_path.mm_per_pixel == pytest.approx(spacing) and by_path.mm_per_pixel_source == "dicom:PixelSpacing"
    assert by_bytes.dicom["sop_instance_uid"] == by_path.dicom["sop_instance_uid"]
    assert np.allclose(by_path.coords(), by_bytes.coords())
    code, out, err = zoo_cli(["analyze", folder / "mono2 8bit.dcm", "--model", tiny_model])
    assert code == 0, err
    assert "dicom:PixelSpacing" in out


def test_server_reads_a_dicom_upload_in_its_decoding_process(tiny_model, scans):
    from fastapi.testclient import TestClient

    from zoo.inference import Predictor
    from zoo.serve import create_app

    folder, spacing = scans
    app = create_app(Predictor.from_path(tiny_model))
    with TestClient(app) as client:
        sent = (folder / "MRN0048151623.dcm").read_bytes()
        r = client.post("/v1/landmarks", files={"file": ("MRN0048151623.dcm", sent, "application/dicom")})
        assert r.status_code == 200, r.text
        entry = r.json()["predictions"][0]
        assert entry["mm_per_pixel"] == pytest.approx(spacing) and entry["dicom"]["sop_instance_uid"]
        assert entry["image"].startswith("dicom-") and not phi_in(r.text)
        report = to_bytes(dataset(np.zeros((8, 8), np.uint8), modality="SR"))
        r = client.post("/v1/landmarks", files={"file": ("report.dcm", report, "application/dicom")})
        assert r.status_code == 415 and r.json()["error"] == "not_an_image" and "structured report" in r.text
        assert not phi_in(r.text)
        assert len(app.state.decoder.pids) == app.state.limits.max_concurrency  # the worker survived both
