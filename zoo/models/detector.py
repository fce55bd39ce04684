"""The one detector class: backbone -> neck -> head, with a loss for training and a decoder for use.

Each part is built from its own registry, and the neck and head read their input widths and strides
from the part before them, so swapping a backbone is a one-line config change. The decoder is part of
the module, so the graph that ``mode='tensor'`` traces (and the exporters export) already ends in
input-pixel coordinates and confidences: no decoding code outside the model to drift.
"""

from __future__ import annotations

import numpy as np
import torch
from mmengine.model import BaseModel

from zoo.registry import BACKBONES, DECODERS, HEADS, LOSSES, MODELS, NECKS
from zoo.structures import to_original

from .errors import ModelConfigError


def _build(registry, cfg, **kwargs):
    if isinstance(cfg, torch.nn.Module):
        return cfg
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ModelConfigError(f"a {registry.name} config must be a dict with a 'type', got {cfg!r}.")
    return registry.build(dict(cfg, **kwargs))


def _stack(samples, key: str, dtype=torch.float32, device=None) -> torch.Tensor:
    return torch.stack(
        [
            torch.as_tensor(
                np.asarray(s.get(key)) if not isinstance(s.get(key), torch.Tensor) else s.get(key),
                dtype=dtype,
            )
            for s in samples
        ]
    ).to(device)


class LandmarkSetMixin:
    """K and the landmark symbols, from ``self.landmarks``: what metadata, exporters and the predictor read."""

    @property
    def num_keypoints(self) -> int:
        return len(self.landmarks)

    @property
    def landmark_symbols(self) -> list[str]:
        return list(self.landmarks.symbols)


@MODELS.register_module()
class LandmarkDetector(LandmarkSetMixin, BaseModel):
    """Backbone + neck + head + decoder (+ loss) for one landmark set; mmengine's loss/predict/tensor modes.

    Args:
        backbone, neck, head, decoder, loss: component configs (``neck`` defaults to ``IdentityNeck``;
            ``loss`` may be omitted for inference-only models). ``num_keypoints`` and the channel/stride
            lists are filled in here.
        landmark_set: name of a ``zoo.data.landmark_sets`` set; fixes K.
        data_preprocessor: config (default ``LandmarkDataPreprocessor`` with ImageNet mean/std).
        test_cfg: ``dict(flip_test=False, scales=(1.0,))``; flip testing averages with the mirrored image's
            prediction, swapping the landmark set's ``flip_pairs`` (none on a lateral view: each landmark
            stays itself); ``scales`` averages predictions on the input resized by each factor (rounded to
            a multiple of 32 px), mapped back to the input's pixels (multi-scale test-time augmentation).
    """

    def __init__(
        self,
        backbone: dict,
        head: dict,
        decoder: dict,
        landmark_set: str,
        neck: dict | None = None,
        loss: dict | None = None,
        data_preprocessor: dict | None = None,
        test_cfg: dict | None = None,
        init_cfg: dict | None = None,
    ):
        if data_preprocessor is None:
            data_preprocessor = dict(type="LandmarkDataPreprocessor")
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        from zoo.data.landmark_sets import get_landmark_set

        self.landmark_set = landmark_set if isinstance(landmark_set, str) else landmark_set.name
        self.landmarks = get_landmark_set(landmark_set) if isinstance(landmark_set, str) else landmark_set
        self.test_cfg = {"flip_test": False, "scales": (1.0,), **(test_cfg or {})}
        self.backbone = _build(BACKBONES, backbone)
        neck = neck or dict(type="IdentityNeck")
        self.neck = _build(
            NECKS,
            neck,
            in_channels=list(self.backbone.out_channels),
            in_strides=list(self.backbone.out_strides),
        )
        self.head = _build(
            HEADS,
            head,
            in_channels=list(self.neck.out_channels),
            in_strides=list(self.neck.out_strides),
            num_keypoints=self.num_keypoints,
        )
        self.decoder = _build(DECODERS, decoder)
        self.loss_module = _build(LOSSES, loss) if loss is not None else None

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [
            dict(
                landmark_set="isbi2015",
                backbone=dict(type="HRNetBackbone", arch="hrnet_w18_small"),
                neck=dict(type="HRNetV2Neck"),
                head=dict(type="HeatmapHead", output_stride=2, channels=8),
                decoder=dict(type="DarkDecoder"),
                loss=dict(type="HeatmapMSELoss"),
            ),
            dict(
                landmark_set="ruler",
                backbone=dict(type="ResNetBackbone", depth=18),
                head=dict(type="RegressionHead"),
                decoder=dict(type="RegressionDecoder"),
                loss=dict(type="L1CoordLoss"),
                data_preprocessor=dict(type="LandmarkDataPreprocessor", channels=3),
            ),
        ]

    def extract_feat(self, inputs: torch.Tensor):
        return self.neck(self.backbone(inputs))

    def forward_head(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.extract_feat(inputs))

    def decode(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(coords in input px (N, K, 2), confidences (N, K)); averaged over ``test_cfg``'s scales and flip."""
        scales = [float(s) for s in self.test_cfg["scales"]]
        if scales == [1.0]:
            return self._decode_flip(inputs)
        import torch.nn.functional as F

        h, w = int(inputs.shape[-2]), int(inputs.shape[-1])
        coords_sum, scores_sum = 0, 0
        for s in scales:
            sh, sw = max(32, round(h * s / 32) * 32), max(32, round(w * s / 32) * 32)
            x = inputs if (sh, sw) == (h, w) else F.interpolate(inputs, size=(sh, sw), mode="bilinear",
                                                                  align_corners=False)
            coords, scores = self._decode_flip(x)
            back = torch.tensor([w / sw, h / sh], dtype=coords.dtype, device=coords.device)
            coords_sum = coords_sum + (coords + 0.5) * back - 0.5  # pixel centres: x = (x' + 0.5) / s - 0.5
            scores_sum = scores_sum + scores
        return coords_sum / len(scales), scores_sum / len(scales)

    def _decode_flip(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        input_hw = inputs.shape[-2:]
        coords, scores = self.decoder(self.forward_head(inputs), input_hw)
        if self.test_cfg["flip_test"]:
            fcoords, fscores = self.decoder(self.forward_head(inputs.flip(-1)), input_hw)
            from zoo.data.landmark_sets import flip_order

            order = flip_order(self.num_keypoints, self.landmarks.flip_pairs)
            fcoords = torch.stack((input_hw[1] - 1 - fcoords[..., 0], fcoords[..., 1]), dim=-1)[:, order]
            coords, scores = (coords + fcoords) / 2, (scores + fscores[:, order]) / 2
        return coords, scores

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = "tensor"):
        if mode == "tensor":
            return self.decode(inputs)
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        raise ModelConfigError(
            f"LandmarkDetector.forward: mode must be 'tensor', 'loss' or 'predict', got {mode!r}."
        )

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        """``dict(loss=total, <part>=...)``.

        The parts carry no 'loss' in their names, so mmengine logs them but sums only the total.
        """
        self._require_loss()  # before the forward pass, which would fail less clearly
        output = self.forward_head(inputs)
        keypoints = _stack(data_samples, "keypoints", device=inputs.device)
        visible = _stack(data_samples, "keypoints_visible", device=inputs.device)
        if keypoints.shape[1] != self.num_keypoints:
            raise ModelConfigError(
                f"samples have {keypoints.shape[1]} keypoints, the model's landmark set "
                f"{self.landmark_set!r} has {self.num_keypoints}."
            )
        extra = dict(heatmap_hw=tuple(output.shape[-2:])) if self.head.output_kind == "heatmap" else {}
        targets = self.head.encode(keypoints, visible, tuple(inputs.shape[-2:]), **extra)
        return self.loss_from_output(output, targets)

    def _require_loss(self) -> None:
        if self.loss_module is None:
            raise ModelConfigError("this LandmarkDetector was built without a `loss` config; it cannot train.")

    def loss_from_output(self, output: torch.Tensor, targets: dict) -> dict:
        """The loss of a head output against its encoded targets, always in fp32.

        Under mixed precision (``--amp``: fp16 on CUDA, bf16 on a CPU) the head's output is half precision, and
        the zoo's losses are plain tensor arithmetic that autocast leaves in the input's dtype: a heatmap MSE
        would subtract bf16 maps (8-bit mantissa) from targets rounded to bf16, and a focal loss would take the
        log of fp16 probabilities. The output is cast up and autocast is off inside, so any matrix product in a
        loss (a soft-argmax) stays fp32 too; in fp32 training both are no-ops.
        """
        self._require_loss()
        with torch.autocast(device_type=output.device.type, enabled=False):
            output = output.float()
            if hasattr(self.loss_module, "components"):
                parts = self.loss_module.components(output, targets)
                return dict(loss=sum(parts.values()), **{k: v.detach() for k, v in parts.items()})
            return dict(loss=self.loss_module(output, targets))

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples=None) -> list:
        """Each sample with ``pred_input_keypoints``, ``pred_keypoints``, ``pred_scores``.

        ``pred_keypoints`` are in original pixels, through the sample's ``warp`` (identity when absent).
        """
        from zoo.structures import LandmarkSample

        coords, scores = self.decode(inputs)
        if data_samples is None:
            data_samples = [
                LandmarkSample(metainfo=dict(img_shape=tuple(inputs.shape[-2:]))) for _ in range(len(inputs))
            ]
        coords_np = coords.float().cpu().numpy().astype(np.float64)
        scores_np = scores.float().cpu().numpy()
        for sample, xy, conf in zip(data_samples, coords_np, scores_np):
            warp = sample.metainfo.get("warp")
            warp = np.eye(3) if warp is None else np.asarray(warp, dtype=np.float64)
            sample.pred_input_keypoints = xy
            sample.pred_keypoints = to_original(xy, warp)
            sample.pred_scores = conf
        return list(data_samples)
