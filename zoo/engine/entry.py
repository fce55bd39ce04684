"""``train`` and ``test`` as functions, plus the one argument parser that ``tools/*.py`` and ``zoo`` share."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from .config import load_config
from .runner import build_runner, prepare
from .training import TrainOutcome, _print_report, _report_metric, run_training  # noqa: F401 (TrainOutcome: API)


def train(config, *, work_dir=None, resume=None, amp=False, cfg_options=None, launcher="none", load_from=None,
          test_after=True, minutes=None) -> dict | None:
    """Train a config on mmengine's Runner; then evaluate the best checkpoint on the test split.

    ``minutes`` ends training (schedule completed) within that wall-clock budget (``TimeBudgetHook``)."""
    outcome = run_training(config, work_dir=work_dir, resume=resume, amp=amp, cfg_options=cfg_options,
                           launcher=launcher, load_from=load_from, test_after=test_after, minutes=minutes)
    _print_next_steps(outcome.runner, outcome.best)
    return outcome.test_metrics


def _print_next_steps(runner, checkpoint) -> None:
    """Where the trained model is and what to do with it: the end of a first run should not leave a new user
    searching the log for a path."""
    if checkpoint is None or runner.rank != 0:
        return
    shown = f'"{checkpoint}"' if " " in str(checkpoint) else str(checkpoint)
    start = None if runner.cfg.get("resume") else runner.cfg.get("load_from")  # resuming: the run's own checkpoint
    quoted = f'"{start}"' if start and " " in str(start) else start
    fallback = f" --fallback {quoted}" if start else ""  # a fine-tune's few images may need the start's gate
    print(f"\ncheckpoint: {shown}\nnext:\n"
          f"  zoo predict {shown} YOUR_IMAGE.jpg --spacing-mm 0.1  # landmarks (and mm, given the pixel size)\n"
          f"  zoo test {shown}  # this report again\n"
          f"  zoo checkpoint calibrate {shown} --out CALIBRATED.pth{fallback}  # verdicts and uncertainty on its "
          f"predictions\n"
          f"  zoo export {shown} --format onnx  # for ONNX Runtime", flush=True)


def test(target, checkpoint=None, *, out=None, show_dir=None, cfg_options=None, work_dir=None,
         launcher="none", predictions=None) -> dict:
    """Evaluate a checkpoint; the config comes from the checkpoint itself unless one is given."""
    from zoo.model_zoo import resolve_if_name

    target = resolve_if_name(target)
    checkpoint = resolve_if_name(checkpoint) or target
    cfg = load_config(target, cfg_options)
    cfg.load_from = str(checkpoint)
    cfg.resume = False
    cfg.zoo_strict_load = True  # scoring a checkpoint that does not fit would score random weights
    _read_at_model_scale(cfg, checkpoint)
    _shape_model_for_decoding(cfg, checkpoint)
    prepare(cfg, work_dir=work_dir, launcher=launcher, phases=("test",))
    runner = build_runner(cfg)
    metrics = runner.test()
    metric = _report_metric(runner)
    _print_report(runner)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({"checkpoint": str(checkpoint), "metrics": metrics,
                                         "report": metric.last_report if metric else None}, indent=2))
    if predictions and metric is not None:
        write_predictions(metric, checkpoint, predictions)
    if show_dir and metric is not None:
        from zoo.evaluation.visualize import draw_comparisons

        draw_comparisons(metric.last_predictions, list(metric.dataset_meta["landmark_names"]), show_dir)
    return metrics


def _read_at_model_scale(cfg, checkpoint) -> None:
    """``zoo test`` reads every image of known spacing at the pixel size the model was trained at, as ``zoo predict``
    does (#39): a two-stage model's ``test_cfg.read_mm_per_pixel``, unless the config sets it. The pixel size is the
    model file's (``zoo.inference.scale.model_pixel_size``: its metadata, else its config's training dataset); a
    ``.pth`` checkpoint is read a second time only when its config's dataset does not state one."""
    from zoo.data.datasets.declared import declared_spacing
    from zoo.inference.scale import model_pixel_size

    model = cfg.get("model") or {}
    test_cfg = model.get("test_cfg") or {}
    if model.get("type") != "TwoStageDetector" or test_cfg.get("read_mm_per_pixel") is not None:
        return
    train = (cfg.get("train_dataloader") or {}).get("dataset")
    mm = declared_spacing(train.to_dict() if hasattr(train, "to_dict") else train) if train else None
    path = Path(str(checkpoint))
    if mm is None and path.is_file():
        meta = _file_meta(path)
        mm = model_pixel_size(meta)[0] if isinstance(meta, dict) and meta.get("preprocess") else None
    if mm is not None:
        cfg.model["test_cfg"] = {**dict(test_cfg), "read_mm_per_pixel": float(mm)}


def _file_meta(path: Path):
    """The ``zoo_meta`` of a weights file (its header only) or a checkpoint ({} when it has none)."""
    from zoo.modelfile import is_weights_file, read_meta, safe_load

    return read_meta(path) if is_weights_file(path) else (safe_load(path).get("zoo_meta") or {})


def _shape_model_for_decoding(cfg, checkpoint) -> None:
    """A two-stage model tested with ``test_cfg.shape_decoding`` reads the shape model of its file's quality block,
    as the predictor does; a file without one (never calibrated) is tested without shape decoding, and says so."""
    model = cfg.get("model") or {}
    test_cfg = model.get("test_cfg") or {}
    if model.get("type") != "TwoStageDetector" or not test_cfg.get("shape_decoding") or test_cfg.get("shape_model"):
        return
    path = Path(str(checkpoint))
    meta = _file_meta(path) if path.is_file() else None
    shape = (meta.get("quality") or {}).get("shape") if isinstance(meta, dict) else None
    if shape:
        cfg.model["test_cfg"] = {**dict(test_cfg), "shape_model": shape}
    else:
        print(f"note: {path.name} carries no shape model (run `zoo checkpoint calibrate`), so it is tested without "
              f"shape decoding", file=sys.stderr)


def write_predictions(metric, checkpoint, path) -> None:
    """The test's predictions in ``zoo predict``'s file format (landmarks by symbol, original px), so the
    clinical tools (``zoo analyze``, ``tools/isbi_classification.py``) read them without a second inference."""
    symbols = list(metric.dataset_meta["landmark_names"])
    entries = []
    for r in metric.last_predictions:
        scores = r["score"] if r["score"] is not None else np.full(len(symbols), np.nan)
        spacing = r["spacing"] if np.isfinite(r["spacing"]) else None
        entries.append({"image": r["img_path"], "mm_per_pixel": spacing,
                        "mm_per_pixel_source": "dataset" if spacing else None,
                        "landmarks": {s: {"x": float(x), "y": float(y), "confidence": float(c)}
                                      for s, (x, y), c in zip(symbols, r["pred"], scores)}})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"source": str(checkpoint), "landmark_set": metric.dataset_meta.get(
        "landmark_set"), "predictions": entries}, indent=2), encoding="utf-8")


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"a positive number of minutes, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"a fraction between 0 and 1, got {text!r}")
    return value


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo train", description="Train a landmark detector from a config, or from your annotations alone "
                                      "(--data: the recipe, split, start model and quality gate are chosen for you).")
    p.add_argument("config", nargs="?", help="config file (configs/*.py); not with --data")
    own = p.add_argument_group("your own data (zoo train --data EXPORT [--from isbi19] [--minutes M])")
    own.add_argument("--data", metavar="PATH", help="annotations to train on: a Label Studio export (JSON or CSV), a "
                                                   "landmark CSV, or an ISBI 2015 or Aariz folder")
    own.add_argument("--images", metavar="DIR", help="the folder holding the export's images (default: beside it)")
    own.add_argument("--test", metavar="PATH", help="a test split in any of those layouts (a folder's own test "
                                                   "split is used without it); none: the model is judged on validation")
    own.add_argument("--from", dest="start", default="auto", metavar="MODEL",
                     help="start from this model name or file when it shares landmarks; auto (default): the shipped "
                          "model sharing most; none: from scratch")
    own.add_argument("--landmark-set", help="the set your labels follow: a built-in name or a JSON file (default: "
                                            "the set the labels fit best)")
    own.add_argument("--label-map", action="append", metavar="LABEL=SYMBOL",
                     help="a label of your own (repeatable; LABEL= leaves it out), or a JSON file of such pairs")
    own.add_argument("--spacing-mm", type=float, metavar="MM", help="pixel size of every image, in mm (Label Studio "
                                                                    "exports and CSVs without it carry none)")
    own.add_argument("--val-fraction", type=_fraction, default=0.2,
                     help="share of the images set apart to pick the checkpoint and calibrate (default 0.2)")
    own.add_argument("--seed", type=int, default=0, help="seed of the validation split (default 0)")
    own.add_argument("--recipe", metavar="CONFIG", help="train with this recipe instead of the one chosen")
    p.add_argument("--work-dir", help="where logs and checkpoints go (default work_dirs/<config name>)")
    p.add_argument("--resume", nargs="?", const="auto", default=None,
                   help="resume from CKPT, or from the latest checkpoint in the work dir when no CKPT is given")
    p.add_argument("--load-from", help="initialise from a checkpoint (fine-tuning; landmarks matched by symbol)")
    p.add_argument("--amp", action="store_true", help="mixed precision: fp16 on CUDA, bf16 on a CPU with native bf16")
    p.add_argument("--minutes", type=_minutes, metavar="M",
                   help="end training within M minutes of wall-clock time: the end of training and of its "
                        "learning-rate schedule follow the measured pace (max_iters becomes a first guess)")
    p.add_argument("--cfg-options", nargs="+", metavar="KEY=VALUE", help="override config entries")
    p.add_argument("--launcher", choices=["none", "pytorch"], default="none",
                   help="'pytorch' under torchrun for distributed data parallel")
    p.add_argument("--no-test", action="store_true", help="skip the test-split evaluation after training")
    p.add_argument("--debug", action="store_true", help="full tracebacks")
    p.add_argument("--local-rank", "--local_rank", type=int, default=0, help=argparse.SUPPRESS)
    return p


def test_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zoo test", description="Evaluate a checkpoint: MRE px/mm, SDR, per landmark.")
    p.add_argument("target", help="a checkpoint (its own config is used) or a config file")
    p.add_argument("checkpoint", nargs="?", help="the checkpoint, when TARGET is a config")
    p.add_argument("--out", help="write metrics and the full report as JSON")
    p.add_argument("--show-dir", help="write one picture per image: truth, prediction and the error between")
    p.add_argument("--predictions", help="write the predictions as a predictions file (zoo predict's format)")
    p.add_argument("--work-dir")
    p.add_argument("--cfg-options", nargs="+", metavar="KEY=VALUE")
    p.add_argument("--launcher", choices=["none", "pytorch"], default="none")
    p.add_argument("--debug", action="store_true")
    return p


def report_errors(action, debug: bool = False) -> int:
    """Run ``action()``: the zoo's own errors (and a missing file) become one ``error: ...`` line on stderr and
    exit code 2; a traceback only with ``debug``. Every argparse-based command (train, test, leaderboard) ends here."""
    from zoo.registry import ZooError

    try:
        action()
    except (ZooError, FileNotFoundError) as exc:
        if debug:
            raise
        import sys

        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def run_cli(kind: str, argv: list[str]) -> int:
    """Parse and run ``zoo train`` / ``zoo test`` (see :func:`report_errors` for failures)."""
    parser = train_parser() if kind == "train" else test_parser()
    args = parser.parse_args(argv)
    if kind == "train" and (args.data is None) == (args.config is None):
        parser.error("give a CONFIG, or --data YOUR_ANNOTATIONS (not both)")
    if kind == "train" and args.data is not None:
        return report_errors(lambda: _train_own(args, parser), args.debug)
    if kind == "train":
        given = [flag for flag, value in (("--images", args.images), ("--test", args.test),
                                          ("--landmark-set", args.landmark_set), ("--label-map", args.label_map),
                                          ("--spacing-mm", args.spacing_mm), ("--recipe", args.recipe),
                                          ("--from", None if args.start == "auto" else args.start)) if value]
        if given:
            parser.error(f"{', '.join(given)} go{'es' if len(given) == 1 else ''} with --data; a CONFIG names its "
                         f"own data and start (--load-from)")
    if kind == "train":
        return report_errors(lambda: train(args.config, work_dir=args.work_dir, resume=args.resume, amp=args.amp,
                                           cfg_options=args.cfg_options, launcher=args.launcher,
                                           load_from=args.load_from, test_after=not args.no_test,
                                           minutes=args.minutes), args.debug)
    return report_errors(lambda: test(args.target, args.checkpoint, out=args.out, show_dir=args.show_dir,
                                      cfg_options=args.cfg_options, work_dir=args.work_dir, launcher=args.launcher,
                                      predictions=args.predictions), args.debug)


def _train_own(args, parser) -> None:
    """``zoo train --data``: the options only a config-file run takes are refused, naming the equivalent."""
    from zoo.data.labels import parse_label_map

    from .own_data import train_on_data

    if args.load_from:
        parser.error("--load-from goes with a CONFIG; with --data the start model is --from MODEL")
    if args.spacing_mm is not None and not (math.isfinite(args.spacing_mm) and args.spacing_mm > 0):
        parser.error(f"--spacing-mm must be a positive number of mm per pixel, got {args.spacing_mm!r}")
    if args.launcher != "none":
        parser.error("--launcher goes with a CONFIG: run the config --data writes (WORK_DIR/config.py) under torchrun")
    train_on_data(args.data, start=args.start, images=args.images, test=args.test, landmark_set=args.landmark_set,
                  label_map=parse_label_map(args.label_map), spacing=args.spacing_mm, val_fraction=args.val_fraction,
                  seed=args.seed, recipe=args.recipe, work_dir=args.work_dir, minutes=args.minutes, amp=args.amp,
                  resume=args.resume, cfg_options=args.cfg_options, test_after=not args.no_test,
                  say=lambda text: print(text, flush=True))
