"""ISBI 2015 classification benchmark: per-measure diagonal-average accuracy of predicted landmarks.

    python tools/isbi_classification.py --pred preds.json [--data ../shared/data/isbi2015]
    python tools/isbi_classification.py --truth-vs-truth --split test1   # sanity: must print 100 %
    python tools/isbi_classification.py --simulate-mre 1.0            # reference: iid Gaussian errors

Truth classes are computed from the senior annotation (our copy lacks the official labels); classes
use the challenge's formulas with its fixed 0.1 mm/px.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo.clinical import isbi  # noqa: E402
from zoo.clinical.benchmark import (  # noqa: E402
    SPLITS,
    default_isbi_root,
    image_id,
    landmarks_array,
    read_truth,
    score,
    simulated_report,
    to_markdown,
    truth_file,
)
from zoo.clinical.errors import ClinicalError  # noqa: E402
from zoo.clinical.predictions import read_predictions  # noqa: E402


def collect(pred: Path | None, root: Path, split: str, annotator: str) -> tuple[list, list]:
    truth_cls, pred_cls = [], []
    if pred is None:  # truth against itself
        for i in SPLITS[split]:
            f = truth_file(root, i, annotator)
            if f.is_file():
                c = isbi.measure_classes(read_truth(f))
                truth_cls.append(c)
                pred_cls.append(dict(c))
        if not truth_cls:
            raise ClinicalError(f"no {annotator} annotations for split {split!r} under {root}")
        return truth_cls, pred_cls
    for n, entry in enumerate(read_predictions(pred)):
        where = f"predictions file {pred}, entry {n} ({entry.get('image')})"
        i = image_id(entry.get("image", ""))
        if i not in SPLITS[split]:
            continue
        truth_cls.append(isbi.measure_classes(read_truth(truth_file(root, i, annotator))))
        pred_cls.append(isbi.measure_classes(landmarks_array(entry["landmarks"], where)))
    if not truth_cls:
        raise ClinicalError(f"predictions file {pred}: no image of split {split!r} in it")
    return truth_cls, pred_cls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pred", type=Path, help="predictions JSON (zoo predict --out)")
    ap.add_argument("--data", type=Path, default=None,
                    help="ISBI 2015 root (default $ZOO_ISBI_ROOT or ../shared/data/isbi2015)")
    ap.add_argument("--split", choices=sorted(SPLITS), default="test1")
    ap.add_argument("--annotator", choices=("senior", "junior"), default="senior")
    ap.add_argument("--truth-vs-truth", action="store_true", help="score the truth against itself (must be 100%%)")
    ap.add_argument("--simulate-mre", type=float, metavar="MM",
                    help="score the truth plus iid isotropic Gaussian errors of this mean radial error (mm)")
    ap.add_argument("--seeds", type=int, default=5, help="draws averaged by --simulate-mre")
    ap.add_argument("--json", type=Path, help="also write the full report (with confusion matrices) here")
    args = ap.parse_args(argv)
    if args.pred is None and not args.truth_vs_truth and args.simulate_mre is None:
        ap.error("give --pred PREDICTIONS.json, --truth-vs-truth or --simulate-mre MM")
    root = args.data or default_isbi_root()
    try:
        if args.simulate_mre is not None:
            files = [truth_file(root, i, args.annotator) for i in SPLITS[args.split]]
            xys = [read_truth(f) for f in files if f.is_file()]
            if not xys:
                raise ClinicalError(f"no {args.annotator} annotations for split {args.split!r} under {root}")
            report = simulated_report(xys, args.simulate_mre, args.seeds)
            source = (f"truth + iid Gaussian errors, MRE {args.simulate_mre:g} mm "
                      f"(sigma {report['simulated']['sigma_px']:.2f} px), mean of {args.seeds} draws")
        else:
            truth, pred = collect(None if args.truth_vs_truth else args.pred, root, args.split, args.annotator)
            report = score(truth, pred)
            source = "truth vs truth" if args.truth_vs_truth else str(args.pred)
    except ClinicalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"ISBI 2015 {args.split}: {report['n_images']} images, truth = {args.annotator} annotation, "
          f"predictions = {source}\n")
    print(to_markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
