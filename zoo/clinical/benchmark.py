"""The ISBI 2015 classification benchmark: do predicted landmarks give the clinician the same class?

Our ISBI copy has no official class labels, so the truth classes come from the senior annotation's
landmarks through the same formulas (:mod:`zoo.clinical.isbi`); a prediction scores on a measure when
it lands in the truth's class, and each measure is scored the challenge's way (diagonal average).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from zoo.clinical import isbi
from zoo.clinical.errors import ClinicalError

SPLITS = {"train": range(1, 151), "test1": range(151, 301), "test2": range(301, 401), "all": range(1, 401)}


def default_isbi_root() -> Path:
    """``$ZOO_ISBI_ROOT``, else ``../shared/data/isbi2015`` beside the checkout."""
    env = os.environ.get("ZOO_ISBI_ROOT")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "isbi2015"


def read_truth(path: str | Path) -> np.ndarray:
    """(19, 2) landmarks of one ISBI annotation file (the data layer's reader; it imports torch, so lazily)."""
    from zoo.data.datasets.isbi2015 import read_isbi_annotation

    return np.asarray(read_isbi_annotation(Path(path)), dtype=np.float64)


def truth_file(root: Path, image_id: int, annotator: str = "senior") -> Path:
    return Path(root) / "AnnotationsByMD" / f"400_{annotator}" / f"{image_id:03d}.txt"


def image_id(image: str) -> int:
    """ISBI image number from a path such as ``.../Test1Data/151.bmp``."""
    stem = Path(str(image).replace("\\", "/")).stem
    if not stem.isdigit():
        raise ClinicalError(f"cannot tell the ISBI image number from {image!r} (expected a name like 151.bmp)")
    return int(stem)


def landmarks_array(landmarks: Mapping, where: str) -> np.ndarray:
    """(19, 2) in ISBI order from a predictions-file ``landmarks`` mapping."""
    missing = [s for s in isbi.ISBI_SYMBOLS if s not in landmarks]
    if missing:
        raise ClinicalError(f"{where}: the ISBI measures need landmarks {', '.join(missing)}")
    out = []
    for s in isbi.ISBI_SYMBOLS:
        v = landmarks[s]
        out.append((v["x"], v["y"]) if isinstance(v, Mapping) else tuple(v))
    return np.asarray(out, dtype=np.float64)


def score(truth: Sequence[Mapping[str, int]], pred: Sequence[Mapping[str, int]]) -> dict:
    """Per-measure diagonal average, plain agreement and confusion matrix, plus the mean diagonal average."""
    if len(truth) != len(pred) or not truth:
        raise ClinicalError(f"need equal, non-empty lists of classes (got {len(truth)} truth, {len(pred)} predicted)")
    per = {}
    for m in isbi.MEASURES:
        t = [c[m] for c in truth]
        p = [c[m] for c in pred]
        classes = sorted(set(t) | set(p))
        per[m] = {
            "diagonal_average": isbi.diagonal_average(t, p),
            "agreement": float(np.mean(np.asarray(t) == np.asarray(p))),
            "classes": classes,
            "truth_counts": {int(c): int(t.count(c)) for c in classes},
            "confusion": isbi.confusion(t, p, classes).tolist(),
        }
    overall = float(np.mean([v["diagonal_average"] for v in per.values()]))
    return {"n_images": len(truth), "measures": per, "average": overall}


def to_markdown(report: dict) -> str:
    lines = ["| measure | diagonal average (%) | same class (%) | truth images per class |", "|---|---|---|---|"]
    for m, r in report["measures"].items():
        counts = ", ".join(f"{c}: {n}" for c, n in r["truth_counts"].items() if n)
        lines.append(f"| {m} | {100 * r['diagonal_average']:.2f} | {100 * r['agreement']:.2f} | {counts} |")
    lines.append(f"| **average** | **{100 * report['average']:.2f}** | "
                 f"{100 * np.mean([r['agreement'] for r in report['measures'].values()]):.2f} | "
                 f"{report['n_images']} images |")
    return "\n".join(lines)


def simulated_report(truth_xy: Sequence[np.ndarray], mre_mm: float, seeds: int = 5,
                     mm_per_pixel: float = isbi.ISBI_MM_PER_PIXEL) -> dict:
    """The score of a model whose errors were independent isotropic Gaussians with mean radial error ``mre_mm``.

    A reference, not a prediction: real errors are correlated between landmarks and anisotropic.
    For a 2-D isotropic Gaussian the mean radial error is ``sigma * sqrt(pi / 2)``. Scores are averaged
    over ``seeds`` draws.
    """
    sigma = mre_mm / mm_per_pixel / np.sqrt(np.pi / 2)
    truth = [isbi.measure_classes(x) for x in truth_xy]
    reports = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        pred = [isbi.measure_classes(x + rng.normal(0.0, sigma, np.shape(x))) for x in truth_xy]
        reports.append(score(truth, pred))
    out = reports[0]
    for m in isbi.MEASURES:
        for k in ("diagonal_average", "agreement"):
            out["measures"][m][k] = float(np.mean([r["measures"][m][k] for r in reports]))
        out["measures"][m].pop("confusion")
    out["average"] = float(np.mean([r["average"] for r in reports]))
    out["simulated"] = {"mre_mm": mre_mm, "sigma_px": float(sigma), "seeds": seeds}
    return out
