"""Orientation finding on real cephalograms: each image as it lies, mirrored left-right (truth mirrored too) and
turned by 90/180/270 degrees, through the predictor with ``orientation='auto'``.

What it answers: is a left-facing cephalogram read as well as a right-facing one (the MRE of the mirrored set
minus the original's), and how often each rearrangement is recognised.

    python benchmarks/orientation.py [MODEL] [--data ROOT] [--split test1] [--limit N] [--no-turns] [--csv FILE]

Each run appends one row to ``benchmarks/results/orientation.csv``.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

COLUMNS = ("started", "command", "model", "split", "images", "mre_mm_as_lies", "mre_mm_mirrored",
           "mre_mm_difference", "found_as_trained_pct", "found_mirrored_pct", "found_turned_pct", "min_margin",
           "seconds_per_image", "threads", "cpu", "cores", "platform", "torch", "python", "load_1min_start",
           "load_1min_end")
SPLITS = {"train": "TrainingData", "test1": "Test1Data", "test2": "Test2Data"}


def mirrored_truth(truth: np.ndarray, width: int) -> np.ndarray:
    return np.c_[width - 1 - truth[:, 0], truth[:, 1]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="isbi19")
    parser.add_argument("--data", default=None, help="ISBI 2015 root (default: the repository's data_root)")
    parser.add_argument("--split", default="test1", choices=sorted(SPLITS))
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--no-turns", action="store_true", help="skip the 90/180/270 degree checks")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--csv", default=None)
    args = parser.parse_args(argv)

    import torch

    from zoo.benchmarking.machine import machine_info
    from zoo.benchmarking.results_csv import append_rows, machine_columns
    from zoo.data.datasets.isbi2015 import read_isbi_annotation
    from zoo.data.imageio import decode, find_images
    from zoo.data.paths import repo_root
    from zoo.inference import Predictor
    from zoo.inference.orientation import ALL

    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(args.data) if args.data else repo_root() / ".." / "shared" / "data" / "isbi2015"
    images = find_images(root / "RawImage" / SPLITS[args.split])[: args.limit]
    if not images:
        print(f"no images under {root / 'RawImage' / SPLITS[args.split]}", file=sys.stderr)
        return 2
    started, machine = datetime.now().isoformat(timespec="seconds"), machine_info()
    predictor = Predictor.from_path(args.model, threads=args.threads, orientation="auto")
    spacing = 0.1
    err_lies, err_mirror, found, margins = [], [], {"as trained": 0, "mirrored": 0, "turned": 0}, []
    turned = [o for o in ALL if not o.mirrored and o.turns]
    t0 = time.perf_counter()
    for i, path in enumerate(images, 1):
        raw = decode(path)
        truth = read_isbi_annotation(root / "AnnotationsByMD" / "400_senior" / f"{path.stem}.txt")
        width = raw.shape[1]
        for label, img, want, sink in (("as trained", raw, truth, err_lies),
                                       ("mirrored", np.ascontiguousarray(raw[:, ::-1]), mirrored_truth(truth, width),
                                        err_mirror)):
            entry = predictor.predict(img, name=path.name, spacing_mm=spacing)
            coords = np.array([[lm["x"], lm["y"]] for lm in entry["landmarks"].values()])
            sink.append(float(np.linalg.norm(coords - want, axis=1).mean() * spacing))
            found[label] += entry["orientation"]["name"] == label
            margins.append(entry["orientation"]["margin"])
        if not args.no_turns:
            img = predictor.load(raw)
            for o in turned:  # the image turned so that `o` is what brings it back
                lying = np.ascontiguousarray(np.rot90(img, o.image_turned_deg // 90))
                finding = predictor.oriented_read(lying)[1]
                found["turned"] += finding.chosen == o
                margins.append(finding.margin)
        print(f"{i}/{len(images)} {path.name}: {err_lies[-1]:.3f} / {err_mirror[-1]:.3f} mm", file=sys.stderr)
    per_image = (time.perf_counter() - t0) / len(images)
    n = len(images)
    row = {"started": started, "command": "python benchmarks/orientation.py " + " ".join(argv or sys.argv[1:]),
           "model": args.model, "split": args.split, "images": n, "mre_mm_as_lies": float(np.mean(err_lies)),
           "mre_mm_mirrored": float(np.mean(err_mirror)),
           "mre_mm_difference": float(np.mean(err_mirror) - np.mean(err_lies)),
           "found_as_trained_pct": 100.0 * found["as trained"] / n, "found_mirrored_pct": 100.0 * found["mirrored"] / n,
           "found_turned_pct": None if args.no_turns else 100.0 * found["turned"] / (3 * n),
           "min_margin": float(min(margins)), "seconds_per_image": per_image, "threads": torch.get_num_threads(),
           **machine_columns({**machine, "load_average_at_end": list(__import__("os").getloadavg())})}
    out = append_rows(Path(args.csv) if args.csv else repo_root() / "benchmarks" / "results" / "orientation.csv",
                      COLUMNS, [row])
    for key in COLUMNS[4:13]:
        print(f"{key}: {row[key]}")
    print(f"appended to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
