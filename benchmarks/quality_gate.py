"""The quality gate and the per-landmark uncertainty on real cephalograms and on images the model cannot read.

Every image goes through the predictor as ``zoo predict`` runs it (orientation found, verdict and uncertainty from
the model's own ``quality`` block). Sets: the clean images; ``HANDLED`` rearrangements the predictor undoes
(mirrored, quarter turns: these must pass); ``GARBAGE`` made from each image (noise, crops, 30-60 degree turns, a
3 mm blur, other radiographs: see ``benchmarks/unfamiliar_inputs.py``).

    python benchmarks/quality_gate.py [MODEL] [--split test1] [--limit N] [--sets clean,noise,...] [--threads T]
    python benchmarks/quality_gate.py MODEL --tune --split train --limit 40   # choose the threshold multipliers
    python benchmarks/quality_gate.py --plot RECORDS.jsonl --out docs/images/uncertainty_calibration.png

Measuring appends one row per set to ``benchmarks/results/quality_gate.csv`` and one to
``benchmarks/results/uncertainty_calibration.csv``, and writes every image's record (signals, verdict, errors,
radii) to ``--records`` (JSON lines) for the calibration plot. ``--tune`` judges the records with thresholds
recomputed from the validation images' signals for a grid of multipliers, on training images only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from unfamiliar_inputs import GARBAGE, HANDLED  # noqa: E402

COLUMNS = ("started", "command", "model", "split", "set", "kind", "images", "ok_pct", "suspect_pct", "reject_pct",
           "flagged_pct", "mre_mm_all", "mre_mm_passed", "images_with_truth", "seconds_per_image", "threads", "cpu",
           "cores", "platform", "torch", "python", "load_1min_start", "load_1min_end")
UNC_COLUMNS = ("started", "command", "model", "split", "landmarks", "nominal_pct", "observed_pct",
               "median_radius_mm", "spearman_radius_error", "cpu", "cores", "platform", "torch", "python",
               "load_1min_start", "load_1min_end")
SPLITS = {"train": "TrainingData", "test1": "Test1Data", "test2": "Test2Data"}
SPACING = 0.1
NOMINAL = (0.5, 0.68, 0.8, 0.9, 0.95)


def _images(root: Path, split: str, start: int, limit):
    from zoo.data.imageio import find_images

    images = find_images(root / "RawImage" / SPLITS[split])
    return images[start:start + limit if limit else None]


def measure(predictor, root: Path, images, sets, seed: int, log) -> list[dict]:
    """Every image of every set through the predictor: one record each."""
    from zoo.data.datasets.isbi2015 import read_isbi_annotation
    from zoo.data.imageio import decode

    makers = {"clean": None, **HANDLED, **GARBAGE}
    records = []
    for i, path in enumerate(images):
        raw = predictor.load(decode(path), path.name)
        truth = read_isbi_annotation(root / "AnnotationsByMD" / "400_senior" / f"{path.stem}.txt")
        for name in sets:
            rng = np.random.default_rng([seed, i, sorted(makers).index(name)])
            img, want = (raw, truth) if makers[name] is None else makers[name](raw, truth, rng)
            t0 = time.perf_counter()
            entry = predictor.predict(img, name=path.name, spacing_mm=SPACING)
            seconds = time.perf_counter() - t0
            coords = np.array([[lm["x"], lm["y"]] for lm in entry["landmarks"].values()])
            rec = {"set": name, "image": path.name, "status": entry["quality"]["status"],
                   "reasons": entry["quality"]["reasons"], "signals": entry["quality"]["signals"],
                   "seconds": seconds}
            if want is not None:
                errors = np.linalg.norm(coords - want, axis=1)
                rec["mre_mm"] = float(errors.mean() * SPACING)
                rec["errors_px"] = [round(float(e), 3) for e in errors]
                rec["radius_px"] = [lm.get("uncertainty_px") for lm in entry["landmarks"].values()]
            records.append(rec)
        log(f"{i + 1}/{len(images)} {path.name}: " + " ".join(f"{r['set']}={r['status']}"
                                                              for r in records[-len(sets):]))
    return records


def summarise(records, sets) -> list[dict]:
    rows = []
    for name in sets:
        rs = [r for r in records if r["set"] == name]
        n = len(rs)
        count = {s: sum(r["status"] == s for r in rs) for s in ("ok", "suspect", "reject")}
        truth = [r for r in rs if "mre_mm" in r]
        passed = [r["mre_mm"] for r in truth if r["status"] == "ok"]
        rows.append({"set": name, "kind": "clean" if name == "clean" else "handled" if name in HANDLED else "garbage",
                     "images": n, "ok_pct": 100.0 * count["ok"] / n, "suspect_pct": 100.0 * count["suspect"] / n,
                     "reject_pct": 100.0 * count["reject"] / n, "flagged_pct": 100.0 * (n - count["ok"]) / n,
                     "mre_mm_all": float(np.mean([r["mre_mm"] for r in truth])) if truth else None,
                     "mre_mm_passed": float(np.mean(passed)) if passed else None, "images_with_truth": len(truth),
                     "seconds_per_image": float(np.mean([r["seconds"] for r in rs]))})
    return rows


def coverage_rows(records) -> list[dict]:
    """Observed share of clean landmarks within the radius scaled to each nominal coverage (Gaussian ratio)."""
    clean = [r for r in records if r["set"] == "clean" and r.get("radius_px") and None not in r["radius_px"]]
    if not clean:
        return []
    err = np.concatenate([r["errors_px"] for r in clean])
    r90 = np.concatenate([r["radius_px"] for r in clean])
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731
    rho = float(np.corrcoef(rank(r90), rank(err))[0, 1])
    out = []
    for p in NOMINAL:
        radius = r90 * np.sqrt(np.log1p(-p) / np.log1p(-0.9))
        observed = 100.0 * float(np.mean(err <= radius))
        out.append({"landmarks": len(err), "nominal_pct": 100 * p, "observed_pct": observed,
                    "median_radius_mm": float(np.median(radius) * SPACING), "spearman_radius_error": rho})
    return out


def tune(records, val_records, held_out_shapes=()) -> None:
    """Flag rates of the training records under thresholds recomputed from the validation records' signals (and the
    held-out training shapes' distances, as ``zoo checkpoint calibrate`` does)."""
    from zoo.calibration import threshold_for
    from zoo.quality import SIGNALS
    from zoo.quality.gate import judge

    names = list(val_records[0]["signals"])
    sets = sorted({r["set"] for r in records}, key=lambda s: (s != "clean", s))
    print("suspect_sd reject_sd " + " ".join(f"{s:>12}" for s in sets))
    for suspect_sd in (3.0, 4.0, 6.0, 8.0):
        for reject_sd in (8.0, 12.0, 16.0):
            if reject_sd <= suspect_sd:
                continue
            clean = {n: [r["signals"][n] for r in val_records if r["signals"][n] is not None] for n in names}
            clean["shape_distance"] += list(held_out_shapes)
            th = {n: threshold_for(clean[n], SIGNALS[n][0], suspect_sd, reject_sd) for n in names}
            cells = []
            for s in sets:
                rs = [r for r in records if r["set"] == s]
                flagged = sum(judge({k: (np.inf if v is None else v) for k, v in r["signals"].items()}, th).status
                              != "ok" for r in rs)
                cells.append(f"{100.0 * flagged / len(rs):11.1f}%")
            print(f"{suspect_sd:10g} {reject_sd:9g} " + " ".join(cells))
    for n in names:
        for s in sets:
            v = [r["signals"][n] for r in records if r["set"] == s and r["signals"][n] is not None]
            print(f"{n:20s} {s:14s} " + " ".join(f"{x:8.3f}" for x in np.percentile(v, [0, 5, 50, 95, 100])))
        v = [r["signals"][n] for r in val_records if r["signals"][n] is not None]
        print(f"{n:20s} {'validation':14s} " + " ".join(f"{x:8.3f}" for x in np.percentile(v, [0, 5, 50, 95, 100])))


def plot(records_path: Path, out: Path) -> None:
    """Reliability diagram (nominal vs observed coverage) and predicted radius vs error, from measured records."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in records_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = coverage_rows(records)
    clean = [r for r in records if r["set"] == "clean" and r.get("radius_px")]
    err = np.concatenate([r["errors_px"] for r in clean]) * SPACING
    r90 = np.concatenate([r["radius_px"] for r in clean]) * SPACING
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    a.plot([40, 100], [40, 100], "k--", lw=1, label="perfect calibration")
    a.plot([r["nominal_pct"] for r in rows], [r["observed_pct"] for r in rows], "o-", label="observed")
    a.set(xlabel="claimed coverage of the radius (%)", ylabel="landmarks within it (%)",
          title=f"Coverage on {len(clean)} images ({len(err)} landmarks)")
    a.legend()
    edges = np.quantile(r90, np.linspace(0, 1, 11))
    idx = np.clip(np.searchsorted(edges, r90, side="right") - 1, 0, 9)
    centres = [np.median(r90[idx == k]) for k in range(10)]
    q90 = [np.quantile(err[idx == k], 0.9) for k in range(10)]
    b.scatter(r90, err, s=3, alpha=0.25, label="one landmark")
    b.plot(centres, q90, "o-", color="C3", label="90th percentile of the error, per decile of radius")
    top = float(np.quantile(np.r_[r90, err], 0.995))
    b.plot([0, top], [0, top], "k--", lw=1, label="radius = error")
    b.set(xlim=(0, top), ylim=(0, top), xlabel="reported 90 % radius (mm)", ylabel="radial error (mm)",
          title="Reported radius vs. error")
    b.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="isbi19")
    parser.add_argument("--data", default=None, help="ISBI 2015 root (default: the repository's data_root)")
    parser.add_argument("--split", default="test1", choices=sorted(SPLITS))
    parser.add_argument("--start", type=int, default=0, help="skip the first N images of the split")
    parser.add_argument("--limit", type=int, default=None, help="only N images")
    parser.add_argument("--sets", default=",".join(["clean", *HANDLED, *GARBAGE]))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--records", default=None, help="JSON lines of every image's record")
    parser.add_argument("--csv", default=None)
    parser.add_argument("--tune", action="store_true",
                        help="judge with thresholds recomputed for a grid of multipliers (training images only)")
    parser.add_argument("--plot", default=None, help="records file to draw the calibration plot from")
    parser.add_argument("--out", default=None, help="the plot's PNG")
    args = parser.parse_args(argv)
    if args.plot:
        plot(Path(args.plot), Path(args.out or "uncertainty_calibration.png"))
        return 0

    import torch

    from zoo.benchmarking.machine import machine_info
    from zoo.benchmarking.results_csv import append_rows, machine_columns
    from zoo.data.paths import repo_root
    from zoo.inference import Predictor
    from zoo.registry import load_plugins

    load_plugins()
    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(args.data) if args.data else repo_root() / ".." / "shared" / "data" / "isbi2015"
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = set(sets) - {"clean", *HANDLED, *GARBAGE}
    if unknown:
        print(f"unknown sets {sorted(unknown)}; known: clean, {', '.join([*HANDLED, *GARBAGE])}", file=sys.stderr)
        return 2
    if args.tune and args.split != "train":
        print("--tune chooses thresholds: it runs on training images only (--split train)", file=sys.stderr)
        return 2
    images = _images(root, args.split, args.start, args.limit)
    if not images:
        print(f"no images under {root / 'RawImage' / SPLITS[args.split]}", file=sys.stderr)
        return 2
    predictor = Predictor.from_path(args.model, threads=args.threads, orientation="auto")
    if predictor.quality is None:
        print(f"{args.model} carries no quality calibration; run `zoo checkpoint calibrate` first", file=sys.stderr)
        return 2
    started, machine = datetime.now().isoformat(timespec="seconds"), machine_info()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    records = measure(predictor, root, images, sets, args.seed, log)
    if args.records:
        Path(args.records).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    if args.tune:
        from zoo.calibration import dataset_samples, fit_shape_model

        _, shapes, labelled = dataset_samples(predictor.meta["config"]["train_dataloader"]["dataset"], args.data)
        val = measure(predictor, root, _images(root, "train", 130, 20), ["clean"], args.seed, log)
        tune(records, val, fit_shape_model(shapes, labelled, predictor.symbols)[1])
        return 0
    command = "python benchmarks/quality_gate.py " + " ".join(argv if argv is not None else sys.argv[1:])
    common = {"started": started, "command": command, "model": args.model, "split": args.split}
    tail = machine_columns({**machine, "load_average_at_end": list(__import__("os").getloadavg())})
    results = repo_root() / "benchmarks" / "results"
    rows = [{**common, **row, "threads": torch.get_num_threads(), **tail} for row in summarise(records, sets)]
    out = append_rows(Path(args.csv) if args.csv else results / "quality_gate.csv", COLUMNS, rows)
    for row in rows:
        print(f"{row['set']:14s} {row['kind']:8s} n={row['images']:4d} ok {row['ok_pct']:5.1f}%  suspect "
              f"{row['suspect_pct']:5.1f}%  reject {row['reject_pct']:5.1f}%  MRE all {row['mre_mm_all']}  "
              f"passed {row['mre_mm_passed']}")
    unc = [{**common, **row, **tail} for row in coverage_rows(records)]
    if unc:
        append_rows(results / "uncertainty_calibration.csv", UNC_COLUMNS, unc)
        for row in unc:
            print(f"coverage nominal {row['nominal_pct']:.0f}% observed {row['observed_pct']:.1f}% "
                  f"(median radius {row['median_radius_mm']:.2f} mm, spearman {row['spearman_radius_error']:.3f})")
    print(f"appended to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
