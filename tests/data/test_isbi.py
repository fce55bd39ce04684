import numpy as np
import pytest

from zoo.data import AnnotationError, DataNotFoundError
from zoo.data.datasets import ISBI2015Dataset, read_isbi_annotation
from zoo.registry import DATASETS


def test_reads_splits_annotators_and_spacing(isbi_tree):
    ds = ISBI2015Dataset(str(isbi_tree), split="train")
    assert len(ds) == 3
    assert ds.metainfo["landmark_set"] == "isbi2015" and len(ds.metainfo["landmark_names"]) == 19
    info = ds.get_data_info(0)
    truth = read_isbi_annotation(isbi_tree / "AnnotationsByMD" / "400_senior" / "001.txt")
    np.testing.assert_array_equal(info["keypoints"], truth)
    np.testing.assert_array_equal(info["ori_keypoints"], truth)
    assert info["keypoints"].dtype == np.float32 and info["keypoints"].shape == (19, 2)
    assert info["keypoints_visible"].tolist() == [1.0] * 19
    assert info["spacing"] == pytest.approx(0.1) and info["ori_shape"] == (60, 50)
    assert info["img_path"].endswith("001.bmp") and info["landmark_set"] == "isbi2015"

    junior = ISBI2015Dataset(str(isbi_tree), split="train", annotator="junior").get_data_info(0)
    mean = ISBI2015Dataset(str(isbi_tree), split="train", annotator="mean").get_data_info(0)
    np.testing.assert_allclose(junior["keypoints"][:, 0], truth[:, 0] + 2)
    np.testing.assert_allclose(mean["keypoints"][:, 0], truth[:, 0] + 1)
    assert len(ISBI2015Dataset(str(isbi_tree), split="test1")) == 2
    assert len(ISBI2015Dataset(str(isbi_tree), split="Test1Data")) == 2  # an explicit folder name


def test_subsets_for_a_validation_hold_out(isbi_tree):
    assert [d["img_id"] for d in ISBI2015Dataset(str(isbi_tree), indices="1:")] == ["002", "003"]
    assert len(ISBI2015Dataset(str(isbi_tree), indices=[0, 2])) == 2
    assert len(ISBI2015Dataset(str(isbi_tree), indices=1)) == 1


def test_built_from_the_registry_and_mapped_to_another_set(isbi_tree):
    ds = DATASETS.build(dict(type="ISBI2015Dataset", data_root=str(isbi_tree), landmark_set="ceph31"))
    info = ds.get_data_info(0)
    assert info["keypoints"].shape == (31, 2)
    symbols = ds.metainfo["landmark_names"]
    assert info["keypoints_visible"][symbols.index("S")] == 1 and info["keypoints_visible"][symbols.index("p1")] == 0
    isbi = ISBI2015Dataset(str(isbi_tree)).get_data_info(0)
    np.testing.assert_array_equal(info["keypoints"][symbols.index("Ar")], isbi["keypoints"][18])


def test_missing_data_names_layout_and_ways_out(tmp_path, isbi_tree):
    with pytest.raises(DataNotFoundError) as err:
        ISBI2015Dataset(str(tmp_path / "nowhere"))
    message = str(err.value)
    assert "RawImage" in message and "--cfg-options train_dataloader.dataset.data_root=" in message
    assert "zoo data synth" in message
    with pytest.raises(DataNotFoundError, match="Test2Data"):
        ISBI2015Dataset(str(isbi_tree), split="test2")


def test_bad_annotation_raises_naming_file_or_is_skipped_with_a_report(isbi_tree):
    bad = isbi_tree / "AnnotationsByMD" / "400_senior" / "002.txt"
    bad.write_text("\n".join(["10,10"] * 18) + "\n")
    with pytest.raises(AnnotationError, match=r"002\.txt.*18 of 19|002\.txt: 18 landmarks"):
        ISBI2015Dataset(str(isbi_tree))
    (isbi_tree / "AnnotationsByMD" / "400_senior" / "003.txt").write_text("10,10\n" + "abc,4\n" * 18)
    ds = ISBI2015Dataset(str(isbi_tree), skip_invalid=True)
    assert len(ds) == 1
    assert sorted(r for _, r, _ in ds.skipped) == ["malformed annotation", "wrong landmark count"]
    report = ds.skip_report()
    assert "skipped 2" in report and "003.txt:2" in report


def test_out_of_image_and_missing_image_are_errors(isbi_tree):
    ann = isbi_tree / "AnnotationsByMD" / "400_senior" / "001.txt"
    ann.write_text("\n".join(["500,10"] + ["10,10"] * 18))
    with pytest.raises(AnnotationError, match="outside the 50x60 image"):
        ISBI2015Dataset(str(isbi_tree))
    (isbi_tree / "RawImage" / "TrainingData" / "001.bmp").write_bytes(b"not an image at all")
    ds = ISBI2015Dataset(str(isbi_tree), skip_invalid=True)
    assert len(ds) == 2 and ds.skipped[0][1] == "unreadable image" and "001.bmp" in ds.skipped[0][2]


@pytest.mark.realdata
def test_real_isbi_all_300_images(real_isbi):
    """Both splits: 300 images, 19 landmarks each, 0.1 mm/px, 1935x2400 (headers only, nothing decoded)."""
    total = 0
    for split in ("train", "test1"):
        ds = ISBI2015Dataset(str(real_isbi), split=split)
        assert len(ds) == 150
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            assert info["keypoints"].shape == (19, 2) and info["keypoints_visible"].sum() == 19
            assert info["spacing"] == pytest.approx(0.1) and info["ori_shape"] == (2400, 1935)
            assert np.isfinite(info["keypoints"]).all()
        total += len(ds)
    assert total == 300


@pytest.mark.realdata
def test_real_isbi_relative_root_does_not_depend_on_cwd(real_isbi, tmp_path, monkeypatch):
    from zoo.data.paths import repo_root

    if real_isbi.resolve() != (repo_root() / ".." / "shared" / "data" / "isbi2015").resolve():
        pytest.skip("the ISBI copy is not beside the checkout")
    monkeypatch.chdir(tmp_path)
    ds = ISBI2015Dataset("../shared/data/isbi2015", split="test1", indices=3, check_images=False)
    assert len(ds) == 3 and ds.root.resolve() == real_isbi.resolve()
