"""Any machine's resolution (#39): ISBI 2015 cephalograms resized as other machines and archives store them, read by
the predictor with the pixel size given, unknown (estimated from the anatomy) and as it lies (how the zoo read every
image before #39), errors in mm against the senior annotation.

    python benchmarks/scale.py [MODEL] [--data ROOT] [--split test1] [--limit N] [--scales 1,0.5,0.75,1.25,1.5]
                               [--modes given,unknown,as-lies] [--threads T] [--orientation auto|fixed]
                               [--records FILE] [--csv FILE] [--table-only]

Each image is resized by each scale (``cv2.INTER_AREA`` down, ``INTER_CUBIC`` up: x0.5 is a 0.2 mm/px copy of a
0.1 mm/px film), its truth mapped into the copy's pixels, and the predicted landmarks mapped back to the film's
0.1 mm pixels before the error is taken, so every row's MRE is in the same millimetres. ``given``: the copy's pixel
size passed as ``spacing_mm``; ``unknown``: nothing passed, the predictor estimates it; ``as-lies``: the predictor
with ``scale='fixed'`` and nothing passed. The quality gate's verdict of every reading is counted; the time is the
predictor's alone (the image already decoded and resized), median per image.

Every reading is appended to ``--records`` as it is made (default ``work_dirs/scale_benchmark/MODEL_SPLIT.jsonl``),
so the same command resumes where it stopped; at the end one row per scale and mode is appended to
``benchmarks/results/scale.csv`` and the table of ``docs/scale.md`` is printed (``--table-only``: print it from the
records, measure nothing).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

COLUMNS = ("started", "command", "model", "split", "images", "scale", "mm_per_pixel", "mode", "mre_mm",
           "native_mre_mm", "mre_difference_mm", "sdr_2mm", "sdr_4mm", "ok", "suspect", "reject", "unchecked",
           "factor_median", "estimate_error_median_pct", "estimate_error_max_pct", "seconds_per_image",
           "seconds_as_lies", "threads", "orientation", "cpu", "cores", "platform", "torch", "python",
           "load_1min_start", "load_1min_end")
SPLITS = {"train": "TrainingData", "test1": "Test1Data", "test2": "Test2Data"}
MODES = ("given", "unknown", "as-lies")
NATIVE_MM = 0.1  # ISBI 2015's pixel size


def resized(img: np.ndarray, scale: float) -> tuple[np.ndarray, float, float]:
    """``img`` stored at ``scale`` times its resolution, and the per-axis factors ``cv2.resize`` really applied."""
    import cv2

    if scale == 1.0:
        return img, 1.0, 1.0
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    out = cv2.resize(img, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return out, size[0] / w, size[1] / h


def to_film(xy: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Pixels of a copy resized by (sx, sy) -> the film's pixels (centres at integers, as cv2 maps them)."""
    return (np.asarray(xy, np.float64) + 0.5) / [sx, sy] - 0.5


def read_one(predictor, img, mode: str, spacing: float) -> tuple[dict, float]:
    """One reading in ``mode`` and the predictor's time for it."""
    predictor.scale_mode = "fixed" if mode == "as-lies" else "auto"
    t0 = time.perf_counter()
    entry = predictor.predict(img, name="copy", spacing_mm=spacing if mode == "given" else None)
    return entry, time.perf_counter() - t0


def record(path_name: str, scale: float, mode: str, entry: dict, seconds: float, truth: np.ndarray, sx: float,
           sy: float, copy_mm: float) -> dict:
    xy = np.array([[lm["x"], lm["y"]] for lm in entry["landmarks"].values()])
    errors = np.linalg.norm(to_film(xy, sx, sy) - truth, axis=1) * NATIVE_MM
    scale_block = entry.get("scale") or {}
    estimate = scale_block.get("estimate_mm_per_pixel")
    return {"image": path_name, "scale": scale, "mode": mode, "mm_per_pixel": copy_mm,
            "errors_mm": [round(float(e), 4) for e in errors], "status": entry["quality"]["status"],
            "reasons": entry["quality"]["reasons"], "factor": scale_block.get("factor"),
            "source": scale_block.get("source"), "estimate_mm_per_pixel": estimate,
            "seconds": round(seconds, 4)}


def load_records(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a stop mid-write: that reading is made again
                continue
    return out


def summarise(records: list[dict], scales, modes) -> list[dict]:
    """One row per scale and mode, over the images read in every one of them (so each row is the same images)."""
    by_key = {(r["image"], r["scale"], r["mode"]): r for r in records}
    images = sorted({r["image"] for r in records})
    common = [i for i in images if all((i, s, m) in by_key for s in scales for m in modes)]
    if not common:
        return []

    def errors(scale, mode):
        return np.array([by_key[(i, scale, mode)]["errors_mm"] for i in common])

    native_mode = "given" if "given" in modes else modes[0]
    native = float(errors(1.0, native_mode).mean()) if 1.0 in scales else None
    rows = []
    for scale in scales:
        lies = [by_key[(i, scale, "as-lies")]["seconds"] for i in common] if "as-lies" in modes else None
        for mode in modes:
            recs = [by_key[(i, scale, mode)] for i in common]
            err = errors(scale, mode)
            status = [r["status"] for r in recs]
            est = [abs(r["estimate_mm_per_pixel"] / r["mm_per_pixel"] - 1) * 100 for r in recs
                   if r.get("estimate_mm_per_pixel")] if mode == "unknown" else []
            mre = float(err.mean())
            rows.append({"images": len(common), "scale": scale, "mm_per_pixel": round(NATIVE_MM / scale, 5),
                         "mode": mode, "mre_mm": mre, "native_mre_mm": native,
                         "mre_difference_mm": None if native is None else mre - native,
                         "sdr_2mm": float((err <= 2.0).mean() * 100), "sdr_4mm": float((err <= 4.0).mean() * 100),
                         **{k: status.count(k) for k in ("ok", "suspect", "reject", "unchecked")},
                         "factor_median": float(np.median([r["factor"] or 1.0 for r in recs])),
                         "estimate_error_median_pct": float(np.median(est)) if est else None,
                         "estimate_error_max_pct": float(np.max(est)) if est else None,
                         "seconds_per_image": float(np.median([r["seconds"] for r in recs])),
                         "seconds_as_lies": float(np.median(lies)) if lies else None})
    return rows


def table(rows: list[dict]) -> str:
    """The docs' table: one line per scale, the modes side by side."""
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    head = (["copy of the 0.1 mm/px film"] + [f"MRE mm, {m} (vs native)" for m in modes]
            + [f"verdicts {m} (ok/suspect/reject)" for m in modes]
            + ["estimate off (median / max)", "s/image given / as-lies"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scale in dict.fromkeys(r["scale"] for r in rows):
        cells = {r["mode"]: r for r in rows if r["scale"] == scale}
        first = next(iter(cells.values()))
        row = [f"x{scale:g} ({first['mm_per_pixel']:.3g} mm/px)"]
        for m in modes:
            r = cells[m]
            diff = "" if r["mre_difference_mm"] is None else f" ({r['mre_difference_mm']:+.3f})"
            row.append(f"{r['mre_mm']:.3f}{diff}")
        row += [f"{cells[m]['ok']}/{cells[m]['suspect']}/{cells[m]['reject']}" for m in modes]
        unknown = cells.get("unknown")
        row.append("-" if not unknown or unknown["estimate_error_median_pct"] is None else
                   f"{unknown['estimate_error_median_pct']:.1f} % / {unknown['estimate_error_max_pct']:.1f} %")
        given, lies = cells.get("given"), cells.get("as-lies")
        row.append(f"{given['seconds_per_image']:.2f} / {lies['seconds_per_image']:.2f}" if given and lies else "-")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="isbi19")
    parser.add_argument("--data", default=None, help="ISBI 2015 root (default: ../shared/data/isbi2015)")
    parser.add_argument("--split", default="test1", choices=sorted(SPLITS))
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--scales", default="1,0.5,0.75,1.25,1.5", help="resolution factors; 1 is the native row")
    parser.add_argument("--modes", default=",".join(MODES), help=f"any of {', '.join(MODES)}")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--orientation", default="auto", choices=("auto", "fixed"),
                        help="the predictor's orientation finding (auto, as zoo predict runs it, adds 8 global "
                             "passes per reading)")
    parser.add_argument("--records", default=None)
    parser.add_argument("--csv", default=None)
    parser.add_argument("--table-only", action="store_true", help="print the table from the records, measure nothing")
    args = parser.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",")]
    modes = [m.strip() for m in args.modes.split(",")]
    if not all(m in MODES for m in modes) or not all(0.1 <= s <= 4 for s in scales):
        parser.error(f"--modes takes {', '.join(MODES)}; --scales factors in 0.1-4")

    from zoo.data.paths import repo_root

    records_path = Path(args.records) if args.records else (
        repo_root() / "work_dirs" / "scale_benchmark" / f"{Path(args.model).stem}_{args.split}.jsonl")
    records = load_records(records_path)
    if args.table_only:
        rows = summarise(records, scales, modes)
        print(table(rows) if rows else f"no image read at every scale and mode in {records_path}")
        return 0 if rows else 2

    import torch

    from zoo.benchmarking.machine import machine_info
    from zoo.benchmarking.results_csv import append_rows, machine_columns
    from zoo.data.datasets.isbi2015 import read_isbi_annotation
    from zoo.data.imageio import decode, find_images
    from zoo.inference import Predictor
    from zoo.registry import load_plugins

    load_plugins()
    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(args.data) if args.data else repo_root() / ".." / "shared" / "data" / "isbi2015"
    images = find_images(root / "RawImage" / SPLITS[args.split])[: args.limit]
    if not images:
        print(f"no images under {root / 'RawImage' / SPLITS[args.split]}", file=sys.stderr)
        return 2
    started, machine = datetime.now().isoformat(timespec="seconds"), machine_info()
    predictor = Predictor.from_path(args.model, threads=args.threads, orientation=args.orientation)
    done = {(r["image"], r["scale"], r["mode"]) for r in records}
    records_path.parent.mkdir(parents=True, exist_ok=True)
    with records_path.open("a", encoding="utf-8") as sink:
        for i, path in enumerate(images, 1):
            todo = [(s, m) for s in scales for m in modes if (path.name, s, m) not in done]
            if not todo:
                continue
            film = decode(path)
            truth = read_isbi_annotation(root / "AnnotationsByMD" / "400_senior" / f"{path.stem}.txt")
            for scale in dict.fromkeys(s for s, _ in todo):
                img, sx, sy = resized(film, scale)
                copy_mm = NATIVE_MM * 2 / (sx + sy)
                for mode in [m for s, m in todo if s == scale]:
                    entry, seconds = read_one(predictor, img, mode, copy_mm)
                    rec = record(path.name, scale, mode, entry, seconds, truth, sx, sy, copy_mm)
                    sink.write(json.dumps(rec) + "\n")
                    sink.flush()
                    records.append(rec)
                    print(f"{i}/{len(images)} {path.name} x{scale:g} {mode}: {np.mean(rec['errors_mm']):.3f} mm, "
                          f"{rec['status']}, factor {rec['factor']}, {seconds:.2f} s", file=sys.stderr)
    rows = summarise(records, scales, modes)
    if not rows:
        print("no image was read at every scale and mode", file=sys.stderr)
        return 2
    command = "python benchmarks/scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
    common = {"started": started, "command": command, "model": args.model, "split": args.split,
              "threads": torch.get_num_threads(), "orientation": args.orientation,
              **machine_columns({**machine, "load_average_at_end": list(os.getloadavg())})}
    out = append_rows(Path(args.csv) if args.csv else repo_root() / "benchmarks" / "results" / "scale.csv",
                      COLUMNS, [{**common, **row} for row in rows])
    print(table(rows))
    print(f"appended {len(rows)} rows to {out}; readings in {records_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
