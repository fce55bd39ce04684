"""Any backbone in every detector: each config in ``configs/`` with each kind of backbone, generated as timm
generates its per-model tests.

The kinds: the built-in families (ResNet, HRNet), a third-party plugin's (the example plugin in
``plugins/examples/zoo-example-plugin``) and a timm model by name (``TimmBackbone``). The swap is what a
user does to a loaded config: ``cfg.model.backbone = dict(type=...)`` (each stage's backbone for a two-stage
model, each member's for an ensemble), a replacement, so nothing of the recipe's HRNet may reach the new
backbone, and the neck and head must size themselves from whatever it returns.

- every config x every backbone builds and runs its exported graph (``mode='tensor'``, and a two-stage model's
  refine graph);
- one config per kind of detector x every backbone goes the whole way: two training iterations on synthetic
  cephalograms, saved as ``zoo train`` saves, exported to ONNX (self-checked against eager on images) and
  predicting from the ONNX file; an ensemble, which no single graph holds, predicts from its checkpoint.

Tiny sizes keep it cheap: 64 px inputs, 32 px refine patches, the smallest variant of each backbone.
"""
from __future__ import annotations

import copy
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

from zoo.registry import BACKBONES, MODELS, TRANSFORMS, load_plugins, register_plugin

load_plugins()

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in (ROOT / "configs").rglob("*.py") if "_base_" not in p.parts)
EXAMPLE_PLUGIN = ROOT / "plugins" / "examples" / "zoo-example-plugin"
SIZE = 64  # input side, px
PATCH = 32  # refine patch side, px
SWAPS = {
    "resnet": dict(type="ResNetBackbone", depth=18),
    "hrnet": dict(type="HRNetBackbone", arch="hrnet_w18_small"),
    "example-plugin": dict(type="TinyConvBackbone", widths=[8, 16, 32, 64]),
    "timm": dict(type="TimmBackbone", model_name="mobilenetv4_conv_small"),
}


@pytest.fixture(scope="module", autouse=True)
def _example_plugin_and_one_thread(one_torch_thread):
    """The example plugin registered from its source folder, through the public ``register_plugin`` (its pip
    round trip is ``tests/registry/test_plugins.py``'s); one torch thread on the shared cores."""
    if "TinyConvBackbone" not in BACKBONES:
        with pytest.MonkeyPatch.context() as patch:
            patch.syspath_prepend(str(EXAMPLE_PLUGIN))
            import zoo_example_plugin

        record = register_plugin(zoo_example_plugin, "example")
        assert record.status == "loaded", record.error
    yield


@cache
def _loaded(path: Path):
    from mmengine.config import Config

    return Config.fromfile(str(path))


def _kind(model: dict) -> str:
    """Configs are grouped by what the backbone is plugged into: the detector type and, for the plain
    detector, its head."""
    if model["type"] == "LandmarkDetector":
        return f"{model['type']}-{model['head']['type']}"
    return model["type"]


def _swap_backbone(model, backbone: dict) -> None:
    """Replace (never merge) the backbone of every detector in ``model``."""
    if "members" in model:
        for member in model["members"]:
            _swap_backbone(member, backbone)
    elif "global_stage" in model:
        for stage in ("global_stage", "refine_stage"):
            model[stage]["backbone"] = copy.deepcopy(backbone)
    else:
        model["backbone"] = copy.deepcopy(backbone)


def _swapped(path: Path, backbone: dict):
    """The recipe's config with its backbone replaced, at tiny sizes, reading no dataset."""
    cfg = copy.deepcopy(_loaded(path))
    _swap_backbone(cfg.model, backbone)
    two_stage = cfg.model["type"] == "TwoStageDetector"
    if two_stage:  # the refine stage's test-time views multiply its work and are not about backbones
        cfg.model.patch_size = PATCH
        cfg.model.test_cfg = dict(cfg.model.get("test_cfg") or {}, views=None)
    cfg.test_pipeline = [
        dict(type="LoadCephalogram", channels=3, keep_gray=two_stage),
        *([dict(type="RefinePatches", patch_size=PATCH, patch_scale=cfg.model.patch_scale, test_mode=True)]
          if two_stage else []),
        dict(type="LetterboxResize", size=(SIZE, SIZE), pad_value=0),
        dict(type="PackLandmarkInputs"),
    ]
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        if cfg.get(loader):  # the export checks on the given images, never on a dataset this machine may hold
            cfg[loader].dataset.data_root = "no data here"
            cfg[loader].dataset.pipeline = cfg.test_pipeline
    return cfg


GROUPS: dict[str, list[Path]] = {}
for _path in CONFIGS:
    GROUPS.setdefault(_kind(_loaded(_path).model), []).append(_path)


def _ids(paths):
    return [p.relative_to(ROOT / "configs").with_suffix("").as_posix() for p in paths]


def test_every_kind_of_detector_is_covered():
    assert set(GROUPS) == {"LandmarkDetector-HeatmapHead", "LandmarkDetector-RegressionHead",
                           "HRNet31HeatmapDetector", "TwoStageDetector"}, sorted(GROUPS)


@pytest.mark.parametrize("backbone", list(SWAPS))
@pytest.mark.parametrize("path", CONFIGS, ids=_ids(CONFIGS))
def test_every_config_builds_and_runs_with_the_backbone(path, backbone):
    cfg = _swapped(path, SWAPS[backbone])
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    assert {type(d.backbone).__name__ for d in _detectors(model)} == {SWAPS[backbone]["type"]}
    k = model.num_keypoints
    with torch.no_grad():
        coords, scores = model(torch.randn(1, 3, SIZE, SIZE), mode="tensor")
        assert coords.shape == (1, k, 2) and scores.shape == (1, k) and torch.isfinite(coords).all()
        if hasattr(model, "refine_tensor"):
            xy, conf = model.refine_tensor(torch.randn(k, 3, PATCH, PATCH))
            assert xy.shape == (k, 2) and conf.shape == (k,) and torch.isfinite(xy).all()


# --- the whole way, one config per kind of detector ------------------------------------------------------


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    """A synthetic cephalogram as an image file: what the export's self-check and the predictor read."""
    import cv2

    from zoo.data.synthetic import make_sample

    folder = tmp_path_factory.mktemp("contract images")
    paths = []
    for i in range(1):
        path = folder / f"synthetic {i}.png"
        cv2.imwrite(str(path), make_sample(7, i, size=(128, 160)).image)
        paths.append(path)
    return paths


def _training_batch(model, n: int = 2) -> dict:
    """``n`` synthetic cephalograms through the steps that make a training batch for ``model``: the skull's
    own landmark where the model's set shares its symbol, another of its points otherwise (two iterations need
    points, not anatomy)."""
    from mmengine.dataset import pseudo_collate

    from zoo.data.synthetic import SYMBOLS_31, make_sample

    symbols = model.landmark_symbols
    index = [SYMBOLS_31.index(s) if s in SYMBOLS_31 else i % len(SYMBOLS_31) for i, s in enumerate(symbols)]
    steps = [dict(type="LetterboxResize", size=(SIZE, SIZE)), dict(type="PackLandmarkInputs")]
    if hasattr(model, "patch_size"):
        steps.insert(0, dict(type="RefinePatches", patch_size=model.patch_size, patch_scale=model.patch_scale,
                             jitter=2.0))
    pipeline = [TRANSFORMS.build(step) for step in steps]
    samples = []
    for i in range(n):
        synth = make_sample(3, i, size=(128, 160))
        points = synth.keypoints[index].astype(np.float32)
        visible = np.ones(len(symbols), np.float32)
        results = dict(img=synth.image[:, :, None], img_shape=synth.image.shape, ori_shape=synth.image.shape,
                       keypoints=points.copy(), ori_keypoints=points.copy(), keypoints_visible=visible.copy(),
                       ori_keypoints_visible=visible.copy(), warp=np.eye(3), spacing=synth.spacing,
                       landmark_set=model.landmark_set, channels=3, img_path=f"synthetic {i}")
        for step in pipeline:
            results = step(results)
        samples.append(results)
    return pseudo_collate(samples)


def _detectors(model) -> list:
    """The detectors whose backbones were swapped: the model, a two-stage model's stages, an ensemble's
    members."""
    if hasattr(model, "members"):
        return list(model.members)
    return [model.global_stage, model.refine_stage] if hasattr(model, "global_stage") else [model]


def _train_two_iterations(model) -> None:
    """Two of mmengine's training steps (what ``zoo train``'s loop runs); each swapped backbone must learn."""
    from mmengine.optim import OptimWrapper

    before = [[p.detach().clone() for p in d.backbone.parameters()] for d in _detectors(model)]
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    model.train()
    batch = _training_batch(model)
    for _ in range(2):
        log = model.train_step(batch, optim)
        assert math.isfinite(float(torch.as_tensor(log["loss"]).detach()))
    model.eval()
    for detector, old in zip(_detectors(model), before):
        assert any(not torch.equal(p, q) for p, q in zip(detector.backbone.parameters(), old)), \
            f"{type(detector.backbone).__name__} did not learn"


def _save_trained(cfg, folder: Path, untrained_checkpoint):
    """The trained model saved as ``zoo train`` saves it: the metadata comes from the shared fixture that
    writes an untrained checkpoint of the config; the weights are this model's after two iterations."""
    ckpt = untrained_checkpoint(cfg.pretty_text, folder / "swapped_config.py", folder / "swapped_model.pth")
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.load_state_dict(saved["state_dict"])
    _train_two_iterations(model)
    torch.save({**saved, "state_dict": model.state_dict()}, ckpt)
    return ckpt, model


def _predicts(path: Path, image: Path, symbols: list[str]) -> None:
    from zoo.inference import Predictor

    prediction = Predictor.from_path(path, threads=1, orientation="fixed").predict(image)
    assert list(prediction["landmarks"]) == symbols
    xy = np.array([[p["x"], p["y"]] for p in prediction["landmarks"].values()])
    assert np.isfinite(xy).all() and (np.abs(xy) < 1000).all()


REPRESENTATIVES = [paths[0] for _, paths in sorted(GROUPS.items())]


@pytest.mark.parametrize("backbone", list(SWAPS))
@pytest.mark.parametrize("path", REPRESENTATIVES, ids=[_kind(_loaded(p).model) for p in REPRESENTATIVES])
def test_trains_exports_and_predicts(path, backbone, tmp_path, untrained_checkpoint, images):
    from zoo.registry import EXPORTERS

    cfg = _swapped(path, SWAPS[backbone])
    ckpt, model = _save_trained(cfg, tmp_path, untrained_checkpoint)
    result = EXPORTERS.build(dict(type="OnnxExporter", check_images=len(images), threads=1)).export(
        ckpt, images=images)
    assert result.report.passed and result.report.images == len(images), result.report.summary()
    assert result.path.is_file()
    _predicts(result.path, images[0], model.landmark_symbols)


@pytest.mark.parametrize("backbone", list(SWAPS))
def test_an_ensemble_of_swapped_detectors_trains_and_predicts(backbone, tmp_path, untrained_checkpoint,
                                                               images):
    from zoo.exporters.errors import ExportError
    from zoo.registry import EXPORTERS

    heatmap = _swapped(GROUPS["LandmarkDetector-HeatmapHead"][0], SWAPS[backbone])
    regression = _swapped(GROUPS["LandmarkDetector-RegressionHead"][0], SWAPS[backbone])
    cfg = heatmap
    cfg.model = dict(type="EnsembleDetector", landmark_set=heatmap.model.landmark_set,
                     data_preprocessor=heatmap.model.data_preprocessor,
                     members=[heatmap.model, dict(regression.model, landmark_set=heatmap.model.landmark_set)])
    ckpt, model = _save_trained(cfg, tmp_path, untrained_checkpoint)
    assert {type(d.backbone).__name__ for d in _detectors(model)} == {SWAPS[backbone]["type"]}
    with pytest.raises(ExportError, match="ensemble"):
        EXPORTERS.build(dict(type="OnnxExporter")).export(ckpt, images=images)
    _predicts(ckpt, images[0], model.landmark_symbols)
