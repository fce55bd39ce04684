"""A Label Studio project may call its image ``img`` (``<Image name="img" value="$img"/>``): the interface the zoo
writes and its pre-annotations follow the project's names, read from its labeling interface, and an export of such
a project reads back to the predicted coordinates."""
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from data_helpers import run_zoo, write_image

from zoo.data import AnnotationError
from zoo.data.datasets import LabelStudioDataset
from zoo.data.labelstudio import LabelStudioNames, labeling_config, predictions_to_tasks

IMG = LabelStudioNames(keypoints="landmarks", image="img", data_key="img")


def test_the_interface_uses_the_project_names_and_reads_back():
    xml = labeling_config("ruler", IMG)
    view = ET.fromstring(xml)
    control, image = view.find("KeyPointLabels"), view.find("Image")
    assert (control.get("name"), control.get("toName")) == ("landmarks", "img")
    assert (image.get("name"), image.get("value")) == ("img", "$img")
    assert LabelStudioNames.from_config(xml) == IMG
    assert LabelStudioNames.from_config(labeling_config("ruler")) == LabelStudioNames()  # the default: image


def test_the_image_name_option(tmp_path, capsys):
    code, out, _ = run_zoo(["data", "labelstudio-config", "--landmark-set", "ruler", "--image-name", "img"], capsys)
    assert code == 0 and LabelStudioNames.from_config(out) == LabelStudioNames(image="img", data_key="img")
    code, _, err = run_zoo(["data", "labelstudio-config", "--landmark-set", "ruler", "--image-name", 'a"b'], capsys)
    assert code == 2 and "--image-name" in err


@pytest.mark.parametrize("text, message", [
    ("<View><Image name='img' value='$img'/></View>", "no <KeyPointLabels"),
    ("<View><KeyPointLabels name='kp' toName='img'/></View>", 'no <Image name="img"'),
    ("<View><KeyPointLabels", "not XML"),
])
def test_an_interface_without_what_keypoints_need_is_named(text, message):
    with pytest.raises(AnnotationError, match=message):
        LabelStudioNames.from_config(text)


def test_pre_annotations_in_the_project_names_read_back(tmp_path):
    image = write_image(tmp_path / "scans" / "p 1.png", hw=(60, 50))
    result = {"model": {"source": "m.pth"}, "predictions": [{
        "image": str(image), "width": 50, "height": 60, "landmark_set": "ruler",
        "landmarks": {"p1": {"x": 10.25, "y": 20.5, "confidence": 0.8}, "p2": {"x": 30.0, "y": 41.75,
                                                                             "confidence": 0.9}}}]}
    [task] = predictions_to_tasks(result, document_root="", names=IMG)
    assert list(task["data"]) == ["img"]
    points = task["predictions"][0]["result"]
    assert {(r["from_name"], r["to_name"]) for r in points} == {("landmarks", "img")}
    export = [{"id": 1, "data": task["data"], "annotations": [{"id": 2, "result": points}]}]
    (tmp_path / "scans" / "export.json").write_text(json.dumps(export))
    ds = LabelStudioDataset(ann_file="export.json", data_root=str(tmp_path / "scans"))
    assert np.abs(ds.get_data_info(0)["keypoints"] - [[10.25, 20.5], [30.0, 41.75]]).max() < 0.01


TINY = """default_scope = 'zoo'
input_size = (64, 64)
model = dict(type='LandmarkDetector', landmark_set='ruler',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[127.5] * 3, std=[64.0] * 3, channels=3),
    backbone=dict(type='HRNetBackbone', arch='hrnet_w18_small', pretrained=False),
    neck=dict(type='HRNetV2Neck'), head=dict(type='HeatmapHead', output_stride=4, sigma=2.0),
    decoder=dict(type='DarkDecoder', blur_sigma=1.0), loss=dict(type='HeatmapMSELoss'))
test_pipeline = [dict(type='LoadCephalogram', channels=3), dict(type='LetterboxResize', size=input_size),
                 dict(type='PackLandmarkInputs')]
"""


def test_zoo_predict_writes_pre_annotations_in_the_projects_names(tmp_path, capsys, untrained_checkpoint):
    model = untrained_checkpoint(TINY, tmp_path / "tiny.py", tmp_path / "tiny ruler.pth")
    write_image(tmp_path / "scans" / "p 1.png", hw=(90, 70), dot=(30, 40))
    interface = tmp_path / "project interface.xml"
    interface.write_text(labeling_config("ruler", IMG))
    out = tmp_path / "pre annotations.json"
    code, _, err = run_zoo(["predict", str(model), str(tmp_path / "scans"), "--format", "labelstudio", "--out",
                            str(out), "--labelstudio-config", str(interface), "--threads", "1"], capsys)
    assert code == 0, err
    [task] = json.loads(out.read_text())
    assert list(task["data"]) == ["img"]
    assert {(r["from_name"], r["to_name"]) for r in task["predictions"][0]["result"]} <= {("landmarks", "img")}
    code, _, err = run_zoo(["predict", str(model), str(tmp_path / "scans"), "--labelstudio-config", str(interface)],
                           capsys)
    assert code == 2 and "--labelstudio-config goes with --format labelstudio" in err
