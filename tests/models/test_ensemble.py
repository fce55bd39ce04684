"""EnsembleDetector and `zoo ensemble`: members' landmarks averaged, from a config or from checkpoints."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from two_stage_helpers import _batch, _two_stage_checkpoint  # the two-stage tests' tiny data and checkpoint

from zoo.engine.ensemble import EnsembleError, assemble_ensemble
from zoo.models.ensemble import EnsembleDetector
from zoo.registry import MODELS, ZooError, load_plugins

load_plugins()


@pytest.mark.parametrize("cfg", EnsembleDetector._smoke_cfgs(), ids=["single-stage members", "two-stage members"])
def test_ensemble_trains_its_members_together_and_predicts_their_mean(cfg):
    torch.manual_seed(0)
    model = MODELS.build(dict(type="EnsembleDetector", **cfg))
    data = model.data_preprocessor(_batch(train=True), True)
    model.train()
    losses = model(**data, mode="loss")
    total, _ = model.parse_losses(losses)
    assert torch.allclose(total, losses["loss"])  # the members' parts are logged, not summed twice
    assert torch.allclose(losses["loss"], losses["m0_total"] + losses["m1_total"])
    total.backward()
    for member in model.members:
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in member.parameters())

    model.eval()
    with torch.no_grad():
        coords, scores = model(data["inputs"], mode="tensor")
        each = [member(data["inputs"], mode="tensor") for member in model.members]
    torch.testing.assert_close(coords, (each[0][0] + each[1][0]) / 2)
    torch.testing.assert_close(scores, (each[0][1] + each[1][1]) / 2)

    test = model.data_preprocessor(_batch(train=False), False)
    preds = model(**test, mode="predict")
    alone = [member.predict(test["inputs"], model.data_preprocessor(_batch(train=False), False)["data_samples"])
             for member in model.members]
    for i, pred in enumerate(preds):
        np.testing.assert_allclose(pred.pred_keypoints, (alone[0][i].pred_keypoints + alone[1][i].pred_keypoints) / 2)
        assert pred.pred_member_keypoints.shape == (2, model.num_keypoints, 2)
        assert not np.allclose(pred.pred_member_keypoints[0], pred.pred_member_keypoints[1])


def test_members_must_agree_on_landmarks_and_preprocessing():
    tiny = EnsembleDetector._smoke_cfgs()[0]
    with pytest.raises(ZooError, match="at least two"):
        MODELS.build(dict(type="EnsembleDetector", landmark_set="isbi2015", members=tiny["members"][:1]))
    with pytest.raises(ZooError, match="same landmarks"):
        MODELS.build(dict(type="EnsembleDetector", landmark_set="isbi2015",
                          members=[tiny["members"][0], dict(tiny["members"][1], landmark_set="ceph31")]))
    other = dict(tiny["members"][1], data_preprocessor=dict(type="LandmarkDataPreprocessor", mean=[0.0] * 3,
                                                            std=[1.0] * 3, channels=3))
    with pytest.raises(ZooError, match="one preprocessing"):
        MODELS.build(dict(type="EnsembleDetector", landmark_set="isbi2015", members=[tiny["members"][0], other]))


@pytest.fixture(scope="module")
def two_members(tmp_path_factory):
    """Two two-stage checkpoints of one config with different weights."""
    folder = tmp_path_factory.mktemp("ensemble members")
    first = _two_stage_checkpoint(folder / "run 1", test_cfg=dict(min_score=0.0))  # random weights: refine all
    ckpt = torch.load(first, weights_only=True)
    g = torch.Generator().manual_seed(1)
    ckpt["state_dict"] = {k: v + 0.05 * torch.randn(v.shape, generator=g) if v.is_floating_point() else v
                          for k, v in ckpt["state_dict"].items()}
    second = folder / "run 2" / "two stage.pth"
    second.parent.mkdir()
    torch.save(ckpt, second)
    return first, second


def test_zoo_ensemble_writes_a_checkpoint_that_predicts_the_members_mean(two_members, tmp_path):
    from zoo.cli import main
    from zoo.inference import Predictor

    out = tmp_path / "an ensemble.pth"
    try:
        main(["ensemble", *map(str, two_members), "--out", str(out)])
    except SystemExit as exc:  # typer may end with an explicit exit; only success counts
        assert exc.code in (0, None)
    assert out.is_file()
    ensemble = Predictor.from_path(out)
    assert ensemble.meta["model_type"] == "EnsembleDetector" and len(ensemble.meta["members"]) == 2
    assert all(m["refine"] for m in ensemble.meta["members"])
    members = [Predictor.from_path(p) for p in two_members]
    image = sorted(two_members[0].parent.glob("isbi data/RawImage/Test1Data/*.jpg"))[0]
    img = ensemble.load(image)
    runs = [m.predict_array(img) for m in members]
    coords, scores = ensemble.predict_array(img)
    np.testing.assert_allclose(coords, (runs[0][0] + runs[1][0]) / 2, atol=1e-4)
    np.testing.assert_allclose(scores, (runs[0][1] + runs[1][1]) / 2, atol=1e-6)
    assert not np.allclose(runs[0][0], runs[1][0])  # the members differ, so the mean is a real average
    entry = ensemble.predict(image)
    assert set(entry["landmarks"]) == set(ensemble.symbols)


def test_ensembles_refuse_what_they_cannot_be(two_members, tmp_path):
    from zoo.exporters import ExportError
    from zoo.registry import EXPORTERS

    with pytest.raises(EnsembleError, match="at least two"):
        assemble_ensemble(two_members[:1], tmp_path / "one.pth")
    out = assemble_ensemble(two_members, tmp_path / "two.pth")
    with pytest.raises(EnsembleError, match="ensemble already"):
        assemble_ensemble([out, two_members[0]], tmp_path / "nested.pth")
    with pytest.raises(ExportError, match="export each member"):
        EXPORTERS.build(dict(type="OnnxExporter")).export(out, tmp_path / "e.onnx", check=False)
    ckpt = torch.load(two_members[1], weights_only=True)
    ckpt["zoo_meta"] = dict(ckpt["zoo_meta"], preprocess=dict(ckpt["zoo_meta"]["preprocess"], input_size=[96, 96]))
    odd = tmp_path / "other input.pth"
    torch.save(ckpt, odd)
    with pytest.raises(EnsembleError, match="share one input"):
        assemble_ensemble([two_members[0], odd], tmp_path / "mixed.pth")
    ckpt = torch.load(two_members[1], weights_only=True)
    ckpt["zoo_meta"] = dict(ckpt["zoo_meta"], refine=dict(ckpt["zoo_meta"]["refine"], min_score=0.5))
    torch.save(ckpt, odd)
    with pytest.raises(EnsembleError, match="would not predict what the member did"):
        assemble_ensemble([two_members[0], odd], tmp_path / "mixed.pth")


def test_members_saved_before_a_refine_option_existed_still_join(two_members, tmp_path):
    """A checkpoint written before ``context`` was part of the refine metadata predicts as one without context
    channels (``RefineSpec.from_dict``), so the ensemble takes it as it is."""
    ckpt = torch.load(two_members[1], weights_only=True)
    refine = dict(ckpt["zoo_meta"]["refine"])
    assert refine.pop("context") == []
    ckpt["zoo_meta"] = dict(ckpt["zoo_meta"], refine=refine)
    older = tmp_path / "older member.pth"
    torch.save(ckpt, older)
    out = assemble_ensemble([two_members[0], older], tmp_path / "with an older member.pth")
    members = torch.load(out, weights_only=True)["zoo_meta"]["members"]
    assert [m["refine"]["context"] for m in members] == [[], []]


def test_members_with_different_refine_windows_each_cut_their_own(tmp_path):
    """Each member keeps its own refine spec, so members may look through different windows (as the
    mixed-window CPU ensemble does); the ensemble's landmarks are still the mean of each member's own."""
    from zoo.inference import Predictor

    narrow = _two_stage_checkpoint(tmp_path / "narrow", test_cfg=dict(min_score=0.0))
    wide = _two_stage_checkpoint(tmp_path / "wide", test_cfg=dict(min_score=0.0), patch_scale=3.0)
    ensemble = Predictor.from_path(assemble_ensemble([narrow, wide], tmp_path / "mixed windows.pth"))
    assert [m["refine"]["patch_scale"] for m in ensemble.meta["members"]] == [2.0, 3.0]
    image = sorted(narrow.parent.glob("isbi data/RawImage/Test1Data/*.jpg"))[0]
    img = ensemble.load(image)
    runs = [Predictor.from_path(p).predict_array(img) for p in (narrow, wide)]
    assert not np.allclose(runs[0][0], runs[1][0])  # same weights, different windows: different answers
    coords, _ = ensemble.predict_array(img)
    np.testing.assert_allclose(coords, (runs[0][0] + runs[1][0]) / 2, atol=1e-4)
