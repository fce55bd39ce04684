import json

import numpy as np
import pytest
from data_helpers import ls_task, write_image

from zoo.data import AnnotationError, DataNotFoundError
from zoo.data.datasets import CsvLandmarkDataset, LabelStudioDataset
from zoo.data.datasets.labelstudio import image_names


def test_image_reference_names():
    assert image_names("/data/upload/6/8f3a2c1d-017.jpg") == ["8f3a2c1d-017.jpg", "017.jpg"]
    assert image_names("https://host/x/My%20Scan.png?token=1") == ["My Scan.png"]
    assert image_names("/data/local-files/?d=ceph/a%20b/001.jpg") == ["001.jpg"]


def test_label_studio_percent_coordinates_and_missing_labels(tmp_path):
    root = tmp_path / "ls export"
    write_image(root / "images" / "017.jpg", hw=(80, 100))
    write_image(root / "images" / "018.jpg", hw=(80, 100))
    tasks = [ls_task(1, "/data/upload/6/8f3a2c1d-017.jpg", [("p1", (25.0, 20.0)), ("P2", (75.5, 60.0))], hw=(80, 100)),
             ls_task(2, "/data/upload/6/8f3a2c1e-018.jpg", [("p2", (10.0, 10.0))], hw=(80, 100)),
             {"id": 3, "data": {"image": "/data/upload/6/x-018.jpg"}, "annotations": []}]
    (root / "export.json").write_text(json.dumps(tasks))
    ds = LabelStudioDataset(ann_file="export.json", data_root=str(root), img_dir="images", spacing=0.1)
    assert len(ds) == 2 and ds.metainfo["landmark_names"] == ["p1", "p2"]
    first, second = ds.get_data_info(0), ds.get_data_info(1)
    np.testing.assert_allclose(first["keypoints"], [[25.0, 20.0], [75.5, 60.0]], atol=1e-4)
    assert first["ori_shape"] == (80, 100) and first["task_id"] == 1 and first["spacing"] == 0.1
    assert second["keypoints_visible"].tolist() == [0.0, 1.0] and second["keypoints"][0].tolist() == [0.0, 0.0]


def test_label_studio_unknown_label_and_size_mismatch(tmp_path):
    write_image(tmp_path / "a.png", hw=(80, 100))
    (tmp_path / "e.json").write_text(json.dumps([ls_task(5, "a.png", [("p9", (1, 1))], hw=(80, 100))]))
    with pytest.raises(AnnotationError, match=r"task 5: unknown label 'p9'"):
        LabelStudioDataset(ann_file="e.json", data_root=str(tmp_path))
    (tmp_path / "e.json").write_text(json.dumps([ls_task(6, "a.png", [("p1", (1, 1))], hw=(90, 100))]))
    with pytest.raises(AnnotationError, match=r"task 6: the annotation is for a 100x90 image but .*a\.png is 100x80"):
        LabelStudioDataset(ann_file="e.json", data_root=str(tmp_path))
    with pytest.raises(DataNotFoundError, match="Label Studio export not found"):
        LabelStudioDataset(ann_file="none.json", data_root=str(tmp_path))


def _csv(tmp_path, text, bom=False):
    root = tmp_path / "csv data"
    write_image(root / "img dir" / "one.png", hw=(60, 50))
    write_image(root / "img dir" / "two.png", hw=(60, 50))
    (root / "landmarks.csv").write_text(text, encoding="utf-8-sig" if bom else "utf-8")
    return root


def test_csv_with_symbol_header_bom_spacing_and_empty_cells(tmp_path):
    root = _csv(tmp_path, "image,p2_x,p2_y,p1_x,p1_y,spacing\nimg dir/one.png,1,2,3,4,0.2\nimg dir/two.png,,,5.5,6,\n",
                bom=True)
    ds = CsvLandmarkDataset(ann_file="landmarks.csv", data_root=str(root), landmark_set="ruler", spacing=0.3)
    one, two = ds.get_data_info(0), ds.get_data_info(1)
    np.testing.assert_allclose(one["keypoints"], [[3, 4], [1, 2]])
    assert one["spacing"] == 0.2 and two["spacing"] == 0.3
    assert two["keypoints_visible"].tolist() == [1.0, 0.0]


def test_csv_without_header_and_its_errors(tmp_path):
    root = _csv(tmp_path, "img dir/one.png;1;2;3;4\nimg dir/two.png;5;6;7;8\n")  # delimiter sniffed
    ds = CsvLandmarkDataset(ann_file="landmarks.csv", data_root=str(root), landmark_set="ruler")
    assert len(ds) == 2 and ds.get_data_info(1)["keypoints"].tolist() == [[5, 6], [7, 8]]
    root = _csv(tmp_path, "img dir/one.png,1,2,3\n")
    with pytest.raises(AnnotationError, match=r"landmarks\.csv:1: 3 values after the image name, expected 4"):
        CsvLandmarkDataset(ann_file="landmarks.csv", data_root=str(root), landmark_set="ruler")
    root = _csv(tmp_path, "img dir/one.png,1,2,3,4\nimg dir/two.png,nan,2,3,4\nimg dir/gone.png,1,2,3,4\n")
    with pytest.raises(AnnotationError, match=r"landmarks\.csv:2: NaN/infinite coordinates for p1"):
        CsvLandmarkDataset(ann_file="landmarks.csv", data_root=str(root), landmark_set="ruler")
    ds = CsvLandmarkDataset(ann_file="landmarks.csv", data_root=str(root), landmark_set="ruler", skip_invalid=True)
    assert len(ds) == 1
    assert sorted(r for _, r, _ in ds.skipped) == ["missing image", "nan coordinates"]


def test_a_cell_nested_deeper_than_json_parses_is_not_a_crash():
    """A hostile or corrupt export cell ('[[[[...' a million deep) is read as no keypoints, like other bad JSON."""
    from zoo.data.labelstudio import _keypoint_values

    assert _keypoint_values("[" * 1_000_000 + '{"keypointlabels": ["S"]}' + "]" * 1_000_000) is None
    assert _keypoint_values('[{"x": 1, "y": 2, "keypointlabels": ["S"]}]') == [{"x": 1, "y": 2,
                                                                                 "keypointlabels": ["S"]}]
