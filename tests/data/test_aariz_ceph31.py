import json

import numpy as np
import pytest
from data_helpers import AARIZ, aariz_json, ls_task, points

from zoo.data import AnnotationError, DataNotFoundError, ImageReadError
from zoo.data.datasets import AarizDataset, Ceph31Dataset

SENIOR = ("Train", "Annotations", "Cephalometric Landmarks", "Senior Orthodontists")


def _senior(root):
    return root.joinpath(*SENIOR)


def test_aariz_reads_per_image_json_and_bom_csv_spacing(aariz_tree):
    ds = AarizDataset(str(aariz_tree), split="train")  # the folder is "Train": matched case-insensitively
    assert len(ds) == 3 and ds.metainfo["landmark_set"] == "aariz"
    by_id = {ds.get_data_info(i)["img_id"]: ds.get_data_info(i) for i in range(3)}
    assert by_id["case 1"]["spacing"] == pytest.approx(0.1) and by_id["case2"]["spacing"] == pytest.approx(0.127)
    np.testing.assert_allclose(by_id["case2"]["keypoints"], points(29, seed=11), atol=1e-4)
    mean = AarizDataset(str(aariz_tree), annotator="mean").get_data_info(1)
    np.testing.assert_allclose(mean["keypoints"][:, 1], points(29, seed=11)[:, 1] + 0.5, atol=1e-4)


def test_aariz_landmarks_are_matched_by_symbol_not_position(aariz_tree):
    f = _senior(aariz_tree) / "case2.json"
    doc = json.loads(f.read_text())
    doc["landmarks"] = doc["landmarks"][::-1]
    del doc["landmarks"][0]  # Sn missing
    f.write_text(json.dumps(doc))
    info = AarizDataset(str(aariz_tree)).get_data_info(1)
    np.testing.assert_allclose(info["keypoints"][:28], points(29, seed=11)[:28], atol=1e-4)
    assert info["keypoints_visible"][AARIZ.index("Sn")] == 0 and info["keypoints_visible"].sum() == 28


def test_aariz_errors_name_the_file(aariz_tree):
    (_senior(aariz_tree) / "case3.json").write_text("{not json")
    with pytest.raises(AnnotationError, match=r"case3\.json: not valid JSON"):
        AarizDataset(str(aariz_tree))
    doc = aariz_json(points(29, seed=1))
    doc["landmarks"][4]["value"]["x"] = float("nan")
    (_senior(aariz_tree) / "case3.json").write_text(json.dumps(doc))
    with pytest.raises(AnnotationError, match=r"case3\.json: NaN/infinite coordinates for N"):
        AarizDataset(str(aariz_tree))
    with pytest.raises(DataNotFoundError, match="no split folder 'valid'"):
        AarizDataset(str(aariz_tree), split="valid")


def _ls_export(root, tasks):
    path = _senior(root) / "project-6-at-2025-11-11-03-58-db627e7c.json"
    path.write_text(json.dumps(tasks))
    return path


def test_ceph31_joins_label_studio_ruler_points_by_image_name(aariz_tree):
    _ls_export(aariz_tree, [
        ls_task(7, "/data/upload/6/8f3a2c1d-case2.png", [("p1", (10.0, 12.5)), ("p2", (30.25, 40.0))]),
        ls_task(8, "/data/local-files/?d=Aariz/Train/Cephalograms/case%201.png", [("p2", (5.0, 6.0))]),
    ])
    ds = Ceph31Dataset(str(aariz_tree))
    assert ds.metainfo["landmark_names"][-2:] == ["p1", "p2"]
    by_id = {ds.get_data_info(i)["img_id"]: ds.get_data_info(i) for i in range(len(ds))}
    c2 = by_id["case2"]
    np.testing.assert_allclose(c2["keypoints"][29:], [[10.0, 12.5], [30.25, 40.0]], atol=1e-4)
    np.testing.assert_allclose(c2["keypoints"][:29], points(29, seed=11), atol=1e-4)
    assert c2["keypoints_visible"].sum() == 31 and c2["spacing"] == pytest.approx(0.127)
    # a missing label is an invisible landmark with zero weight
    assert by_id["case 1"]["keypoints_visible"][29:].tolist() == [0.0, 1.0]
    # an image without ruler points keeps its 29 landmarks, ruler pair invisible
    assert by_id["case3"]["keypoints_visible"].tolist() == [1.0] * 29 + [0.0, 0.0]
    # the ruler pair alone, leaving out images without both points
    ruler = Ceph31Dataset(str(aariz_tree), landmark_set="ruler", min_visible=2)
    assert len(ruler) == 1 and ruler.get_data_info(0)["keypoints"].shape == (2, 2)


def test_ceph31_duplicate_label_and_unmatched_image_name_the_task(aariz_tree):
    _ls_export(aariz_tree, [ls_task(41, "/data/upload/6/aaaabbbb-case2.png", [("p1", (1, 1)), ("p1", (2, 2))])])
    with pytest.raises(AnnotationError, match=r"task 41: label 'p1' appears twice"):
        Ceph31Dataset(str(aariz_tree))
    _ls_export(aariz_tree, [ls_task(42, "/data/upload/6/aaaabbbb-missing.png", [("p1", (1, 1))])])
    with pytest.raises(ImageReadError, match=r"task 42: image '/data/upload/6/aaaabbbb-missing.png' matches no file"):
        Ceph31Dataset(str(aariz_tree))
    ds = Ceph31Dataset(str(aariz_tree), skip_invalid=True)
    assert len(ds) == 3 and ds.skipped[0][1] == "unmatched image" and "task 42" in ds.skipped[0][0]


def test_synthetic_round_trip_within_a_hundredth_of_a_pixel(tmp_path):
    from zoo.data.synthetic import generate, make_sample

    out = generate(tmp_path / "syn set", n=5, seed=7, size=(128, 160))
    n_read = 0
    for split in ("train", "valid", "test"):
        ds = Ceph31Dataset(str(out), split=split)
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            truth = make_sample(7, int(info["img_id"].split("_")[1]), (128, 160))
            assert np.abs(info["ori_keypoints"] - truth.keypoints).max() < 0.01  # Aariz JSON (29) + LS (p1, p2)
            assert info["keypoints_visible"].sum() == 31 and info["spacing"] == pytest.approx(truth.spacing)
            n_read += 1
    assert n_read == 5
    # the Aariz reader alone reads the same files (29 landmarks)
    assert len(AarizDataset(str(out), split="train")) == 3


def test_synthesize_if_missing_generates_once(tmp_path, monkeypatch):
    root = tmp_path / "cache" / "synthetic31"
    monkeypatch.setattr("zoo.data.datasets.ceph31.SYNTHETIC_ROOT", str(root))  # stands in for the built-in
    ds = Ceph31Dataset(str(root), split="train", synthesize_if_missing=dict(n=3, seed=1, size=(96, 120)))
    assert len(ds) == 1 and (root / "synthetic_meta.json").is_file()
    stamp = (root / "synthetic_meta.json").stat().st_mtime_ns
    again = Ceph31Dataset(str(root), split="valid", synthesize_if_missing=dict(n=3, seed=1, size=(96, 120)))
    assert len(again) == 1 and (root / "synthetic_meta.json").stat().st_mtime_ns == stamp


def test_a_mistyped_data_root_is_named_and_never_filled_with_synthetic_data(tmp_path, monkeypatch):
    """``synthesize_if_missing`` stays in a synthetic31-based config whose data_root is pointed at real data;
    a typo there used to fill the misspelt folder with synthetic images that then trained as the user's."""
    cache = tmp_path / "data_cache"
    (cache / "synthetic31").mkdir(parents=True)
    monkeypatch.setattr("zoo.data.datasets.ceph31.SYNTHETIC_ROOT", str(cache / "synthetic31"))
    before = sorted(tmp_path.rglob("*"))
    messages = []
    for typo in (cache / "synthetic13", tmp_path / "my data" / "ceph31"):
        with pytest.raises(DataNotFoundError) as info:
            Ceph31Dataset(str(typo), split="train",
                          synthesize_if_missing={"n": 3, "seed": 1, "size": (96, 120)})
        messages.append(str(info.value))
        assert messages[-1].startswith(f"data_root not found: {typo}")
        assert f"generated on first use only into the built-in {cache / 'synthetic31'}" in messages[-1]
    assert f"synthetic13 (did you mean {cache / 'synthetic31'}?)" in messages[0]
    assert "did you mean" not in messages[1]
    assert sorted(tmp_path.rglob("*")) == before  # nothing created: no folder, no .partial


def test_did_you_mean_names_the_close_existing_folder(tmp_path):
    from zoo.data.paths import did_you_mean

    (tmp_path / "data_cache" / "synthetic31" / "train").mkdir(parents=True)
    assert did_you_mean(tmp_path / "data_cache" / "synthetic13") == \
        f" (did you mean {tmp_path / 'data_cache' / 'synthetic31'}?)"
    assert did_you_mean(tmp_path / "data_cahce" / "synthetic31") == \
        f" (did you mean {tmp_path / 'data_cache' / 'synthetic31'}?)"
    assert did_you_mean(tmp_path / "elsewhere") == "" and did_you_mean(tmp_path / "data_cache") == ""
    assert did_you_mean(tmp_path / "isbi2105", also=(tmp_path / "isbi2015",)) == \
        f" (did you mean {tmp_path / 'isbi2015'}?)"


def test_synthetic_generation_is_deterministic():
    from zoo.data.synthetic import make_sample

    a, b, c = make_sample(3, 2, (96, 120)), make_sample(3, 2, (96, 120)), make_sample(3, 3, (96, 120))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.keypoints, b.keypoints)
    assert not np.array_equal(a.keypoints, c.keypoints)
    ruler_px = np.linalg.norm(a.keypoints[30] - a.keypoints[29])
    assert ruler_px * a.spacing == pytest.approx(30.0, rel=1e-9)
