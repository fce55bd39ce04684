"""Coarse-to-fine: a global detector at low resolution, then a refine detector on native-resolution patches.

One input pixel of a 256 px letterbox is ~0.9 mm on a 0.1 mm/px cephalogram, so a single network at that
size cannot reach ~1 mm however well it is trained. The global stage finds every landmark roughly; the
refine stage sees a small patch around each estimate at (near-)native spacing and places the landmark
with sub-pixel decoding. Both stages are ordinary ``LandmarkDetector`` s built from the registries, so any
backbone, head, decoder or loss -- a plugin's included -- can serve either.

Training runs both stages on every batch: the global stage on the letterboxed image, the refine stage on
patches that ``RefinePatches`` cut around the *jittered* truth, so it learns to correct real coarse errors.
Inference crops around the global stage's estimates with the same function (``zoo.models.refinement``),
in ``predict`` here and in the ``Predictor`` that serves exported graphs.
"""
from __future__ import annotations

import numpy as np
import torch
from mmengine.model import BaseModel

from zoo.registry import MODELS
from zoo.registry._errors import suggest
from zoo.structures import apply_warp, resample_warp, to_original

from .data_preprocessor import normalisation
from .detector import LandmarkSetMixin
from .errors import ModelConfigError
from .refinement import RefineSpec, RefineViewError, parse_views, refine_landmarks
from .shape_decoding import ShapeDecoding, reconsider

TEST_CFG_KEYS = ("iters", "min_score", "views", "aggregate", "read_mm_per_pixel", "shape_decoding", "shape_model")


def _stage(cfg, landmark_set: str, what: str) -> dict:
    if isinstance(cfg, torch.nn.Module):
        return cfg
    if not isinstance(cfg, dict):
        raise ModelConfigError(f"TwoStageDetector: `{what}` must be a detector config dict, got {cfg!r}.")
    cfg = dict(cfg)
    cfg.setdefault("type", "LandmarkDetector")
    if cfg.setdefault("landmark_set", landmark_set) != landmark_set:
        raise ModelConfigError(f"TwoStageDetector: `{what}` has landmark_set {cfg['landmark_set']!r}, "
                               f"the detector {landmark_set!r}; both stages find the same landmarks.")
    return cfg


def _concat(samples, key: str, dtype) -> np.ndarray:
    missing = [i for i, s in enumerate(samples) if s.get(key) is None]
    if missing:
        raise ModelConfigError(
            f"TwoStageDetector: training samples carry no '{key}'; the train pipeline needs a RefinePatches "
            f"step right after LoadCephalogram (before any resize), which cuts the refine stage's patches.")
    return np.concatenate([np.asarray(s.get(key), dtype) for s in samples])


@MODELS.register_module()
class TwoStageDetector(LandmarkSetMixin, BaseModel):
    """Global ``LandmarkDetector`` on the letterboxed image + refine ``LandmarkDetector`` on patches.

    Args:
        global_stage: detector config (``type`` defaults to ``LandmarkDetector``) run on the letterboxed
            input; its decoded landmarks are the patch centres.
        refine_stage: detector config run on ``patch_size`` px patches; its K heatmaps are read at the
            patch's own landmark.
        landmark_set: the set both stages find.
        patch_size, patch_scale: patch side (px) and original px per patch px; the training pipeline's
            ``RefinePatches`` must cut the same (checked when training starts).
        patch_context: sampling-step multipliers of the patches' context channels, e.g. ``(2, 4)``: channel 0
            is the gray patch at ``patch_scale``, the others the same centre sampled 2 and 4 times coarser
            (``zoo.models.patches``), so the refine stage sees a wider window at the same cost. The data
            preprocessor's ``channels`` must be ``1 + len(patch_context)``, and ``RefinePatches`` given the same
            ``context``. Empty: the image's own channels.
        refine_weight: weight of the refine stage's loss in the total.
        test_cfg: ``dict(iters=1, min_score=0.05, views=None)``: refine passes, the peak below which a
            landmark keeps its coarse position, and the refine stage's test-time views (a list of
            ``dict(shift=(dx, dy), angle=deg, scale=s)``, shift in patch px; ``zoo.models.refinement``);
            ``read_mm_per_pixel``: the pixel size the refine stage reads a sample of known ``spacing`` at (the
            model's training one, which ``zoo test`` sets from the model file, #39), None: as it lies.
            ``shape_decoding``: landmarks off the anatomy's shape are refined again from where the others put them
            (``zoo.models.shape_decoding``; None: off, True or ``dict(threshold=4.0)``: on); it reads the model
            file's shape model, which ``zoo test`` puts in ``shape_model`` (a model never calibrated has none).
        data_preprocessor: normalises both the images and the patches (one mean/std for both stages).
    """

    def __init__(self, global_stage: dict, refine_stage: dict, landmark_set: str, patch_size: int = 96,
                 patch_scale: float = 2.0, refine_weight: float = 1.0, test_cfg: dict | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None, patch_context=()):
        if data_preprocessor is None:
            data_preprocessor = dict(type="LandmarkDataPreprocessor")
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if int(patch_size) < 16 or float(patch_scale) <= 0:
            raise ModelConfigError(f"TwoStageDetector: patch_size must be >= 16 and patch_scale > 0, "
                                   f"got {patch_size!r} and {patch_scale!r}.")
        self.global_stage = MODELS.build(_stage(global_stage, landmark_set, "global_stage"))
        self.refine_stage = MODELS.build(_stage(refine_stage, landmark_set, "refine_stage"))
        if self.refine_stage.head.output_kind != "heatmap":
            raise ModelConfigError("TwoStageDetector: the refine stage needs a heatmap head (it reads channel k "
                                   "of patch k); a regression head has no spatial map to read.")
        self.landmark_set = self.global_stage.landmark_set
        self.landmarks = self.global_stage.landmarks
        self.patch_size, self.patch_scale = int(patch_size), float(patch_scale)
        self.patch_context = tuple(float(c) for c in patch_context)
        channels = normalisation(self.data_preprocessor)[0]
        if self.patch_context and min(self.patch_context) <= 0:
            raise ModelConfigError(f"TwoStageDetector: patch_context={patch_context!r}: the multipliers must be > 0 "
                                   f"(each is how many times coarser than patch_scale its channel samples).")
        if self.patch_context and channels != 1 + len(self.patch_context):
            raise ModelConfigError(
                f"TwoStageDetector: patch_context={patch_context!r} makes patches of {1 + len(self.patch_context)} "
                f"channels (the gray patch + one per multiplier), but the data preprocessor gives the networks "
                f"{channels}; set its `channels` to {1 + len(self.patch_context)}.")
        self.refine_weight = float(refine_weight)
        self.test_cfg = {"iters": 1, "min_score": 0.05, "views": None, "read_mm_per_pixel": None, **(test_cfg or {})}
        unknown = sorted(set(self.test_cfg) - set(TEST_CFG_KEYS))
        if unknown:
            hints = [f"{k!r} (did you mean {close[0]!r}?)" if (close := suggest(k, list(TEST_CFG_KEYS), n=1))
                     else repr(k) for k in unknown]
            stage = " (flip and multi-scale testing of the global stage go in global_stage.test_cfg)" \
                if {"flip_test", "scales"} & set(unknown) else ""
            raise ModelConfigError(f"TwoStageDetector: unknown test_cfg key(s) {', '.join(hints)}; "
                                   f"it takes {', '.join(TEST_CFG_KEYS)}{stage}.")
        try:
            parse_views(self.test_cfg["views"])  # a bad view fails when the model is built, not mid-test
        except RefineViewError as err:
            raise ModelConfigError(f"TwoStageDetector: test_cfg.views: {err}") from None
        try:
            self.refine_spec()  # the aggregate and the shape-decoding rule, checked when the model is built
        except RefineViewError as err:
            raise ModelConfigError(f"TwoStageDetector: test_cfg.{err}") from None
        self.shape_model = None
        if self.test_cfg.get("shape_model"):
            from zoo.quality.shape import ShapeModel, ShapeModelError

            try:
                self.shape_model = ShapeModel.from_dict(dict(self.test_cfg["shape_model"]))
            except ShapeModelError as err:
                raise ModelConfigError(f"TwoStageDetector: test_cfg.shape_model: {err}") from None

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_two_stage.py``)."""
        tiny = dict(backbone=dict(type="HRNetBackbone", arch="hrnet_w18_small"), neck=dict(type="HRNetV2Neck"),
                    decoder=dict(type="DarkDecoder"), loss=dict(type="HeatmapMSELoss"))
        return [dict(landmark_set="isbi2015", patch_size=32, patch_scale=2.0,
                     global_stage=dict(tiny, head=dict(type="HeatmapHead", output_stride=4)),
                     refine_stage=dict(tiny, head=dict(type="HeatmapHead", output_stride=2, channels=8)))]

    # -- what the metadata, the exporters and the predictor read ---------------------------------------
    @property
    def decoder(self):
        return self.refine_stage.decoder

    def refine_spec(self) -> RefineSpec:
        channels, mean, std = normalisation(self.data_preprocessor)
        return RefineSpec(patch_size=self.patch_size, patch_scale=self.patch_scale, iters=int(self.test_cfg["iters"]),
                          min_score=float(self.test_cfg["min_score"]), channels=channels,
                          mean=mean, std=std, views=parse_views(self.test_cfg["views"]), context=self.patch_context,
                          shape_decoding=ShapeDecoding.parse(self.test_cfg.get("shape_decoding")),
                          aggregate=str(self.test_cfg.get("aggregate", "mean")))

    def refine_tensor(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The refine graph: normalised patches (M, C, P, P), K per image in landmark order (M = n x K) ->
        (coords (M, 2) patch px, scores (M,)), patch m read on heatmap ``m % K`` only.

        Picking each patch's own heatmap *before* decoding keeps the sub-pixel decoder at K maps per image
        instead of K x K; the pick is a multiply by an identity mask and a sum, which every exporter takes.
        (The refine stage's own test-time augmentation is not applied here.)
        """
        return self.refine_graph()(patches)

    def refine_graph(self) -> RefineGraph:
        """The refine graph as a module of its own (what the exporters and the benchmark export)."""
        return RefineGraph(self.refine_stage, self.num_keypoints)

    # -- mmengine's three modes ------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = "tensor"):
        if mode == "tensor":  # the global graph: coarse landmarks in input px (what the exporters trace)
            return self.global_stage.decode(inputs)
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        raise ModelConfigError(f"TwoStageDetector.forward: mode must be 'tensor', 'loss' or 'predict', got {mode!r}.")

    def _normalise_patches(self, patches: np.ndarray, device) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(patches.transpose(0, 3, 1, 2))).to(device)
        return self.data_preprocessor(dict(inputs=x), training=False)["inputs"]

    def _check_patch_cut(self, data_samples) -> None:
        """Refuse to train on patches cut otherwise than this model cuts them when it serves:
        ``RefinePatches`` stamps the sampling step (``patch_scale``) and the context channels it cut; its
        ``patch_size`` shows in the patches' shape."""
        served = (("patch_scale", "patch_scale", self.patch_scale),
                  ("patch_context", "context", self.patch_context))
        for key, option, mine in served:
            cut = {tuple(v) if isinstance(v, (list, tuple)) else v
                   for v in (s.metainfo[key] for s in data_samples if key in s.metainfo)} - {mine}
            if cut:
                raise ModelConfigError(f"TwoStageDetector: RefinePatches cut patches with "
                                       f"{option}={sorted(cut)[0]}, the model's {key} is {mine}; "
                                       f"give RefinePatches the same `{option}`.")

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        """``dict(loss=coarse + refine_weight * fine, coarse=..., fine=...)`` (parts logged, not summed twice)."""
        coarse = self.global_stage.loss(inputs, data_samples)["loss"]
        patches = _concat(data_samples, "patches", np.uint8)
        if patches.shape[1] != self.patch_size:
            raise ModelConfigError(f"TwoStageDetector: RefinePatches cut {patches.shape[1]} px patches, the model "
                                   f"expects patch_size={self.patch_size}; set both from one variable.")
        self._check_patch_cut(data_samples)
        x = self._normalise_patches(patches, inputs.device)
        keypoints = torch.from_numpy(_concat(data_samples, "patch_keypoints", np.float32)).to(inputs.device)
        visible = torch.from_numpy(_concat(data_samples, "patch_visible", np.float32)).to(inputs.device)
        refine = self.refine_stage
        output = refine.forward_head(x)
        targets = refine.head.encode(keypoints, visible, tuple(x.shape[-2:]), heatmap_hw=tuple(output.shape[-2:]))
        fine = refine.loss_from_output(output, targets)["loss"]
        return dict(loss=coarse + self.refine_weight * fine, coarse=coarse.detach(), fine=fine.detach())

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples=None) -> list:
        """Coarse landmarks from the global stage, refined on patches of each sample's ``refine_img``.

        Each sample gets ``pred_keypoints`` (original px), ``pred_scores``, ``pred_input_keypoints`` and,
        for analysis, ``pred_coarse_keypoints`` and ``pred_refined`` (which landmarks the refine stage moved).
        """
        if data_samples is None or any(s.metainfo.get("refine_img") is None for s in data_samples):
            raise ModelConfigError(
                "TwoStageDetector.predict needs each sample's full-resolution image: put "
                "dict(type='RefinePatches', test_mode=True, ...) right after LoadCephalogram in the test "
                "pipeline (the Predictor does this by itself for `zoo predict`).")
        coords, scores = self.global_stage.decode(inputs)
        coords_np = coords.float().cpu().numpy().astype(np.float64)
        scores_np = scores.float().cpu().numpy().astype(np.float64)
        warps = [np.asarray(s.metainfo.get("warp", np.eye(3)), np.float64) for s in data_samples]
        coarse = [to_original(xy, w) for xy, w in zip(coords_np, warps)]
        device = inputs.device

        def run(batch: np.ndarray):
            xy, sc = self.refine_tensor(torch.from_numpy(batch).to(device))
            return xy.float().cpu().numpy(), sc.float().cpu().numpy()

        # each sample read at the model's pixel size when both are known: patches cut from the frame of the image
        # resized by spacing / read_mm_per_pixel (as the Predictor reads it), the answers mapped back
        resizes = [resample_warp(self._read_factor(s.metainfo.get("spacing"))) for s in data_samples]
        spec = self.refine_spec()
        images = [s.metainfo["refine_img"] for s in data_samples]
        src_warps = [np.asarray(s.metainfo["refine_warp"], np.float64) @ np.linalg.inv(r)
                     for s, r in zip(data_samples, resizes)]
        results = refine_landmarks(images, src_warps, [apply_warp(c, r) for c, r in zip(coarse, resizes)],
                                   list(scores_np), run, spec)
        if spec.shape_decoding is not None and self.shape_model is not None:
            results = [reconsider(first, self.shape_model, self.landmark_symbols, spec.shape_decoding,
                                  lambda centres, i=i: refine_landmarks([images[i]], [src_warps[i]], [centres],
                                                                        [scores_np[i]], run, spec)[0])[0]
                       for i, first in enumerate(results)]
        for sample, warp, first, resize, (xy, conf, moved, _) in zip(data_samples, warps, coarse, resizes, results):
            xy = to_original(xy, resize)
            sample.pred_coarse_keypoints = first
            sample.pred_keypoints = xy
            sample.pred_scores = conf.astype(np.float32)
            sample.pred_input_keypoints = apply_warp(xy, warp)
            sample.pred_refined = moved
        return list(data_samples)


    def _read_factor(self, spacing) -> float:
        """Model px per image px for a sample of ``spacing`` mm/px (1 when either pixel size is unknown)."""
        read_mm = self.test_cfg.get("read_mm_per_pixel")
        try:
            spacing = float(spacing)
        except (TypeError, ValueError):
            return 1.0
        return spacing / float(read_mm) if read_mm and np.isfinite(spacing) and spacing > 0 else 1.0


class RefineGraph(torch.nn.Module):
    """The refine stage's features, its own-landmark heatmap pick and decoder, as one exportable module.

    Its parts keep the detector's attribute names (``backbone``, ``neck``, ``head``, ``decoder``), so exported
    node names say which part a node belongs to, as the int8 exporter needs (it keeps the decoder in float).
    """

    def __init__(self, stage, num_keypoints: int):
        super().__init__()
        self.backbone, self.neck, self.head, self.decoder = stage.backbone, stage.neck, stage.head, stage.decoder
        self.register_buffer("own", torch.eye(num_keypoints)[None, :, :, None, None], persistent=False)

    def forward(self, patches: torch.Tensor, mode: str = "tensor") -> tuple[torch.Tensor, torch.Tensor]:
        maps = self.head(self.neck(self.backbone(patches)))
        m, k, h, w = maps.shape
        own = (maps.reshape(-1, k, k, h, w) * self.own.to(maps.device, maps.dtype)).sum(dim=2)  # (n, K, h, w)
        coords, scores = self.decoder(own, patches.shape[-2:])
        return coords.reshape(-1, 2), scores.reshape(-1)
