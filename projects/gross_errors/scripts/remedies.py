"""Each remedy of the predictor as ``zoo test`` scores it: a config switch over the model's own settings.

    python projects/gross_errors/scripts/remedies.py isbi19 --split val \
        --out projects/gross_errors/results/remedies_val.json
    python projects/gross_errors/scripts/remedies.py isbi19 --split test1 --variants shipped shape_4 \
        --out projects/gross_errors/results/remedies_test1.json

``--split val`` is ISBI 2015 TrainingData 131-150, the images that pick among the variants; ``test1`` is read once,
with the variants the validation picked. Every variant runs ``zoo test MODEL --cfg-options ...`` in this process,
so its figures are the ones a user gets from that command (printed beside each row).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
SCRIPT = "projects/gross_errors/scripts/remedies.py"

#: name -> the --cfg-options that switch it on (over the model file's own test settings)
VARIANTS = {
    "shipped": [],
    "shape_3": ["model.test_cfg.shape_decoding.threshold=3.0"],
    "shape_4": ["model.test_cfg.shape_decoding.threshold=4.0"],
    "shape_2": ["model.test_cfg.shape_decoding.threshold=2.0"],
    "median": ["model.test_cfg.aggregate=median"],
    "two_passes": ["model.test_cfg.iters=2"],
    "median_two_passes": ["model.test_cfg.aggregate=median", "model.test_cfg.iters=2"],
}
SPLITS = {"val": ["test_dataloader.dataset.split=train", "test_dataloader.dataset.indices=130:150"],
          "test1": ["test_dataloader.dataset.split=test1"]}


def run_variant(model: str, split: str, name: str, work_dir: Path) -> dict:
    from zoo.engine.entry import test

    options = SPLITS[split] + VARIANTS[name]
    out = work_dir / f"{name}_{split}.json"
    started = time.perf_counter()
    test(model, cfg_options=options, out=str(out), work_dir=str(work_dir / name))
    seconds = time.perf_counter() - started
    report = json.loads(out.read_text())["report"]
    return {"variant": name, "cfg_options": options, "seconds": round(seconds, 1),
            "command": f"zoo test {model} --cfg-options {' '.join(options)}",
            "MRE_mm": report["MRE_mm"]["mean"], "median_mm": report["MRE_mm"]["median"],
            "SDR": report["SDR"],
            "per_landmark_mm": {s: v["MRE_mm"] for s, v in report["per_landmark"].items()},
            "per_landmark_SDR_4mm": {s: v["SDR"]["4mm"] for s, v in report["per_landmark"].items()}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model name or file (e.g. isbi19)")
    parser.add_argument("--split", choices=sorted(SPLITS), default="val")
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--work-dir", type=Path, default=Path("work_dirs/gross_errors"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.variants:
        rows.append(run_variant(args.model, args.split, name, args.work_dir))
        print(f"{name:10s} MRE {rows[-1]['MRE_mm']:.3f} mm, SDR 2/2.5/3/4 mm "
              + " / ".join(f"{v:.1f}" for v in rows[-1]["SDR"].values()) + f" ({rows[-1]['seconds']:.0f} s)",
              flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "command": f"python {SCRIPT} " + " ".join(sys.argv[1:] if argv is None else argv),
            "model": args.model, "split": args.split, "machine": platform.processor() or platform.machine(),
            "date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
