"""One training run on mmengine's Runner, the part ``zoo train CONFIG`` and ``zoo train --data`` share: prepare the
config, build the Runner, train, keep the best checkpoint and evaluate it on the test split when there is one.

It sits apart from :mod:`zoo.engine.entry` (the command line) so that :mod:`zoo.engine.own_data`, which the
command line also calls, uses it without an import circle.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zoo.modelfile.stored_config import config_to_data

from .config import ConfigError, load_config
from .runner import build_runner, latest_checkpoint, prepare

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


@dataclass
class TrainOutcome:
    """What a training run leaves: the runner (its work dir, message hub and evaluators), the checkpoint it kept
    (the best by validation when it validates, else the last) and the test split's metrics when it tested."""

    runner: object
    best: Path | None
    test_metrics: dict | None
    test_report: dict | None = None  # the clinical report of the test split (per landmark, SDR...), when tested


def run_training(config, *, work_dir=None, resume=None, amp=False, cfg_options=None, launcher="none",
                 load_from=None, test_after=True, minutes=None) -> TrainOutcome:
    """:func:`train` without the closing advice: ``zoo train --data`` says its own."""
    from zoo.model_zoo.resolve import CHECKPOINT_SUFFIXES

    if Path(config).suffix in CHECKPOINT_SUFFIXES:
        raise ConfigError(f"{config} is a model file: it carries no training recipe (optimizer, schedule, hooks). "
                          f"Train from a config file and start from this model's weights with `--load-from {config}`")
    cfg = load_config(config, cfg_options)
    testing = bool(test_after and cfg.get("test_dataloader"))
    runner = None
    try:
        prepare(cfg, work_dir=work_dir, resume=resume, amp=amp, launcher=launcher, load_from=load_from,
                phases=("train", "val", "test") if testing else ("train", "val"), minutes=minutes)
        config_to_data(cfg)  # a config no checkpoint could carry fails here, not at the first save
        runner = build_runner(cfg)
        _mark_iterating(runner, "train")
        runner.train()
    except _BUILD_ERRORS as exc:
        error = _as_config_error(exc, config, cfg_options, runner)
        if error is exc:
            raise
        raise error from exc
    named = runner.message_hub.get_info("best_ckpt")
    best = Path(named) if named and Path(named).is_file() else latest_checkpoint(runner.work_dir)
    if not testing:
        return TrainOutcome(runner, best, None)
    if named and Path(named).is_file():
        runner.load_checkpoint(named)
        runner.logger.info(f"evaluating the best checkpoint {named}")
    metrics = runner.test()
    _print_report(runner)
    metric = _report_metric(runner)
    return TrainOutcome(runner, best, metrics, metric.last_report if metric is not None else None)


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
