"""Model files of format <= 2 whose 31-landmark detector relied on defaults merged in by code still rebuild
the network they were trained as, once ``upgrade_model_config`` has written its parts out.

``data/hrnet31_format2.json`` was written by the detector that merged (state-dict keys and shapes, and the
settings of its backbone, head, decoder and loss), so these tests compare with what that code built, not with
a second copy of the migration's own rules.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch

from zoo.errors import ModelConfigError
from zoo.modelfile.migrations import upgrade_model_config
from zoo.registry import MODELS, load_plugins

load_plugins()

DATA = Path(__file__).parent / "data" / "hrnet31_format2.json"
OLD = json.loads(DATA.read_text(encoding="utf-8"))["cases"]
ROOT = Path(__file__).resolve().parents[2]


def _settings(model) -> dict:
    """What the old file recorded of each part: its plain attributes, as text."""
    out = {}
    for name in ("backbone", "head", "decoder", "loss_module"):
        module = getattr(model, name)
        out[name] = {k: repr(v) for k, v in vars(module).items()
                     if not k.startswith("_") and k != "training"
                     and isinstance(v, (int, float, str, bool, list))}
    return out


@pytest.mark.parametrize("case", sorted(OLD))
def test_old_config_upgrades_and_builds_what_the_old_detector_built(case):
    old = OLD[case]
    upgraded = upgrade_model_config(old["config"], 2)
    assert not {"arch", "input_size", "heatmap_size", "sigma", "head_channels"} & set(upgraded)
    torch.manual_seed(0)
    model = MODELS.build(upgraded)
    assert type(model).__name__ == "HRNet31HeatmapDetector" and model.landmark_set == "ceph31"
    assert _settings(model) == old["modules"]
    state = {k: list(v.shape) for k, v in model.state_dict().items()}
    reference = OLD["keywords"]["state_dict"]
    if "state_dict" in old:
        assert state == old["state_dict"]
    else:  # the same architecture with other widths: the same tensors
        assert sorted(state) == sorted(reference)


def test_a_bare_hrnet_backbone_gets_exactly_the_old_defaults():
    """The case that fails without the migration: parts named by type only, the rest left to the detector."""
    bare = dict(type="HRNet31HeatmapDetector", backbone=dict(type="HRNetBackbone"))
    upgraded = upgrade_model_config(bare, 2)
    assert upgraded == dict(
        type="HRNet31HeatmapDetector",
        backbone=dict(type="HRNetBackbone", arch="hrnet_w32", in_channels=3, pretrained=False),
        neck=dict(type="HRNetV2Neck"),
        head=dict(type="HeatmapHead", output_stride=2, sigma=1.5, channels=64),
        decoder=dict(type="DarkDecoder", blur_sigma=1.5),
        loss=dict(type="CombinedHeatmapCoordLoss", heatmap_loss=dict(type="HeatmapMSELoss"),
                  coord_loss=dict(type="L1CoordLoss"), coord_weight=5.0, focal_weight=0.1,
                  soft_argmax_beta=20.0),
    )
    with pytest.raises(ModelConfigError, match="no longer takes 'arch'"):  # what the keyword form meets now
        MODELS.build(dict(type="HRNet31HeatmapDetector", arch="hrnet_w18_small"))


def test_the_recipe_config_equals_its_upgraded_old_form():
    """The base config now says what the detector's defaults said: the old recipe (keywords over the defaults)
    upgrades to the new recipe's model, part for part."""
    from mmengine.config import Config

    new = Config.fromfile(str(ROOT / "configs" / "_base_" / "models" / "hrnet31_heatmap.py")).model.to_dict()
    old = dict(type="HRNet31HeatmapDetector", arch="hrnet_w32", landmark_set="ceph31", input_size=768,
               heatmap_size=384, sigma=1.5, coord_weight=5.0, focal_weight=0.1,
               data_preprocessor=new["data_preprocessor"])
    assert upgrade_model_config(old, 2) == new


def test_stages_and_members_are_upgraded_and_nothing_else_changes():
    old_stage = dict(type="HRNet31HeatmapDetector", arch="hrnet_w32", input_size=512, heatmap_size=256,
                     sigma=1.5)
    refine = dict(backbone=dict(type="HRNetBackbone", arch="hrnet_w18"), neck=dict(type="HRNetV2Neck"),
                  head=dict(type="HeatmapHead", output_stride=2), decoder=dict(type="DarkDecoder"))
    two_stage = dict(type="TwoStageDetector", landmark_set="ceph31", global_stage=old_stage,
                     refine_stage=refine)
    ensemble = dict(type="EnsembleDetector", landmark_set="ceph31", members=[two_stage, old_stage])
    before = json.dumps(ensemble, sort_keys=True)
    upgraded = upgrade_model_config(ensemble, 2)
    assert json.dumps(ensemble, sort_keys=True) == before  # the caller's dict is not touched
    for stage in (upgraded["members"][0]["global_stage"], upgraded["members"][1]):
        assert stage["head"] == dict(type="HeatmapHead", output_stride=2, sigma=1.5, channels=64)
        assert stage["backbone"]["arch"] == "hrnet_w32" and "input_size" not in stage
        assert "landmark_set" not in stage  # a two-stage model still gives its stages its own
    assert upgraded["members"][0]["refine_stage"] == refine
    assert upgrade_model_config(ensemble, 3) == ensemble  # format 3 names its parts: nothing is filled in
    timm = dict(type="LandmarkDetector", backbone=dict(type="TimmBackbone", model_name="convnext_atto"))
    assert upgrade_model_config(timm, 2) == timm


@pytest.mark.parametrize("bad", [dict(input_size=768, heatmap_size=300), dict(input_size="768"),
                                 dict(heatmap_size=0), dict(backbone=["HRNetBackbone"])])
def test_values_the_old_detector_refused_are_refused_clearly(bad):
    with pytest.raises(ModelConfigError):
        upgrade_model_config(dict(type="HRNet31HeatmapDetector", **bad), 2)


def test_the_migration_imports_nothing_of_the_zoo_but_its_errors():
    """It runs on a file's data before anything is built, inside the model-file package: a component import
    here would tie reading old files to today's components (and make an import cycle)."""
    tree = ast.parse((ROOT / "zoo" / "modelfile" / "migrations.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert {m for m in imported if m.split(".")[0] == "zoo"} == {"zoo.errors"}


def test_a_format2_model_file_opens_and_predicts_as_it_was_saved(tmp_path):
    """End to end through the model-file reader: a checkpoint whose stored config still holds the keywords (format
    2) opens with its weights in place and predicts what the network it was saved from predicts."""
    import numpy as np
    from mmengine.config import Config

    from zoo.inference import Predictor
    from zoo.modelfile.meta import build_zoo_meta

    old = dict(OLD["keywords"]["config"],
               data_preprocessor=dict(type="LandmarkDataPreprocessor", mean=[127.0], std=[64.0], channels=1))
    pipeline = [dict(type="LoadCephalogram", channels=1), dict(type="LetterboxResize", size=(64, 64)),
                dict(type="PackLandmarkInputs")]
    cfg = Config(dict(model=upgrade_model_config(old, 2), test_pipeline=pipeline))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    meta = build_zoo_meta(cfg, model)
    meta["config"]["model"], meta["format"] = old, 2  # as the old zoo wrote it
    path = tmp_path / "old format 2.pth"
    torch.save({"state_dict": model.state_dict(), "zoo_meta": meta}, path)
    image = np.random.default_rng(0).integers(0, 255, (80, 70), dtype=np.uint8)
    predictor = Predictor.from_path(path, orientation="fixed")
    assert predictor.backend.model.backbone.arch == "hrnet_w18_small"
    direct = predictor.predict_array(image)[0]
    with torch.inference_mode():
        same = Predictor(type(predictor.backend)(model), meta, orientation="fixed").predict_array(image)[0]
    np.testing.assert_allclose(direct, same)
