"""What kind of error is left: a fixed offset per landmark, or spread that averaging models would remove.

    python projects/two_stage_isbi/scripts/error_anatomy.py PRED.json [PRED.json ...] \
        [--data ../shared/data/isbi2015] [--out FILE.json]

Each PRED.json is a predictions file (``zoo test --predictions``, ``zoo predict --out``) on ISBI 2015 images.
For every file, and for the mean of all of them (an ensemble of the runs given), it reports per landmark and
overall:

- the mean radial error (mm),
- the landmark's offset from the truth, (dx, dy) mm: the geometric median of its errors over the images, the
  one shift that minimises the mean radial error; what the model gets wrong the same way on every image (a
  convention of the annotation, or a shift between these images and the training ones),
- the mean radial error once that offset is taken out: the spread alone.

The offset is measured on the same images it is taken out of, so the last column is a bound on what any
per-landmark correction could give, not a method; and the ensemble column says how much of a single run's error
is run-to-run variance. Neither selects anything: it is an analysis of predictions already scored.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
SCRIPT = "projects/two_stage_isbi/scripts/error_anatomy.py"  # as the results record the command

from zoo.clinical.benchmark import default_isbi_root, image_id, landmarks_array, read_truth, truth_file  # noqa: E402
from zoo.clinical.isbi import ISBI_MM_PER_PIXEL, ISBI_SYMBOLS  # noqa: E402
from zoo.clinical.predictions import read_predictions  # noqa: E402


def predicted_points(path: Path) -> dict[int, np.ndarray]:
    """ISBI image number -> (19, 2) predicted px, from one predictions file."""
    return {image_id(e.get("image", "")): landmarks_array(e["landmarks"], f"{path}, {e.get('image')}")
            for e in read_predictions(path)}


def geometric_median(points: np.ndarray, iters: int = 200) -> np.ndarray:
    """The point with the least summed distance to ``points`` (N, 2): Weiszfeld's iteration from the mean."""
    centre = points.mean(axis=0)
    for _ in range(iters):
        dist = np.maximum(np.hypot(*(points - centre).T), 1e-12)
        moved = (points / dist[:, None]).sum(axis=0) / (1.0 / dist).sum()
        if np.hypot(*(moved - centre)) < 1e-9:
            return moved
        centre = moved
    return centre


def anatomy(pred: np.ndarray, truth: np.ndarray, mm_per_px: float) -> dict:
    """Per landmark and overall: MRE, offset and MRE without it (mm), for (N, K, 2) px arrays."""
    diff = (pred - truth) * mm_per_px
    offset = np.stack([geometric_median(diff[:, k]) for k in range(diff.shape[1])])  # (K, 2)
    mre = np.hypot(*diff.transpose(2, 0, 1)).mean(axis=0)
    spread = np.hypot(*(diff - offset).transpose(2, 0, 1)).mean(axis=0)
    per = {s: {"mre": float(m), "offset_xy": [float(v) for v in o], "mre_without_offset": float(w)}
           for s, m, o, w in zip(ISBI_SYMBOLS, mre, offset, spread)}
    return {"all": {"mre": float(mre.mean()), "mre_without_offset": float(spread.mean())}, "per_landmark": per}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("predictions", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, default=None, help="ISBI 2015 root (default: ../shared/data/isbi2015)")
    ap.add_argument("--annotator", choices=("senior", "junior"), default="senior")
    ap.add_argument("--out", type=Path, help="write the figures as JSON")
    args = ap.parse_args(argv)
    root = args.data or default_isbi_root()
    runs = {str(p): predicted_points(p) for p in args.predictions}
    images = sorted(set.intersection(*(set(r) for r in runs.values())))
    if not images:
        ap.error("the predictions files share no ISBI image")
    truth = np.stack([read_truth(truth_file(root, i, args.annotator)) for i in images])
    stacked = {name: np.stack([r[i] for i in images]) for name, r in runs.items()}
    results = {name: anatomy(p, truth, ISBI_MM_PER_PIXEL) for name, p in stacked.items()}
    if len(stacked) > 1:
        results["ensemble (mean of the runs)"] = anatomy(np.mean(list(stacked.values()), axis=0), truth,
                                                         ISBI_MM_PER_PIXEL)
    print(f"{len(images)} images, truth = {args.annotator} annotation; mean radial error in mm "
          "(with / without each landmark's offset)")
    names = list(results)
    for k, name in enumerate(names):
        print(f"  [{k}] {name}")
    print("landmark " + " ".join(f"{f'[{k}]':>13}" for k in range(len(names))) + "   offset of [0] (dx, dy)")
    def cells(key):
        return " ".join(f"{r['mre']:6.2f}/{r['mre_without_offset']:<6.2f}"
                        for r in (results[n]["all"] if key is None else results[n]["per_landmark"][key]
                                  for n in names))

    for s in ISBI_SYMBOLS:
        dx, dy = results[names[0]]["per_landmark"][s]["offset_xy"]
        print(f"{s:8} {cells(s)}   ({dx:+.2f}, {dy:+.2f})")
    print(f"{'all':8} {cells(None)}")
    if args.out:
        command = f"python {SCRIPT} " + " ".join(sys.argv[1:] if argv is None else argv)
        args.out.write_text(json.dumps({"command": command, "images": len(images), "annotator": args.annotator,
                                        "machine": platform.machine(), "results": results}, indent=2),
                            encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
