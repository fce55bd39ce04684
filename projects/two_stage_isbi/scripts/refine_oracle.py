"""Where a two-stage model's error comes from, per landmark: the global stage, or the refine stage itself.

    python projects/two_stage_isbi/scripts/refine_oracle.py CKPT [--split train --indices 130:150] [--data-root DIR] \
        [--out FILE.json]

For every image the refine stage is run twice with the checkpoint's own refine settings (window, views, passes):
once on patches centred on the global stage's estimates, as the model predicts, and once on patches centred on
the truth, as if the global stage were perfect. The mean radial errors per landmark of the global stage, of the
model, and of the refine stage from the truth say which stage a landmark's error belongs to: a landmark whose
error stays high from the truth needs a better refine stage, one whose error falls needs a better global stage.
An analysis, not a selection: it reads the truth, so it never chooses a model.
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
SCRIPT = "projects/two_stage_isbi/scripts/refine_oracle.py"  # as the results record the command


def stage_errors(predictor, dataset) -> dict:
    """``{'global': (N, K), 'model': (N, K), 'refine_from_truth': (N, K)}`` radial errors in mm."""
    from zoo.models.refinement import refine_landmarks

    errors = {"global": [], "model": [], "refine_from_truth": []}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        truth = np.asarray(info["ori_keypoints"], np.float64)
        img = predictor.load(Path(info["img_path"]), str(info["img_path"]))
        coarse, scores = predictor.global_array(img)
        [(model, *_)] = refine_landmarks([img], [np.eye(3)], [coarse], [scores], predictor.backend.refine,
                                           predictor.refine)
        [(oracle, *_)] = refine_landmarks([img], [np.eye(3)], [truth], [np.ones(len(truth))],
                                            predictor.backend.refine, predictor.refine)
        for key, xy in (("global", coarse), ("model", model), ("refine_from_truth", oracle)):
            errors[key].append(np.hypot(*(xy - truth).T) * float(info["spacing"]))
    return {k: np.asarray(v) for k, v in errors.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data-root", type=Path, default=None,
                        help="ISBI 2015 root (default $ZOO_ISBI_ROOT or ../shared/data/isbi2015)")
    parser.add_argument("--split", default="train", help="ISBI split: train, test1 or test2")
    parser.add_argument("--indices", default="130:150", help="images of the split (default: the held-out 131-150)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)

    from zoo.clinical.benchmark import default_isbi_root
    from zoo.data.datasets.isbi2015 import ISBI2015Dataset
    from zoo.inference import Predictor

    indices = args.indices if args.indices.lower() != "all" else None
    root = args.data_root or default_isbi_root()
    dataset = ISBI2015Dataset(data_root=str(root), split=args.split, indices=indices, pipeline=[], test_mode=True)
    predictor = Predictor.from_path(args.checkpoint)
    if predictor.refine is None:
        raise SystemExit(f"{args.checkpoint}: not a two-stage model (no refine stage in its metadata)")
    errors = stage_errors(predictor, dataset)
    symbols = list(predictor.symbols)
    rows = {s: {k: float(v[:, j].mean()) for k, v in errors.items()} for j, s in enumerate(symbols)}
    overall = {k: float(v.mean()) for k, v in errors.items()}
    print(f"{args.checkpoint}: {args.split} {args.indices}, {len(dataset)} images, mean radial error in mm")
    print(f"{'landmark':10s} {'global':>8s} {'model':>8s} {'refine from truth':>18s}")
    for s, r in rows.items():
        print(f"{s:10s} {r['global']:8.2f} {r['model']:8.2f} {r['refine_from_truth']:18.2f}")
    print(f"{'all':10s} {overall['global']:8.2f} {overall['model']:8.2f} {overall['refine_from_truth']:18.2f}")
    if args.out:
        args.out.write_text(json.dumps({
            "command": f"python {SCRIPT} " + " ".join(sys.argv[1:] if argv is None else argv),
            "checkpoint": str(args.checkpoint), "split": args.split, "indices": args.indices,
            "images": len(dataset), "machine": platform.processor() or platform.machine(),
            "refine": predictor.refine.to_dict(), "mean_radial_error_mm": {"all": overall, "per_landmark": rows},
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
