"""``train`` and ``test`` as functions, plus the one argument parser that ``tools/*.py`` and ``zoo`` share."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .config import ConfigError, load_config
from .runner import build_runner, prepare
from zoo.modelfile.stored_config import config_to_data

#: what a wrong value in a config raises while mmengine builds from it (a string where a number belongs...)
_BUILD_ERRORS = (TypeError, ValueError, KeyError, NameError, AttributeError)


def _mark_iterating(runner, phase: str) -> None:
    """Flag the first iteration, so an error before it is known to come from building the config."""
    from mmengine.hooks import Hook

    class FirstIteration(Hook):
        priority = "HIGHEST"

    def started(hook, runner, *args, **kwargs):
        runner._zoo_iterating = True

    setattr(FirstIteration, f"before_{phase}_iter", started)
    runner.register_hook(FirstIteration())


def _as_config_error(exc: Exception, config, cfg_options, runner=None) -> Exception:
    """A build error as one line naming the config (and the overrides, the likelier culprit)."""
    from zoo.registry import ZooError

    if isinstance(exc, ZooError) or not isinstance(exc, _BUILD_ERRORS) or getattr(runner, "_zoo_iterating", False):
        return exc
    given = f" with --cfg-options {' '.join(cfg_options)}" if cfg_options else ""
    return ConfigError(f"config error in {config}{given}: {type(exc).__name__}: {exc}")


def train(config, *, work_dir=None, resume=None, amp=False, cfg_options=None, launcher="none", load_from=None,
          test_after=True, minutes=None) -> dict | None:
    """Train a config on mmengine's Runner; then evaluate the best checkpoint on the test split.

    ``minutes`` ends training (schedule completed) within that wall-clock budget (``TimeBudgetHook``)."""
    from zoo.model_zoo.resolve import CHECKPOINT_SUFFIXES

    if Path(config).suffix in CHECKPOINT_SUFFIXES:
        raise ConfigError(f"{config} is a model file: it carries no training recipe (optimizer, schedule, hooks). "
                          f"Train from a config file and start from this model's weights with `--load-from {config}`")
    cfg = load_config(config, cfg_options)
    runner = None
    try:
        prepare(cfg, work_dir=work_dir, resume=resume, amp=amp, launcher=launcher, load_from=load_from,
                phases=("train", "val"), minutes=minutes)
        config_to_data(cfg)  # a config no checkpoint could carry fails here, not at the first save
        runner = build_runner(cfg)
        _mark_iterating(runner, "train")
        runner.train()
    except _BUILD_ERRORS as exc:
        error = _as_config_error(exc, config, cfg_options, runner)
        if error is exc:
            raise
        raise error from exc
    best = runner.message_hub.get_info("best_ckpt")
    if not test_after or not cfg.get("test_dataloader"):
        _print_next_steps(runner, best)
        return None
    if best and Path(best).is_file():
        runner.load_checkpoint(best)
        runner.logger.info(f"evaluating the best checkpoint {best}")
    metrics = runner.test()
    _print_report(runner)
    _print_next_steps(runner, best)
    return metrics


def _print_next_steps(runner, best) -> None:
    """Where the trained model is and what to do with it: the end of a first run should not leave a new user
    searching the log for a path."""
    from .runner import latest_checkpoint

    checkpoint = Path(best) if best and Path(best).is_file() else latest_checkpoint(runner.work_dir)
    if checkpoint is None or runner.rank != 0:
        return
    shown = f'"{checkpoint}"' if " " in str(checkpoint) else str(checkpoint)
    print(f"\ncheckpoint: {shown}\nnext:\n"
          f"  zoo predict {shown} YOUR_IMAGE.jpg --spacing-mm 0.1  # landmarks (and mm, given the pixel size)\n"
          f"  zoo test {shown}  # this report again\n"
          f"  zoo checkpoint calibrate {shown} --out CALIBRATED.pth  # verdicts and uncertainty on its predictions\n"
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


def _report_metric(runner):
    from zoo.evaluation.metric import LandmarkMetric

    for metric in runner.test_evaluator.metrics:
        if isinstance(metric, LandmarkMetric):
            return metric
    return None


def _print_report(runner) -> None:
    from zoo.evaluation import format_report

    metric = _report_metric(runner)
    if metric is not None and metric.last_report is not None and runner.rank == 0:
        print(format_report(metric.last_report), flush=True)


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"a positive number of minutes, got {text!r}")
    return value


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zoo train", description="Train a landmark detector from a config.")
    p.add_argument("config", help="config file (configs/*.py)")
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
    args = (train_parser() if kind == "train" else test_parser()).parse_args(argv)
    if kind == "train":
        return report_errors(lambda: train(args.config, work_dir=args.work_dir, resume=args.resume, amp=args.amp,
                                           cfg_options=args.cfg_options, launcher=args.launcher,
                                           load_from=args.load_from, test_after=not args.no_test,
                                           minutes=args.minutes), args.debug)
    return report_errors(lambda: test(args.target, args.checkpoint, out=args.out, show_dir=args.show_dir,
                                      cfg_options=args.cfg_options, work_dir=args.work_dir, launcher=args.launcher,
                                      predictions=args.predictions), args.debug)
