"""Label Studio round trip: the labeling interface lists every symbol under the names the reader expects;
``zoo predict --format labelstudio`` pre-annotations, accepted in Label Studio and exported back as JSON,
JSON-MIN or CSV, read into the predicted coordinates (within 0.01 px)."""
import csv
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from data_helpers import run_zoo, write_image

from zoo.data import get_landmark_set, list_landmark_sets
from zoo.data.check import datasets_for_path
from zoo.data.datasets import LabelStudioDataset
from zoo.data.datasets.labelstudio import image_names
from zoo.data.labelstudio import image_reference, inside, labeling_config, predictions_to_tasks

TINY_MODEL = """default_scope = 'zoo'
input_size = (64, 64)
model = dict(type='LandmarkDetector', landmark_set='isbi2015',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[127.5] * 3, std=[64.0] * 3, channels=3),
    backbone=dict(type='HRNetBackbone', arch='hrnet_w18_small', pretrained=False),
    neck=dict(type='HRNetV2Neck'), head=dict(type='HeatmapHead', output_stride=4, sigma=2.0),
    decoder=dict(type='DarkDecoder', blur_sigma=1.0), loss=dict(type='HeatmapMSELoss'))
test_pipeline = [dict(type='LoadCephalogram', channels=3), dict(type='LetterboxResize', size=input_size),
                 dict(type='PackLandmarkInputs')]
"""


@pytest.mark.parametrize("name", list_landmark_sets())
def test_labeling_config_lists_every_symbol_as_the_reader_reads_it(name):
    lset = get_landmark_set(name)
    view = ET.fromstring(labeling_config(name))
    [control] = view.findall("KeyPointLabels")
    [image] = view.findall("Image")
    assert control.get("toName") == image.get("name") == "image" and image.get("value") == "$image"
    labels = control.findall("Label")
    assert [lb.get("value") for lb in labels] == lset.symbols
    assert [lset.lookup(lb.get("value")) for lb in labels] == list(range(len(lset)))
    assert [lb.get("hint") for lb in labels] == lset.names and {lb.get("maxUsages") for lb in labels} == {"1"}
    assert len({lb.get("background") for lb in labels}) == len(lset)


def test_labelstudio_config_command(tmp_path, capsys):
    own = tmp_path / "own set.json"
    own.write_text(json.dumps({"name": "mine", "landmarks": [{"symbol": "Pog'", "name": 'Soft "chin"'},
                                                             {"symbol": "S&N"}]}))
    code, out, _ = run_zoo(["data", "labelstudio-config", "--landmark-set", str(own)], capsys)
    assert code == 0
    labels = ET.fromstring(out).find("KeyPointLabels").findall("Label")  # quotes and & escaped, parsed back
    assert [(lb.get("value"), lb.get("hint")) for lb in labels] == [("Pog'", 'Soft "chin"'), ("S&N", "S&N")]
    target = tmp_path / "label studio" / "interface.xml"
    code, _, err = run_zoo(["data", "labelstudio-config", "--landmark-set", "isbi2015", "--out", str(target)], capsys)
    assert code == 0 and str(target) in err
    assert len(ET.parse(target).getroot().find("KeyPointLabels")) == 19
    code, _, err = run_zoo(["data", "labelstudio-config", "--landmark-set", "isbi2016"], capsys)
    assert code == 2 and "Did you mean 'isbi2015'" in err


# -- what Label Studio does between the import and the export, per its documented formats ----------------
def _accept(tasks: list[dict]) -> list[dict]:
    """An annotator submits every pre-annotation unchanged: the JSON export holds them as annotations."""
    out = []
    for n, task in enumerate(tasks, 1):
        result = [{k: v for k, v in r.items() if k != "score"} for r in task["predictions"][0]["result"]]
        out.append({"id": n, "data": task["data"], "predictions": task["predictions"],
                    "annotations": [{"id": 100 + n, "result": result, "was_cancelled": False, "lead_time": 4.2}]})
    return out


def _json_min(export: list[dict]) -> list[dict]:
    """The JSON-MIN export: task data and each control's values side by side, with the original size."""
    rows = []
    for task in export:
        values = [{**r["value"], "original_width": r["original_width"], "original_height": r["original_height"]}
                  for r in task["annotations"][0]["result"]]
        rows.append({**task["data"], "id": task["id"], "kp": values, "annotator": 1,
                     "annotation_id": task["annotations"][0]["id"], "lead_time": 4.2})
    return rows


def _csv_export(rows: list[dict], path):
    """The CSV (or TSV) export: the JSON-MIN rows with list values as JSON text."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t" if path.suffix == ".tsv" else ",")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()})


def _read_back(path, lset="isbi2015"):
    ds = LabelStudioDataset(ann_file=path.name, data_root=str(path.parent), landmark_set=lset)
    return {info["img_path"]: info for info in (ds.get_data_info(i) for i in range(len(ds)))}


@pytest.fixture
def predicted(tmp_path):
    """A predictions result over two images of different sizes, coordinates with many decimals."""
    rng = np.random.default_rng(3)
    symbols = get_landmark_set("isbi2015").symbols
    entries = []
    for name, (h, w) in (("scan one.png", (60, 50)), ("scan two.jpg", (41, 77))):
        path = write_image(tmp_path / "my images" / name, hw=(h, w))
        xy = rng.uniform(0, 1, (19, 2)) * [w - 1, h - 1]
        entries.append({"image": str(path), "width": w, "height": h, "landmark_set": "isbi2015",
                        "landmarks": {s: {"x": float(x), "y": float(y), "confidence": float(rng.uniform(0.2, 1)),
                                          "low_confidence": False} for s, (x, y) in zip(symbols, xy)}})
    return {"model": {"source": "/models/isbi19.safetensors", "runtime": "torch"}, "predictions": entries}


def test_predictions_round_trip_through_every_export(predicted, tmp_path):
    tasks = predictions_to_tasks(predicted, document_root="")
    first = tasks[0]["predictions"][0]
    assert first["model_version"] == "isbi19.safetensors (torch)"
    confidences = [lm["confidence"] for lm in predicted["predictions"][0]["landmarks"].values()]
    assert first["score"] == pytest.approx(np.mean(confidences))
    point = first["result"][0]
    assert point["type"] == "keypointlabels" and point["value"]["keypointlabels"] == ["S"]
    assert (point["original_width"], point["original_height"]) == (50, 60)
    assert point["score"] == confidences[0]
    off = json.loads(json.dumps(predicted))
    off["predictions"][0]["landmarks"]["N"]["x"] = -4.0  # off the image: the annotator places it, not the edge
    symbols = [r["value"]["keypointlabels"][0] for r in predictions_to_tasks(off)[0]["predictions"][0]["result"]]
    assert "N" not in symbols and len(symbols) == 18

    export = _accept(tasks)
    folder = tmp_path / "my images"
    (folder / "export.json").write_text(json.dumps(export))
    (folder / "export min.json").write_text(json.dumps(_json_min(export)))
    _csv_export(_json_min(export), folder / "export.csv")
    _csv_export(_json_min(export), folder / "export.tsv")
    for name in ("export.json", "export min.json", "export.csv", "export.tsv"):
        read = _read_back(folder / name)
        assert len(read) == 2, name
        for entry in predicted["predictions"]:
            info = read[entry["image"]]
            want = np.array([[lm["x"], lm["y"]] for lm in entry["landmarks"].values()])
            assert np.abs(info["keypoints"] - want).max() < 0.01, name
            assert info["ori_shape"] == (entry["height"], entry["width"]) and info["keypoints_visible"].all()
    for name in ("export.csv", "export.tsv"):  # zoo data check tells an export from a plain landmark table
        assert datasets_for_path(folder / name)[0][1]["type"] == "LabelStudioDataset"


def test_image_references_under_a_label_studio_document_root(tmp_path, monkeypatch):
    image = write_image(tmp_path / "ceph data" / "sub dir" / "a b.png")
    ref = image_reference(image, document_root=tmp_path / "ceph data")
    assert ref == "/data/local-files/?d=sub%20dir/a%20b.png" and image_names(ref) == ["a b.png"]
    monkeypatch.setenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(tmp_path / "ceph data"))
    assert image_reference(image) == ref
    assert image_reference(tmp_path / "elsewhere.png") == (tmp_path / "elsewhere.png").as_posix()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, untrained_checkpoint):
    folder = tmp_path_factory.mktemp("tiny model")
    return untrained_checkpoint(TINY_MODEL, folder / "tiny.py", folder / "tiny model.pth")


def test_zoo_predict_format_labelstudio_end_to_end(tiny_model, tmp_path, capsys):
    folder = tmp_path / "new scans"
    write_image(folder / "p 1.png", hw=(90, 70), dot=(30, 40))
    write_image(folder / "p 2.png", hw=(80, 100), dot=(60, 20))
    code, _, err = run_zoo(["predict", str(tiny_model), str(folder), "--out", str(tmp_path / "preds.json"),
                         "--threads", "1"], capsys)
    assert code == 0, err
    plain = json.loads((tmp_path / "preds.json").read_text())
    out = tmp_path / "label studio" / "pre annotations.json"
    code, _, err = run_zoo(["predict", str(tiny_model), str(folder), "--format", "labelstudio", "--out", str(out),
                         "--threads", "1"], capsys)
    assert code == 0, err
    tasks = json.loads(out.read_text())
    assert [t["data"]["image"] for t in tasks] == [(folder / n).as_posix() for n in ("p 1.png", "p 2.png")]
    for task, entry in zip(tasks, plain["predictions"]):  # an untrained model also predicts off the image
        on_image = [s for s, lm in entry["landmarks"].items() if inside(lm, entry["width"], entry["height"])]
        result = task["predictions"][0]["result"]
        assert [r["value"]["keypointlabels"][0] for r in result] == on_image and on_image
        assert all(0 <= r["value"]["x"] <= 100 and 0 <= r["value"]["y"] <= 100 for r in result)

    (folder / "export.json").write_text(json.dumps(_accept(tasks)))
    read = _read_back(folder / "export.json")
    for entry in plain["predictions"]:
        info = read[entry["image"]]
        want = np.array([[lm["x"], lm["y"]] for lm in entry["landmarks"].values()])
        seen = info["keypoints_visible"] > 0
        assert seen.tolist() == [inside(lm, entry["width"], entry["height"]) for lm in entry["landmarks"].values()]
        assert np.abs(info["keypoints"][seen] - want[seen]).max() < 0.01

    code, stdout, _ = run_zoo(["predict", str(tiny_model), str(folder / "p 1.png"), "--format", "labelstudio",
                            "--threads", "1"], capsys)
    assert code == 0 and json.loads(stdout)[0]["predictions"][0]["result"][0]["from_name"] == "kp"


@pytest.mark.parametrize("args, message", [
    (["--format", "yaml"], "error: --format 'yaml': use one of json, csv, labelstudio"),
    (["--format", "labelstudio", "--out", "p.csv"], "error: --format labelstudio writes JSON, but --out p.csv ends"),
])
def test_predict_format_errors_come_before_any_work(tmp_path, capsys, args, message):
    code, _, err = run_zoo(["predict", str(tmp_path / "no model.pth"), str(tmp_path / "none.png"), *args], capsys)
    assert code == 2 and err.strip().startswith(message), err
