"""``LandmarkMetric``: the clinical report as an mmengine metric, usable from any config."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from mmengine.evaluator import BaseMetric

from zoo.registry import METRICS

from .report import format_report, headline, landmark_report


@METRICS.register_module()
class LandmarkMetric(BaseMetric):
    """MRE (px, mm), SDR at 2/2.5/3/4 mm and ruler calibration error, overall and per landmark.

    The scalars go to the log and to best-checkpoint selection (``MRE``: mm when every image has a spacing);
    the full report is kept in ``last_report`` and, with ``out_file``, written as JSON.
    """

    default_prefix = None

    def __init__(self, out_file: str | None = None, collect_device: str = "cpu", prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.out_file = out_file
        self.last_report: dict | None = None
        self.last_predictions: list[dict] = []

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else (lambda k, d=None, s=sample: s.get(k, d))
            spacing = get("spacing")
            self.results.append({
                "pred": _numpy(get("pred_keypoints")),
                "truth": _numpy(get("ori_keypoints")),
                # what was labelled, never changed by augmentation (falls back for readers without it)
                "visible": _numpy(get("ori_keypoints_visible", get("keypoints_visible"))),
                "score": _numpy(get("pred_scores")),
                "spacing": float("nan") if spacing is None else float(spacing),
                "img_path": str(get("img_path", "")),
            })

    def compute_metrics(self, results: list) -> dict:
        symbols = list(self.dataset_meta["landmark_names"]) if self.dataset_meta else [
            str(i) for i in range(len(results[0]["pred"]))]
        report = landmark_report(
            np.stack([r["pred"] for r in results]),
            np.stack([r["truth"] for r in results]),
            np.stack([r["visible"] for r in results]),
            np.array([r["spacing"] for r in results]),
            symbols,
        )
        self.last_report = report
        self.last_predictions = results
        if self.out_file:
            Path(self.out_file).parent.mkdir(parents=True, exist_ok=True)
            Path(self.out_file).write_text(json.dumps(report, indent=2))
        return headline(report)

    @staticmethod
    def format(report: dict) -> str:
        return format_report(report)


def _numpy(value):
    if value is None:
        return None
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)
