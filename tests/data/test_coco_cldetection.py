"""COCO keypoint files (written by `zoo predict --format coco`, read by CocoKeypointDataset) and CL-Detection 2023
(the challenge's MetaImage stack + train-gt.json, and the baseline's CSV), on tiny folders the tests build."""
from __future__ import annotations

import json
import zlib

import cv2
import numpy as np
import pytest

from zoo.data.errors import AnnotationError
from zoo.data.landmark_sets import get_landmark_set


def _entry(name: str, w: int, h: int, pts: np.ndarray, symbols, spacing=None) -> dict:
    return {"image": name, "width": w, "height": h, "landmark_set": "isbi2015", "mm_per_pixel": spacing,
            "mm_per_pixel_source": "given" if spacing else None,
            "landmarks": {s: {"x": float(x), "y": float(y), "confidence": 0.9, "low_confidence": False}
                          for s, (x, y) in zip(symbols, pts)}}


def test_coco_round_trip_from_predictions_to_training_samples(tmp_path):
    from zoo.commands.predict import render_result
    from zoo.data.datasets import CocoKeypointDataset

    symbols = get_landmark_set("isbi2015").symbols
    rng = np.random.default_rng(0)
    entries, truth = [], {}
    for i, (w, h) in enumerate([(120, 150), (100, 130)]):
        name = f"ceph {i}.png"
        cv2.imwrite(str(tmp_path / name), np.full((h, w), 90, np.uint8))
        pts = rng.uniform(5, 95, (len(symbols), 2)).round(3)
        entries.append(_entry(name, w, h, pts, symbols, spacing=0.1 * (i + 1)))
        truth[name] = pts
    text = render_result({"model": {"landmark_set": "isbi2015"}, "predictions": entries, "failed": []}, "coco")
    doc = json.loads(text)
    assert doc["categories"][0]["keypoints"] == list(symbols)
    assert len(doc["annotations"][0]["keypoints"]) == 3 * len(symbols) and doc["annotations"][0]["keypoints"][2] == 2
    (tmp_path / "keypoints.json").write_text(text)
    ds = CocoKeypointDataset(ann_file="keypoints.json", data_root=str(tmp_path), landmark_set="isbi2015")
    assert len(ds) == 2
    for i in range(2):
        info = ds.get_data_info(i)
        name = info["img_path"].rsplit("/", 1)[-1]
        assert np.allclose(info["keypoints"], truth[name], atol=1e-4)
        assert info["spacing"] == pytest.approx(0.1 * (i + 1)) and info["keypoints_visible"].all()


def test_coco_from_cvat_names_unlabelled_points_and_a_label_map(tmp_path):
    """CVAT writes its own label names and v = 0 for points not placed; names match the set by name."""
    from zoo.data.datasets import CocoKeypointDataset

    cv2.imwrite(str(tmp_path / "a.jpg"), np.full((100, 80, 3), 60, np.uint8))
    names = ["Sella", "nasion", "Menton", "ruler tip"]
    doc = {"images": [{"id": 7, "file_name": "a.jpg", "width": 80, "height": 100}],
           "annotations": [{"id": 1, "image_id": 7, "category_id": 3,
                            "keypoints": [10, 20, 2, 30, 15, 1, 0, 0, 0, 70, 90, 2]}],
           "categories": [{"id": 3, "name": "head", "keypoints": names, "skeleton": []}]}
    (tmp_path / "cvat.json").write_text(json.dumps(doc))
    with pytest.raises(AnnotationError, match="'ruler tip' is no landmark"):
        CocoKeypointDataset(ann_file="cvat.json", data_root=str(tmp_path))
    ds = CocoKeypointDataset(ann_file="cvat.json", data_root=str(tmp_path), label_map={"ruler tip": None})
    info = ds.get_data_info(0)
    s = get_landmark_set("isbi2015")
    assert info["keypoints"][s.index("S")].tolist() == [10, 20] and info["keypoints"][s.index("N")].tolist() == [30, 15]
    assert info["keypoints_visible"][s.index("Me")] == 0 and info["keypoints_visible"].sum() == 2
    doc["annotations"].append(dict(doc["annotations"][0], id=2))
    (tmp_path / "twice.json").write_text(json.dumps(doc))
    with pytest.raises(AnnotationError, match="a second annotation for a.jpg"):
        CocoKeypointDataset(ann_file="twice.json", data_root=str(tmp_path), label_map={"ruler tip": None})


# -- CL-Detection 2023 ---------------------------------------------------------------------------------------------
def _write_mha(path, images: np.ndarray, compressed: bool) -> None:
    """A MetaImage stack as the challenge writes it: (N, H, W, 3) uint8 behind a text header."""
    n, h, w, c = images.shape
    data = images.tobytes()
    if compressed:
        data = zlib.compress(data)
    header = (f"ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
              f"CompressedData = {compressed}\n" + (f"CompressedDataSize = {len(data)}\n" if compressed else "") +
              f"DimSize = {w} {h} {n}\nElementNumberOfChannels = {c}\nElementSpacing = 1 1 1\n"
              "ElementType = MET_UCHAR\nElementDataFile = LOCAL\n")
    path.write_bytes(header.encode() + data)


@pytest.fixture
def cl_folder(tmp_path):
    """Three images of two centres' sizes, zero-padded into one 60 x 72 x 3 stack, and their 38 points each."""
    rng = np.random.default_rng(1)
    sizes = [(50, 40), (60, 72), (44, 56)]  # (H, W) per image: the padding is cropped back to these
    stack = np.zeros((3, 60, 72, 3), np.uint8)
    points, truth = [], {}
    for i, (h, w) in enumerate(sizes):
        gray = rng.integers(1, 255, (h, w), dtype=np.uint8)
        stack[i, :h, :w] = gray[:, :, None]
        pts = np.stack([rng.uniform(0, w - 1, 38), rng.uniform(0, h - 1, 38)], axis=1).round(1)
        truth[i + 1] = (gray, pts, 0.1 if i < 2 else 0.125)
        points += [{"name": str(k + 1), "point": [float(x), float(y), i + 1], "scale": truth[i + 1][2]}
                   for k, (x, y) in enumerate(pts)]
    root = tmp_path / "CL detection"
    root.mkdir()
    (root / "train-gt.json").write_text(json.dumps({"points": points}))
    return root, stack, truth


@pytest.mark.parametrize("compressed", [False, True])
def test_cldetection_stack_layout(cl_folder, compressed):
    from zoo.data.datasets import CLDetection2023Dataset

    root, stack, truth = cl_folder
    _write_mha(root / "train_stack.mha", stack, compressed)
    ds = CLDetection2023Dataset(data_root=str(root))
    assert len(ds) == 3 and ds.metainfo["num_keypoints"] == 38
    for i in range(3):
        info = ds.get_data_info(i)
        gray, pts, scale = truth[info["stack_index"]]
        assert info["ori_shape"] == gray.shape and info["spacing"] == scale
        assert np.allclose(info["keypoints"], pts, atol=1e-4)
        assert np.array_equal(cv2.imread(info["img_path"], cv2.IMREAD_UNCHANGED), gray)
    # the images stay: the stack is not read again, and the ISBI 19 are the first 19
    (root / "train_stack.mha").unlink()
    isbi = CLDetection2023Dataset(data_root=str(root), landmark_set="isbi2015")
    assert isbi.get_data_info(0)["keypoints"].shape == (19, 2)
    assert np.allclose(isbi.get_data_info(0)["keypoints"], truth[1][1][:19], atol=1e-4)


def test_cldetection_csv_layout_finds_images_by_name(cl_folder):
    from zoo.data.datasets import CLDetection2023Dataset

    root, _, truth = cl_folder
    images = root / "processed_images"
    images.mkdir()
    header = ["file", "scale"] + [f"p{k}{a}" for k in range(1, 39) for a in "xy"]
    rows = [",".join(header)]
    for number, (gray, pts, scale) in truth.items():
        cv2.imwrite(str(images / f"{number}.bmp"), gray)
        rows.append(",".join([f"/data/zhangHY/CL-Detection2023/processed_images/{number}.bmp", str(scale)] +
                             [f"{v:g}" for v in pts.reshape(-1)]))
    (root / "train.csv").write_text("\n".join(rows) + "\n")
    ds = CLDetection2023Dataset(data_root=str(root), ann_file="train.csv")
    assert len(ds) == 3
    info = ds.get_data_info(2)
    assert info["img_path"].endswith("processed_images/3.bmp") and info["spacing"] == 0.125
    assert np.allclose(info["keypoints"], truth[3][1], atol=1e-4)


def test_cldetection_errors_name_the_entry(cl_folder):
    from zoo.data.datasets import CLDetection2023Dataset
    from zoo.data.errors import DataNotFoundError

    root, stack, _ = cl_folder
    with pytest.raises(DataNotFoundError, match="no image stack"):
        CLDetection2023Dataset(data_root=str(root))
    _write_mha(root / "train_stack.mha", stack[:2], False)
    with pytest.raises(AnnotationError, match="image 3 is annotated but .* holds 2 images"):
        CLDetection2023Dataset(data_root=str(root))
    doc = json.loads((root / "train-gt.json").read_text())
    doc["points"][5]["name"] = "39"
    (root / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(AnnotationError, match=r"points\[5\]: landmark name '39' is not 1-38"):
        CLDetection2023Dataset(data_root=str(root), ann_file="bad.json")


def test_the_landmark_set_keeps_isbi_first_and_numbers_after():
    s = get_landmark_set("cldetection2023")
    assert len(s) == 38 and list(s.symbols[:19]) == list(get_landmark_set("isbi2015").symbols)
    assert s.symbols[19] == "L20" and s.symbols[37] == "L38"
