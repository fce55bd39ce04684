"""Which stage of a two-stage model failed, for every landmark it misplaced by more than 2 and 4 mm.

    python projects/gross_errors/scripts/error_anatomy.py isbi19 [--split train --indices 130:150] \
        [--out projects/gross_errors/results/anatomy_isbi19_val.json] [--pictures projects/gross_errors/cases]

Read on the held-out validation images (ISBI 2015 TrainingData 131-150) only: the remedies are chosen from what
this finds, so it must never look at Test1. For each image the model runs as ``zoo predict`` does (the checkpoint's
own refine settings, read at the training pixel size) and this script also keeps what the predictor throws away:

- the global stage's heatmaps: where their peak is, and the other local maxima (a second peak that was right
  means a better choice among peaks would have caught the landmark);
- the refine stage run again on patches centred on the *truth* (as if the global stage were perfect);
- the shape model's view (``zoo_meta['quality']['shape']``): how far each landmark lies from where the others put
  it, in training standard deviations, and where the others put it (the shape model's estimate).

Each case (a landmark more than 2 mm off) gets one cause, checked in this order:

``global_miss``       the global stage's point is farther from the truth than the refine patch reaches (half its
                      window): the refine stage never saw the right place.
``refine_disagrees``  the refine stage, centred on the truth, still answers more than the case's threshold away: it
                      reads this landmark elsewhere than the annotator (an ambiguous structure or a weak refine
                      stage), whatever the global stage does.
``refine_moved_away`` the global stage was within the threshold and the refine stage moved out of it.
``refine_missed``     the global point was off but inside the window, and the refine stage did not bring it in,
                      though it finds the landmark from the truth.

An analysis that reads the truth: it explains, it never selects.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
SCRIPT = "projects/gross_errors/scripts/error_anatomy.py"
THRESHOLDS_MM = (2.0, 4.0)
#: a secondary global peak counts when it holds at least this share of the main peak's height
SECOND_PEAK_SHARE = 0.1
CAUSES = ("global_miss", "refine_disagrees", "refine_moved_away", "refine_missed")


def global_peaks(predictor, img: np.ndarray, top: int = 3):
    """Per landmark the global heatmap's local maxima in image px, strongest first: ``(xy (K, top, 2), share (K,
    top))``, share = height / the main peak's (NaN where fewer maxima)."""
    import torch
    import torch.nn.functional as F

    from zoo.heads.convention import heatmap_to_input
    from zoo.structures import to_original

    batch, warp = predictor.preprocess(img)
    x = torch.from_numpy(batch)
    with torch.inference_mode():
        heat = predictor.backend.model.global_stage.forward_head(x).float()
    n, k, h, w = heat.shape
    is_max = heat == F.max_pool2d(heat, 5, stride=1, padding=2)
    xy = np.full((k, top, 2), np.nan)
    share = np.full((k, top), np.nan)
    for j in range(k):
        values = torch.where(is_max[0, j], heat[0, j], torch.full_like(heat[0, j], -np.inf)).reshape(-1)
        best, index = values.topk(top)
        uv = torch.stack((index % w, index // w), dim=-1).float()
        points = heatmap_to_input(uv, batch.shape[-2:], (h, w)).numpy()
        for t in range(top):
            if np.isfinite(best[t].item()) and best[t].item() > 0:
                xy[j, t] = to_original(points[t:t + 1], warp)[0]
                share[j, t] = best[t].item() / max(best[0].item(), 1e-9)
    return xy, share


def read_image(predictor, img: np.ndarray, truth: np.ndarray) -> dict:
    """Everything one image's cases are judged from, in image px."""
    from zoo.models.refinement import refine_landmarks

    coarse, scores = predictor.global_array(img)
    [model] = refine_landmarks([img], [np.eye(3)], [coarse], [scores], predictor.backend.refine, predictor.refine)
    [oracle] = refine_landmarks([img], [np.eye(3)], [truth], [np.ones(len(truth))], predictor.backend.refine,
                                predictor.refine)
    peaks, share = global_peaks(predictor, img)
    return {"coarse": coarse, "coarse_scores": scores, "final": model.coords, "final_scores": model.scores,
            "spread": model.spread, "from_truth": oracle.coords, "peaks": peaks, "peak_share": share}


def shape_view(shape_model, symbols, final: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(surprise (K,), estimate (K, 2)): each landmark's distance from where the shape model puts it given all the
    others, in the conditional standard deviations, and that place (NaN for landmarks it does not cover, the ruler
    points)."""
    from zoo.quality.shape_conditional import leave_one_out

    z = np.full(len(symbols), np.nan)
    estimate = np.full((len(symbols), 2), np.nan)
    if shape_model is None:
        return z, estimate
    index = [symbols.index(s) for s in shape_model.symbols]
    z[index], estimate[index] = leave_one_out(shape_model, final[index])
    return z, estimate


def cause_of(threshold_px: float, reach_px: float, coarse_err: float, oracle_err: float) -> str:
    if coarse_err > reach_px:
        return "global_miss"
    if oracle_err > threshold_px:
        return "refine_disagrees"
    if coarse_err <= threshold_px:
        return "refine_moved_away"
    return "refine_missed"


def draw_case(img: np.ndarray, case: dict, mm_per_px: float, path: Path, half_mm: float = 20.0) -> None:
    """A 40 mm crop around the truth: truth green, global point yellow, final red, other global peaks cyan,
    the shape model's estimate magenta; the 2 and 4 mm circles around the truth."""
    import cv2

    gray = img if img.ndim == 2 else img[..., 0]
    half = int(round(half_mm / mm_per_px))
    tx, ty = case["truth"]
    x0, y0 = int(round(tx)) - half, int(round(ty)) - half
    canvas = np.zeros((2 * half, 2 * half), np.uint8)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + 2 * half, gray.shape[1]), min(y0 + 2 * half, gray.shape[0])
    canvas[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = gray[sy0:sy1, sx0:sx1]
    side = 240
    f = side / (2 * half)
    out = cv2.cvtColor(cv2.resize(canvas, (side, side), interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2BGR)

    def at(xy):
        return int(round((xy[0] - x0) * f)), int(round((xy[1] - y0) * f))

    centre = at(case["truth"])
    for mm in THRESHOLDS_MM:
        cv2.circle(out, centre, int(round(mm / mm_per_px * f)), (0, 120, 0), 1, cv2.LINE_AA)
    for xy in case["other_peaks"]:
        cv2.drawMarker(out, at(xy), (255, 255, 0), cv2.MARKER_TILTED_CROSS, 9, 1, cv2.LINE_AA)
    if case["shape_estimate"] is not None:
        cv2.drawMarker(out, at(case["shape_estimate"]), (255, 0, 255), cv2.MARKER_DIAMOND, 9, 1, cv2.LINE_AA)
    cv2.drawMarker(out, at(case["coarse"]), (0, 220, 255), cv2.MARKER_SQUARE, 9, 1, cv2.LINE_AA)
    cv2.drawMarker(out, at(case["final"]), (0, 0, 255), cv2.MARKER_CROSS, 11, 2, cv2.LINE_AA)
    cv2.circle(out, centre, 3, (0, 255, 0), -1, cv2.LINE_AA)
    label = f"{case['image']} {case['landmark']} {case['error_mm']:.1f}mm {case['cause']}"
    cv2.putText(out, label, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), out, [cv2.IMWRITE_JPEG_QUALITY, 80])


def analyse(predictor, dataset, pictures: Path | None) -> dict:
    shape_model = predictor.quality.shape if predictor.quality is not None else None
    symbols = list(predictor.symbols)
    reach_px = predictor.refine.patch_size * predictor.refine.patch_scale / 2
    cases, per_image, z_ok = [], [], []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        truth = np.asarray(info["ori_keypoints"], np.float64)
        mm = float(info["spacing"])
        name = Path(info["img_path"]).stem
        img = predictor.load(Path(info["img_path"]), name)
        r = read_image(predictor, img, truth)
        z, estimate = shape_view(shape_model, symbols, r["final"])
        err = {k: np.hypot(*(r[k] - truth).T) for k in ("coarse", "final", "from_truth")}
        per_image.append({"image": name, "offset_mm": ((r["final"] - truth) * mm).round(3).tolist(),
                          "final_mm": (err["final"] * mm).round(3).tolist(),
                          "coarse_mm": (err["coarse"] * mm).round(3).tolist(), "z": np.round(z, 3).tolist()})
        for j, s in enumerate(symbols):
            if err["final"][j] * mm <= THRESHOLDS_MM[0]:
                z_ok.append(float(z[j]))
                continue
            peaks = r["peaks"][j]
            others = [p for p, sh in zip(peaks[1:], r["peak_share"][j][1:])
                      if np.isfinite(sh) and sh >= SECOND_PEAK_SHARE]
            # a secondary peak "was right" when it lies well inside the refine patch's reach of the truth
            right_peak = any(np.hypot(*(p - truth[j])) <= reach_px / 2 for p in others)
            threshold = THRESHOLDS_MM[1] if err["final"][j] * mm > THRESHOLDS_MM[1] else THRESHOLDS_MM[0]
            case = {"image": name, "landmark": s, "error_mm": float(err["final"][j] * mm),
                    "beyond_mm": threshold, "coarse_error_mm": float(err["coarse"][j] * mm),
                    "from_truth_error_mm": float(err["from_truth"][j] * mm),
                    "cause": cause_of(threshold / mm, reach_px, err["coarse"][j], err["from_truth"][j]),
                    "other_peak_was_right": bool(right_peak), "z": float(z[j]),
                    "shape_estimate_error_mm": (float(np.hypot(*(estimate[j] - truth[j])) * mm)
                                                if np.isfinite(estimate[j]).all() else None),
                    "final_score": float(r["final_scores"][j]), "coarse_score": float(r["coarse_scores"][j]),
                    "spread_px": float(r["spread"][j]) if np.isfinite(r["spread"][j]) else None,
                    "truth": truth[j].tolist(), "coarse": r["coarse"][j].tolist(), "final": r["final"][j].tolist(),
                    "other_peaks": [p.tolist() for p in others],
                    "shape_estimate": estimate[j].tolist() if np.isfinite(estimate[j]).all() else None}
            cases.append(case)
            if pictures is not None:
                pictures.mkdir(parents=True, exist_ok=True)
                draw_case(img, case, mm, pictures / f"{name}_{s.replace(chr(39), 'p')}_{case['cause']}.jpg")
        print(f"{name}: {int((err['final'] * mm > 2).sum())} beyond 2 mm, {int((err['final'] * mm > 4).sum())} "
              f"beyond 4 mm", flush=True)
    return {"cases": cases, "per_image": per_image, "z_within_2mm": z_ok, "reach_mm": reach_px * mm,
            "symbols": symbols}


def offsets(result: dict) -> dict:
    """Each landmark's mean offset (final - truth, image x right and y down, mm) with its standard error, and what
    taking it out would do, judged by leaving each image out of its own correction (the offsets are measured on
    the images they correct, so only a left-out image says what they would do to a new one)."""
    off = np.asarray([im["offset_mm"] for im in result["per_image"]])  # (N, K, 2)
    n = len(off)
    mean = off.mean(axis=0)
    se = off.std(axis=0, ddof=1) / np.sqrt(n)
    loo = (off.sum(axis=0)[None] - off) / (n - 1)
    before = np.hypot(*np.moveaxis(off, -1, 0))
    after = np.hypot(*np.moveaxis(off - loo, -1, 0))
    return {s: {"mean_mm": mean[j].round(3).tolist(), "se_mm": se[j].round(3).tolist(),
                "MRE_mm": float(before[:, j].mean()), "MRE_without_offset_loo_mm": float(after[:, j].mean())}
            for j, s in enumerate(result["symbols"])} | {
        "all": {"MRE_mm": float(before.mean()), "MRE_without_offset_loo_mm": float(after.mean()),
                "SDR_4mm": float((before <= 4).mean() * 100), "SDR_4mm_without_offset_loo": float(
                    (after <= 4).mean() * 100)}}


def summary(result: dict) -> dict:
    """Counts of causes per threshold and per landmark, and how well the shape model's z separates the cases."""
    out = {}
    z_ok = np.asarray([v for v in result["z_within_2mm"] if np.isfinite(v)])
    for t in THRESHOLDS_MM:
        cases = [c for c in result["cases"] if c["error_mm"] > t]
        by_cause = {c: sum(1 for x in cases if x["cause"] == c) for c in CAUSES}
        by_landmark = {}
        for c in cases:
            by_landmark.setdefault(c["landmark"], {k: 0 for k in CAUSES})[c["cause"]] += 1
        z_bad = np.asarray([c["z"] for c in cases if np.isfinite(c["z"])])
        separation = {f"z>{sd:g}": {"cases_flagged": int((z_bad > sd).sum()), "cases": int(len(z_bad)),
                                    "good_flagged": int((z_ok > sd).sum()), "good": int(len(z_ok))}
                      for sd in (2.0, 3.0, 4.0)}
        out[f"beyond_{t:g}mm"] = {"cases": len(cases), "by_cause": by_cause, "by_landmark": by_landmark,
                                  "other_peak_was_right": sum(c["other_peak_was_right"] for c in cases),
                                  "shape_estimate_within_threshold": sum(
                                      1 for c in cases if c["shape_estimate_error_mm"] is not None
                                      and c["shape_estimate_error_mm"] <= t),
                                  "shape_z_separation": separation}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a two-stage model file or name (e.g. isbi19); a .pth or .safetensors file")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="ISBI 2015 root (default $ZOO_ISBI_ROOT or ../shared/data/isbi2015)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--indices", default="130:150", help="images of the split (default: validation, 131-150)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--pictures", type=Path, help="folder for one picture per case")
    args = parser.parse_args(argv)
    if args.split != "train":
        raise SystemExit("the error anatomy reads validation images only: remedies are chosen from it")

    from zoo.clinical.benchmark import default_isbi_root
    from zoo.data.datasets.isbi2015 import ISBI2015Dataset
    from zoo.inference import Predictor

    dataset = ISBI2015Dataset(data_root=str(args.data_root or default_isbi_root()), split=args.split,
                              indices=args.indices, pipeline=[], test_mode=True)
    predictor = Predictor.from_path(args.model, orientation="fixed", scale="fixed")
    if predictor.refine is None or not hasattr(predictor.backend, "model"):
        raise SystemExit(f"{args.model}: needs a two-stage checkpoint or weights file (the heatmaps are read)")
    result = analyse(predictor, dataset, args.pictures)
    result["summary"] = summary(result)
    result["offsets"] = offsets(result)
    print(json.dumps(result["summary"], indent=1))
    print(json.dumps(result["offsets"]["all"]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        result.update(command=f"python {SCRIPT} " + " ".join(sys.argv[1:] if argv is None else argv),
                      model=str(args.model), split=args.split, indices=args.indices, images=len(dataset),
                      machine=platform.processor() or platform.machine())
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
