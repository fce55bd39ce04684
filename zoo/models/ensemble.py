"""Several detectors of one landmark set, their landmarks averaged: the cheapest accuracy a budget can buy.

Runs of one recipe differ a little from seed to seed, and their errors are partly independent, so the mean of
several runs' landmarks beats each run alone (the two-stage project's ``error_anatomy.py`` splits the error to
show why). The members are ordinary detectors (single- or two-stage) built from the registry; an ensemble is
usually assembled from checkpoints trained one after another (``zoo ensemble``), but it trains as one model too
(the members' losses summed, each on the same batch).

Every member sees the same preprocessed input, so all members must share one preprocessing (checked here);
two-stage members each refine around their own global estimate, and the averaged landmarks are in original
pixels, mapped to the input through each sample's warp.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from mmengine.model import BaseModel

from zoo.registry import MODELS
from zoo.structures import apply_warp

from .data_preprocessor import normalisation
from .detector import LandmarkSetMixin
from .errors import ModelConfigError


def _preprocessing(model) -> tuple:
    return (type(model.data_preprocessor).__name__, *normalisation(model.data_preprocessor))


@MODELS.register_module()
class EnsembleDetector(LandmarkSetMixin, BaseModel):
    """The mean of ``members``' landmarks (original px) and of their confidences.

    Args:
        members: detector configs (or built detectors), at least two, all of ``landmark_set`` with the same
            preprocessing; the first member's preprocessor is the ensemble's.
        landmark_set: the set every member finds.
    """

    def __init__(self, members: list, landmark_set: str, data_preprocessor=None, init_cfg: dict | None = None):
        if not isinstance(members, (list, tuple)) or len(members) < 2:
            raise ModelConfigError(f"EnsembleDetector: `members` must list at least two detectors, got {members!r}")
        built = []
        for i, member in enumerate(members):
            if isinstance(member, dict):
                member = dict(member)
                if member.setdefault("landmark_set", landmark_set) != landmark_set:
                    raise ModelConfigError(f"EnsembleDetector: member {i} finds {member['landmark_set']!r}, the "
                                           f"ensemble {landmark_set!r}; all members find the same landmarks.")
                member = MODELS.build(member)
            built.append(member)
        first = _preprocessing(built[0])
        for i, member in enumerate(built[1:], 1):
            if _preprocessing(member) != first:
                raise ModelConfigError(f"EnsembleDetector: member {i} preprocesses its input as "
                                       f"{_preprocessing(member)}, member 0 as {first}; the members share one input, "
                                       f"so one preprocessing.")
        if isinstance(data_preprocessor, dict):  # built from the zoo's registry, as mmengine's would miss it
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor or copy.deepcopy(built[0].data_preprocessor),
                         init_cfg=init_cfg)
        self.members = torch.nn.ModuleList(built)
        self.landmark_set = built[0].landmark_set
        self.landmarks = built[0].landmarks

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_ensemble.py``)."""
        from .two_stage import TwoStageDetector

        tiny = dict(type="LandmarkDetector", backbone=dict(type="HRNetBackbone", arch="hrnet_w18_small"),
                    neck=dict(type="HRNetV2Neck"), decoder=dict(type="DarkDecoder"), loss=dict(type="HeatmapMSELoss"),
                    head=dict(type="HeatmapHead", output_stride=4))
        two_stage = dict(TwoStageDetector._smoke_cfgs()[0], type="TwoStageDetector")
        return [dict(landmark_set="isbi2015", members=[tiny, dict(tiny, decoder=dict(type="ArgmaxDecoder"))]),
                dict(landmark_set="isbi2015", members=[two_stage, two_stage])]

    @property
    def decoder(self):  # what the metadata records; each member decodes with its own
        return self.members[0].decoder

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = "tensor"):
        if mode == "tensor":  # each member's main graph, averaged (a two-stage member's: its coarse landmarks)
            outputs = [member(inputs, mode="tensor") for member in self.members]
            return (torch.stack([c for c, _ in outputs]).mean(0), torch.stack([s for _, s in outputs]).mean(0))
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        raise ModelConfigError(f"EnsembleDetector.forward: mode must be 'tensor', 'loss' or 'predict', got {mode!r}.")

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        """The members' losses summed; each member's parts logged as ``m<i>_<part>`` (never summed twice)."""
        total, parts = 0.0, {}
        for i, member in enumerate(self.members):
            losses = member.loss(inputs, data_samples)
            total = total + losses["loss"]
            parts.update({f"m{i}_{k}": v.detach() for k, v in losses.items() if k != "loss"})
            parts[f"m{i}_total"] = losses["loss"].detach()
        return dict(loss=total, **parts)

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples=None) -> list:
        """Each sample with the members' mean ``pred_keypoints`` (original px) and ``pred_scores``, its
        ``pred_input_keypoints``, and every member's landmarks in ``pred_member_keypoints`` (M, K, 2)."""
        runs = [member.predict(inputs, copy.deepcopy(list(data_samples)) if data_samples is not None else None)
                for member in self.members]
        samples = list(data_samples) if data_samples is not None else runs[0]
        for i, sample in enumerate(samples):
            each = np.stack([np.asarray(run[i].pred_keypoints, np.float64) for run in runs])
            xy = each.mean(axis=0)
            warp = np.asarray(sample.metainfo.get("warp", np.eye(3)), np.float64)
            sample.pred_member_keypoints = each
            sample.pred_keypoints = xy
            sample.pred_scores = np.mean([np.asarray(run[i].pred_scores, np.float64) for run in runs],
                                         axis=0).astype(np.float32)
            sample.pred_input_keypoints = apply_warp(xy, warp)
        return samples
