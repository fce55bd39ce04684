"""Every export checks itself: the eager model and the exported file, both through the one ``Predictor``,
on the same real images; the largest coordinate difference and the MRE change decide.

Both go through :class:`zoo.inference.Predictor`, so the check also covers the exported file's metadata:
a file whose ``zoo_meta`` described the preprocessing wrongly would predict elsewhere and fail here.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .samples import CheckImage


@dataclass
class CheckReport:
    """What the self-check measured. Differences are Euclidean, per landmark; MRE against the truth."""

    format: str
    images: int
    max_diff_px: float  # original-image pixels
    max_diff_input_px: float  # model-input pixels (what ``tolerance_px`` bounds)
    mean_diff_px: float
    tolerance_px: float
    mre_unit: str | None = None  # 'mm' when every image's spacing is known, else 'px'
    mre_eager: float | None = None
    mre_exported: float | None = None
    tolerance_mre: float | None = None
    per_landmark_mre_change: dict[str, float] | None = None
    batch_max_diff_input_px: float | None = None  # a batch of 2 vs one by one (dynamic batch)
    eager_ms: float | None = None  # median per image, preprocessing excluded
    exported_ms: float | None = None
    image_source: str = ""
    failures: list[str] = field(default_factory=list)
    fp32_nodes: dict[str, list[str]] | None = None  # graph -> quantized nodes an int8 export kept in fp32 to pass

    @property
    def mre_change(self) -> float | None:
        if self.mre_eager is None or self.mre_exported is None:
            return None
        return self.mre_exported - self.mre_eager

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {**asdict(self), "mre_change": self.mre_change, "passed": self.passed}

    def summary(self) -> str:
        lines = [f"self-check ({self.format}) on {self.images} image(s) from {self.image_source}: "
                 f"max coordinate difference {self.max_diff_px:.3f} px ({self.max_diff_input_px:.4f} input px, "
                 f"tolerance {self.tolerance_px:g}), mean {self.mean_diff_px:.3f} px"]
        if self.mre_change is not None:
            lines.append(f"MRE eager {self.mre_eager:.4f} {self.mre_unit} -> exported {self.mre_exported:.4f} "
                         f"{self.mre_unit} (change {self.mre_change:+.4f} {self.mre_unit}"
                         + (f", tolerance {self.tolerance_mre:g})" if self.tolerance_mre is not None else ")"))
            per = self.per_landmark_mre_change or {}
            if any(abs(v) >= 5e-3 for v in per.values()):
                lines.append(f"MRE change per landmark ({self.mre_unit}): "
                             + ", ".join(f"{k} {v:+.3f}" for k, v in per.items()))
        else:
            lines.append("MRE change: not measured (the images have no truth)")
        if self.batch_max_diff_input_px is not None:
            lines.append(f"batch of 2 vs single: max difference {self.batch_max_diff_input_px:.2e} input px")
        if self.eager_ms is not None and self.exported_ms is not None:
            lines.append(f"median time per image: eager {self.eager_ms:.1f} ms, exported {self.exported_ms:.1f} ms")
        if self.fp32_nodes:
            lines.append("kept in fp32 to pass (the most sensitive quantized nodes): "
                         + "; ".join(f"{graph} graph: {', '.join(nodes)}" for graph, nodes in self.fp32_nodes.items()))
        lines.append("PASSED" if self.passed else "FAILED: " + "; ".join(self.failures))
        return "\n".join(lines)


def _radial(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.hypot(a[..., 0] - b[..., 0], a[..., 1] - b[..., 1])


def self_check(model, meta: dict, exported: str | Path, images: list[CheckImage], *, fmt: str,
               tolerance_px: float, tolerance_mre: float | None = None, image_source: str = "",
               check_batch: bool = False, threads: int | None = None) -> CheckReport:
    """Run the eager ``model`` and the ``exported`` file on ``images``; fill a :class:`CheckReport`."""
    from zoo.data.transforms.geometric import letterbox_warp
    from zoo.inference import Predictor
    from zoo.inference.backends import TorchBackend
    from zoo.structures import apply_warp

    eager = Predictor(TorchBackend(model), meta)
    other = Predictor.from_path(exported, threads=threads, trust=True)  # the file this process just wrote
    symbols = list(meta["landmark_symbols"])
    diffs, diffs_input, err_e, err_x, vis_all, spacings, t_e, t_x = [], [], [], [], [], [], [], []
    batch_diff = None
    warm = eager.preprocess(eager.load(images[0].path, str(images[0].path)))[0]
    eager.backend(warm), other.backend(warm)  # first calls allocate and plan; keep them out of the timings
    for item in images:
        img = eager.load(item.path, str(item.path))
        warp = letterbox_warp(img.shape[:2], eager.input_size)[0]  # the predictors' own original -> input map
        # whole predictions, preprocessing to original pixels (a two-stage model's refine graph included)
        t0 = time.perf_counter()
        oe, _ = eager.predict_array(img)
        t1 = time.perf_counter()
        ox, _ = other.predict_array(img)
        t2 = time.perf_counter()
        t_e.append(t1 - t0)
        t_x.append(t2 - t1)
        diffs.append(_radial(oe, ox))
        diffs_input.append(_radial(apply_warp(oe, warp), apply_warp(ox, warp)))
        if check_batch and batch_diff is None:
            batch = eager.preprocess(img)[0]
            cx, _ = other.backend(batch)
            cb, _ = other.backend(np.concatenate([batch, batch[:, :, ::-1].copy()], axis=0))
            batch_diff = float(_radial(cb[0], cx[0]).max())
        if item.keypoints is not None:
            err_e.append(_radial(oe, item.keypoints))
            err_x.append(_radial(ox, item.keypoints))
            vis_all.append(item.visible if item.visible is not None else np.ones(len(symbols), bool))
            spacings.append(item.spacing)
    diffs, diffs_input = np.stack(diffs), np.stack(diffs_input)
    report = CheckReport(format=fmt, images=len(images), max_diff_px=float(diffs.max()),
                         max_diff_input_px=float(diffs_input.max()), mean_diff_px=float(diffs.mean()),
                         tolerance_px=float(tolerance_px), tolerance_mre=tolerance_mre,
                         batch_max_diff_input_px=batch_diff, image_source=image_source,
                         eager_ms=float(np.median(t_e) * 1e3), exported_ms=float(np.median(t_x) * 1e3))
    if err_e and len(err_e) == len(images):
        scale = 1.0
        report.mre_unit = "px"
        if all(s for s in spacings):
            scale = np.asarray(spacings, np.float64)[:, None]
            report.mre_unit = "mm"
        vis = np.stack(vis_all)
        ee, ex = np.stack(err_e) * scale, np.stack(err_x) * scale
        report.mre_eager = float(ee[vis].mean())
        report.mre_exported = float(ex[vis].mean())
        counts = np.maximum(vis.sum(0), 1)
        change = ((ex - ee) * vis).sum(0) / counts
        report.per_landmark_mre_change = {s: float(c) for s, c in zip(symbols, change)}
    if not np.isfinite(diffs).all():
        report.failures.append("the exported model produced non-finite coordinates")
    elif report.max_diff_input_px > tolerance_px:
        worst = np.unravel_index(int(np.argmax(diffs_input)), diffs_input.shape)
        report.failures.append(
            f"max coordinate difference {report.max_diff_input_px:.4f} input px > tolerance {tolerance_px:g} "
            f"(landmark {symbols[worst[1]]} on {images[worst[0]].path.name})")
    if tolerance_mre is not None and report.mre_change is not None and report.mre_change > tolerance_mre:
        report.failures.append(f"MRE worse by {report.mre_change:.4f} {report.mre_unit} > tolerance {tolerance_mre:g}")
    if batch_diff is not None and batch_diff > max(tolerance_px, 1e-3):
        report.failures.append(f"a batch of 2 predicts {batch_diff:.4f} input px away from one image alone")
    return report
