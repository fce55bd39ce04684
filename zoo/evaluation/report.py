"""The clinical error report: MRE in px and mm, SDR at 2 / 2.5 / 3 / 4 mm, per landmark and overall.

Pure numpy, so the metric, the export self-check and the leaderboard compute the same numbers from the
same code. Radial error is the Euclidean distance in original pixels, times the pixel spacing for mm.
Landmarks marked invisible in the truth are left out, never counted as zero error.
"""
from __future__ import annotations

import math

import numpy as np

SDR_THRESHOLDS_MM = (2.0, 2.5, 3.0, 4.0)
RULER = ("p1", "p2")


def _stats(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {k: float("nan") for k in ("mean", "median", "std", "min", "max")}
    return {
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def _sdr(errors_mm: np.ndarray) -> dict[str, float]:
    if errors_mm.size == 0:
        return {f"{t:g}mm": float("nan") for t in SDR_THRESHOLDS_MM}
    return {f"{t:g}mm": float((errors_mm <= t).mean() * 100.0) for t in SDR_THRESHOLDS_MM}


def _ruler_calibration(pred, truth, visible, spacing, symbols) -> dict | None:
    """How wrong mm-per-pixel would be if calibrated from the predicted ruler points instead of the true ones."""
    if not all(s in symbols for s in RULER):
        return None
    i, j = symbols.index(RULER[0]), symbols.index(RULER[1])
    ok = (visible[:, i] > 0) & (visible[:, j] > 0)
    if not ok.any():
        return None
    true_len = np.linalg.norm(truth[ok, i] - truth[ok, j], axis=1)
    pred_len = np.linalg.norm(pred[ok, i] - pred[ok, j], axis=1)
    rel = (true_len / np.maximum(pred_len, 1e-9) - 1.0) * 100.0  # mm/px ∝ 1 / ruler length in px
    out = {
        "images": int(ok.sum()),
        "ruler_length_error_px": _stats(np.abs(pred_len - true_len)),
        "mm_per_px_relative_error_pct": _stats(np.abs(rel)),
    }
    sp = spacing[ok]
    if np.isfinite(sp).all():
        out["mm_per_px_abs_error"] = _stats(np.abs(rel) / 100.0 * sp)
    return out


def landmark_report(pred, truth, visible, spacing, symbols) -> dict:
    """Build the report from predicted and true keypoints in original pixels.

    Args:
        pred, truth: (N, K, 2) arrays, original-image pixels.
        visible: (N, K), >0 where the truth exists.
        spacing: (N,) mm per pixel, NaN where unknown (then no mm figures for that image).
        symbols: the K landmark symbols, in order.
    """
    pred = np.asarray(pred, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    visible = np.asarray(visible) > 0
    spacing = np.asarray(spacing, dtype=np.float64).reshape(-1)
    if pred.shape != truth.shape or pred.shape[:2] != visible.shape or len(spacing) != len(pred):
        raise ValueError(f"shape mismatch: pred {pred.shape}, truth {truth.shape}, visible {visible.shape}, "
                         f"spacing {spacing.shape}")
    radial = np.linalg.norm(pred - truth, axis=-1)
    radial_mm = radial * spacing[:, None]
    has_mm = np.isfinite(spacing)[:, None] & visible

    report = {
        "samples": int(len(pred)),
        "landmarks": int(visible.sum()),
        "MRE_px": _stats(radial[visible]),
        "MRE_mm": _stats(radial_mm[has_mm]) if has_mm.any() else None,
        "SDR": _sdr(radial_mm[has_mm]) if has_mm.any() else None,
        "per_landmark": {},
    }
    for k, symbol in enumerate(symbols):
        v, m = visible[:, k], has_mm[:, k]
        report["per_landmark"][symbol] = {
            "n": int(v.sum()),
            "MRE_px": _stats(radial[v, k])["mean"],
            "SD_px": _stats(radial[v, k])["std"],
            "MRE_mm": _stats(radial_mm[m, k])["mean"] if m.any() else None,
            "SD_mm": _stats(radial_mm[m, k])["std"] if m.any() else None,
            "SDR": _sdr(radial_mm[m, k]) if m.any() else None,
        }
    calibration = _ruler_calibration(pred, truth, visible, spacing, list(symbols))
    if calibration is not None:
        report["ruler_calibration"] = calibration
    return report


def headline(report: dict) -> dict[str, float]:
    """The scalars worth logging each validation; ``MRE`` is in mm when every image has a spacing, else px."""
    out = {"MRE_px": report["MRE_px"]["mean"]}
    if report["MRE_mm"] is not None:
        out["MRE_mm"] = report["MRE_mm"]["mean"]
        out.update({f"SDR_{k}": v for k, v in report["SDR"].items()})
    all_mm = report["MRE_mm"] is not None and report["landmarks"] and _all_have_mm(report)
    out["MRE"] = out["MRE_mm"] if all_mm else out["MRE_px"]
    cal = report.get("ruler_calibration")
    if cal:
        out["mm_per_px_rel_err_pct"] = cal["mm_per_px_relative_error_pct"]["mean"]
    return out


def _all_have_mm(report: dict) -> bool:
    return all(v["MRE_mm"] is not None for v in report["per_landmark"].values() if v["n"])


def _fmt(x, digits=2) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_report(report: dict) -> str:
    """The report as a markdown table, the form the field publishes."""
    lines = [f"samples: {report['samples']}, landmarks scored: {report['landmarks']}", ""]
    lines.append("| | mean | median | std | min | max |")
    lines.append("|---|---|---|---|---|---|")
    for key in ("MRE_px", "MRE_mm"):
        s = report.get(key)
        if s:
            lines.append(f"| {key} | " + " | ".join(_fmt(s[c]) for c in ("mean", "median", "std", "min", "max")) + " |")
    if report.get("SDR"):
        lines += ["", "| SDR | " + " | ".join(report["SDR"]) + " |", "|---|" + "---|" * len(report["SDR"])]
        lines.append("| % | " + " | ".join(_fmt(v, 1) for v in report["SDR"].values()) + " |")
    lines += ["", "| landmark | n | MRE px | SD px | MRE mm | SD mm | SDR 2 | 2.5 | 3 | 4 mm |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for symbol, row in report["per_landmark"].items():
        sdr = list((row["SDR"] or {}).values()) or [None] * 4
        lines.append(f"| {symbol} | {row['n']} | {_fmt(row['MRE_px'])} | {_fmt(row['SD_px'])} | "
                     f"{_fmt(row['MRE_mm'])} | {_fmt(row['SD_mm'])} | " + " | ".join(_fmt(v, 1) for v in sdr) + " |")
    cal = report.get("ruler_calibration")
    if cal:
        rel = cal["mm_per_px_relative_error_pct"]
        lines += ["", f"ruler calibration ({cal['images']} images): ruler length error "
                  f"{_fmt(cal['ruler_length_error_px']['mean'])} px mean; mm/px relative error "
                  f"{_fmt(rel['mean'])}% mean, {_fmt(rel['max'])}% max"]
        if "mm_per_px_abs_error" in cal:
            lines[-1] += f"; absolute {cal['mm_per_px_abs_error']['mean']:.5f} mm/px mean"
    return "\n".join(lines)
