"""Shape-constrained decoding: landmarks off the anatomy's shape are refined again from where the others put them,
kept only when the new answer fits better, the same in ``zoo test``, the predictor and an exported model."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quality"))
from test_shape_model import SYMBOLS, anatomies  # noqa: E402  (the shape tests' synthetic anatomy)

from zoo.models.refinement import Refined, RefineSpec  # noqa: E402
from zoo.models.shape_decoding import ShapeDecoding, reconsider  # noqa: E402
from zoo.quality.shape import ShapeModel  # noqa: E402

ALL = [*SYMBOLS, "p1", "p2"]  # ruler points ride along; the shape model leaves them out


@pytest.fixture(scope="module")
def shape_model():
    return ShapeModel.fit(anatomies(200), SYMBOLS)


def answer(coords, score=0.9):
    k = len(coords)
    return Refined(np.asarray(coords, float), np.full(k, score), np.ones(k, bool), np.full(k, 1.0))


def with_ruler(shape):
    return np.concatenate([shape, [[300.0, 10.0], [300.0, 110.0]]])


def finder(truth, reach=8.0, score=0.7):
    """A refine stage that finds each landmark when its patch centre lies within ``reach`` of it."""
    calls = []

    def refine_from(centres):
        calls.append(np.array(centres))
        near = np.hypot(*(centres - truth).T) < reach
        return Refined(np.where(near[:, None], truth, centres), np.full(len(truth), score), near,
                       np.full(len(truth), 2.0))

    return refine_from, calls


def test_a_typical_anatomy_is_left_alone_without_a_second_refine(shape_model):
    truth = with_ruler(anatomies(1, seed=21)[0])
    refine_from, calls = finder(truth)
    result, looked_at = reconsider(answer(truth), shape_model, ALL, ShapeDecoding(), refine_from)
    assert looked_at == [] and calls == []
    np.testing.assert_array_equal(result.coords, truth)


def test_a_stray_landmark_is_found_again_from_where_the_others_put_it(shape_model):
    truth = with_ruler(anatomies(1, seed=22)[0])
    first = truth.copy()
    first[4] += (30.0, -12.0)  # the refine stage settled on a neighbouring structure
    refine_from, calls = finder(truth)
    result, looked_at = reconsider(answer(first), shape_model, ALL, ShapeDecoding(threshold=4.0), refine_from)
    assert [(s, kept) for s, _, _, kept in looked_at] == [("L4", True)]
    _, before, after, _ = looked_at[0]
    assert before > 4.0 > after
    assert np.hypot(*(calls[0][4] - truth[4])) < 8.0  # the second patch sat where the others put L4
    np.testing.assert_allclose(result.coords[4], truth[4])
    keep = np.arange(len(ALL)) != 4
    np.testing.assert_array_equal(result.coords[keep], first[keep])  # the rest, ruler included, untouched
    assert result.scores[4] == 0.7 and result.spread[4] == 2.0 and result.scores[0] == 0.9


def test_a_second_answer_that_fits_worse_is_not_taken(shape_model):
    truth = with_ruler(anatomies(1, seed=23)[0])
    first = truth.copy()
    first[2] += (25.0, 0.0)

    def farther(centres):
        return answer(centres + [60.0, 0.0], score=0.99)

    result, looked_at = reconsider(answer(first), shape_model, ALL, ShapeDecoding(), farther)
    assert [(s, kept) for s, _, _, kept in looked_at] == [("L2", False)]
    np.testing.assert_array_equal(result.coords, first)


def test_the_rule_parses_travels_in_the_refine_metadata_and_bad_rules_are_named():
    from zoo.errors import ModelConfigError
    from zoo.modelfile import check_meta
    from zoo.modelfile.errors import MetadataError

    assert ShapeDecoding.parse(None) is None and ShapeDecoding.parse(False) is None
    assert ShapeDecoding.parse(True) == ShapeDecoding()
    assert ShapeDecoding.parse(dict(threshold=3.0)) == ShapeDecoding(3.0, None)
    for bad in (dict(threshold=-1), dict(treshold=3.0), "on", dict(max_outliers=0)):
        with pytest.raises(ModelConfigError, match="shape_decoding"):
            ShapeDecoding.parse(bad)
    spec = RefineSpec(patch_size=32, patch_scale=2.0, shape_decoding=ShapeDecoding(3.5, 2))
    assert RefineSpec.from_dict(spec.to_dict()) == spec
    plain = RefineSpec(patch_size=32, patch_scale=2.0)
    assert "shape_decoding" not in plain.to_dict()  # what files written before the switch hold
    assert RefineSpec.from_dict(plain.to_dict()).shape_decoding is None
    from zoo.models.two_stage import TwoStageDetector

    with pytest.raises(ModelConfigError, match="shape_decoding"):
        TwoStageDetector(**{**TwoStageDetector._smoke_cfgs()[0], "test_cfg": dict(shape_decoding=dict(sd=2))})
    meta = {"preprocess": {"input_size": [64, 64], "channels": 3, "mean": [0, 0, 0], "std": [1, 1, 1],
                           "pad_value": 0}, "landmark_set": "isbi2015", "landmark_symbols": ALL,
            "refine": {**spec.to_dict(), "shape_decoding": {"threshold": "high"}}}
    with pytest.raises(MetadataError, match="shape_decoding"):
        check_meta(meta, "hostile.pth")


@pytest.fixture(scope="module")
def calibrated_two_stage(tmp_path_factory):
    """The two-stage tests' untrained checkpoint with shape decoding on, and a quality block whose shape model is
    the first test image's landmarks with a little noise: the random model's answers are all off that shape."""
    import torch
    from two_stage_helpers import _isbi_tree, _results, _two_stage_checkpoint

    from zoo.modelfile import safe_load
    from zoo.quality import QualityModel
    from zoo.quality.shape import ShapeModel

    folder = tmp_path_factory.mktemp("shape decoding")
    ckpt = _two_stage_checkpoint(folder, test_cfg=dict(min_score=0.0, shape_decoding=dict(threshold=3.0)))
    _isbi_tree(folder / "isbi data")
    truth = _results(151)["keypoints"].astype(float)
    rng = np.random.default_rng(0)
    symbols = list(safe_load(ckpt)["zoo_meta"]["landmark_symbols"])
    shape = ShapeModel.fit(truth[None] + rng.normal(0, 1.0, (30, *truth.shape)), symbols)
    data = safe_load(ckpt)
    data["zoo_meta"]["quality"] = QualityModel(shape, {}, None, {}).to_dict()
    torch.save(data, ckpt)
    return ckpt


def test_predictor_checkpoint_and_onnx_decode_the_same_and_the_switch_acts(calibrated_two_stage):
    from dataclasses import replace

    from zoo.exporters import FORMATS
    from zoo.inference import Predictor
    from zoo.registry import EXPORTERS

    image = calibrated_two_stage.parent / "isbi data" / "RawImage" / "Test1Data" / "151.jpg"
    torch_predictor = Predictor.from_path(calibrated_two_stage, orientation="fixed", scale="fixed")
    assert torch_predictor.refine.shape_decoding == ShapeDecoding(3.0, None)
    img = torch_predictor.load(image)
    on = torch_predictor.read(img)
    torch_predictor.refine = replace(torch_predictor.refine, shape_decoding=None)
    off = torch_predictor.read(img)
    assert np.abs(on.coords - off.coords).max() > 1.0  # some stray landmark was placed again
    np.testing.assert_array_equal(on.coarse, off.coarse)  # the global stage's answer is the global stage's
    out = calibrated_two_stage.with_name("decoding.onnx")
    result = EXPORTERS.build(dict(type=FORMATS["onnx"], threads=1)).export(calibrated_two_stage, out, check=False)
    exported = Predictor.from_path(result.path, orientation="fixed", scale="fixed")
    assert exported.refine.shape_decoding == ShapeDecoding(3.0, None)
    np.testing.assert_allclose(exported.read(img).coords, on.coords, atol=0.1)


def test_zoo_test_decodes_with_the_shape_model_of_the_model_file(calibrated_two_stage, tmp_path):
    """``zoo test`` puts the file's shape model in the detector and predicts what the predictor does."""
    import json

    from zoo.engine.entry import test as run_test
    from zoo.inference import Predictor

    predictions = tmp_path / "predictions.json"  # the checkpoint's own stored config, as `zoo test MODEL` runs it
    run_test(str(calibrated_two_stage), work_dir=str(tmp_path / "work"), predictions=str(predictions))
    tested = {Path(e["image"]).name: e["landmarks"] for e in json.loads(predictions.read_text())["predictions"]}
    predictor = Predictor.from_path(calibrated_two_stage, orientation="fixed", scale="fixed")
    image = calibrated_two_stage.parent / "isbi data" / "RawImage" / "Test1Data" / "151.jpg"
    predicted = predictor.predict(image)["landmarks"]
    for s, lm in predicted.items():
        assert abs(lm["x"] - tested["151.jpg"][s]["x"]) < 0.1 and abs(lm["y"] - tested["151.jpg"][s]["y"]) < 0.1
