"""The scale is the predictor's, so it holds wherever a model runs: ``zoo test`` on a dataset with its own pixel size
reads each image as ``zoo predict`` does, and an exported model's graphs read it as the checkpoint does (the
resampling is around the graphs). An untrained two-stage model: the two paths must agree, whatever it answers."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scale_helpers import TEST_MM, TRAIN_MM, two_stage_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, one_torch_thread):
    return two_stage_checkpoint(tmp_path_factory.mktemp("scale everywhere"))


def _coords(entry) -> np.ndarray:
    return np.array([[lm["x"], lm["y"]] for lm in entry["landmarks"].values()])


def test_the_model_says_the_pixel_size_its_config_trained_at(checkpoint):
    from zoo.inference import Predictor

    predictor = Predictor.from_path(checkpoint[0])
    assert predictor.model_mm == TRAIN_MM and "CsvLandmarkDataset" in predictor.model_mm_source


def test_zoo_test_reads_a_datasets_spacing_as_zoo_predict_reads_a_given_one(checkpoint, tmp_path):
    from zoo.engine.entry import test
    from zoo.inference import Predictor

    ckpt, images = checkpoint
    out = tmp_path / "test predictions.json"
    test(str(ckpt), work_dir=str(tmp_path / "work"), predictions=str(out))
    tested = {e["image"]: _coords(e) for e in json.loads(out.read_text())["predictions"]}
    predictor = Predictor.from_path(ckpt, orientation="fixed")
    as_lies = Predictor.from_path(ckpt, orientation="fixed", scale="fixed")
    for path, _ in images:
        entry = predictor.predict(path, spacing_mm=TEST_MM)
        assert entry["scale"]["factor"] == pytest.approx(TEST_MM / TRAIN_MM)
        assert np.abs(tested[str(path)] - _coords(entry)).max() < 0.05
        # and reading it as it lies is another reading (the refine patches see twice the image)
        assert np.abs(_coords(as_lies.predict(path, spacing_mm=TEST_MM)) - _coords(entry)).max() > 0.05


def test_an_onnx_export_reads_at_the_models_scale_as_the_checkpoint_does(checkpoint, tmp_path):
    pytest.importorskip("onnxruntime")
    from zoo.inference import Predictor
    from zoo.registry import EXPORTERS

    ckpt, images = checkpoint
    result = EXPORTERS.build(dict(type="OnnxExporter")).export(ckpt, tmp_path / "two stage.onnx", check=False)
    eager, exported = Predictor.from_path(ckpt, orientation="fixed"), Predictor.from_path(result.path,
                                                                                           orientation="fixed")
    assert exported.model_mm == TRAIN_MM
    for path, _ in images:
        a, b = eager.predict(path, spacing_mm=TEST_MM), exported.predict(path, spacing_mm=TEST_MM)
        assert a["scale"] == b["scale"] and b["scale"]["factor"] == pytest.approx(2.0)
        assert np.abs(_coords(a) - _coords(b)).max() < 0.5
