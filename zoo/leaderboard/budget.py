"""The equal budget: every model gets the same schedule shape, stretched to its iteration count.

``--iters N`` gives every model N iterations (equal data seen). ``--budget-minutes M`` is converted into
an iteration count per model from that model's own training throughput, measured by a short probe run
on the same machine, data and batch; the model then trains for exactly that many iterations with its
learning-rate schedule spanning them. A time-stop hook was rejected: it would cut a cosine schedule
half-way, so the model would be judged at a high learning rate, and the result would depend on the
machine's load at that moment rather than on the seed.
"""
from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from zoo.registry import ZooError


class BudgetError(ZooError):
    """A budget that cannot be honoured (no iteration fits, or both kinds of budget given)."""


def _scale(value, factor: float, old_end: int, new_end: int):
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return value
    if value == old_end:
        return new_end
    return max(0, min(new_end, int(round(value * factor))))


def stretch_schedule(schedulers, old_iters: int, new_iters: int) -> list:
    """The same learning-rate schedule over ``new_iters`` (warm-up and periods keep their share)."""
    if schedulers is None:
        return []
    items = [schedulers] if isinstance(schedulers, dict) else list(schedulers)
    factor = new_iters / max(old_iters, 1)
    out = []
    for s in items:
        s = dict(s)
        for key in ("begin", "end", "T_max"):
            if key in s:
                s[key] = _scale(s[key], factor, old_iters, new_iters)
        if "periods" in s:
            periods = [max(1, int(round(p * factor))) for p in s["periods"]]
            span = s.get("end", new_iters) - s.get("begin", 0)
            periods[-1] += span - sum(periods)  # the periods must still tile the span exactly
            s["periods"] = periods
        if s.get("begin") is not None and s.get("end") is not None and s["end"] <= s["begin"]:
            s["end"] = s["begin"] + 1
        out.append(s)
    return out


def apply_budget(cfg, iters: int, seed: int, work_dir, data_root=None):
    """Fix ``cfg`` (in place) for one leaderboard run: ``iters`` iterations, no validation, last checkpoint.

    No validation during training, and the LAST checkpoint is the one evaluated: picking the best by the
    held-out split would be choosing the model on its own test set.
    """
    if iters < 1:
        raise BudgetError(f"the budget must allow at least one iteration, got {iters}")
    old = int((cfg.get("train_cfg") or {}).get("max_iters") or iters)
    cfg.param_scheduler = stretch_schedule(cfg.get("param_scheduler"), old, iters)
    cfg.train_cfg = dict(by_epoch=False, max_iters=int(iters), val_interval=int(iters) + 1)
    cfg.val_dataloader = None
    cfg.val_cfg = None
    cfg.val_evaluator = None
    hooks = dict(cfg.get("default_hooks") or {})
    hooks["checkpoint"] = dict(type="CheckpointHook", by_epoch=False, interval=int(iters), max_keep_ckpts=1,
                               save_best=None, save_last=True)
    hooks["logger"] = dict(type="LoggerHook", interval=1)
    # window 1: per-iteration times in scalars.json
    return finish_run(cfg, hooks, log_window=1, seed=seed, work_dir=work_dir, data_root=data_root)


def finish_run(cfg, hooks: dict, *, log_window: int, seed: int, work_dir, data_root=None):
    """The part every leaderboard run fixes alike: its hooks and log window, seed, work dir, a fresh start (never
    a resume, never another model's weights) and, where given, the data root."""
    cfg.default_hooks = hooks
    cfg.log_processor = dict(by_epoch=False, window_size=int(log_window))
    cfg.randomness = dict(seed=int(seed), deterministic=False)
    cfg.work_dir = str(work_dir)
    cfg.resume = False
    cfg.load_from = None
    if data_root is not None:
        set_data_root(cfg, data_root)
    return cfg


def set_data_root(cfg, data_root) -> None:
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg.get(key)
        if loader and loader.get("dataset"):
            loader["dataset"]["data_root"] = str(data_root)


def iteration_times(work_dir) -> list[float]:
    """Seconds per training iteration, as mmengine's IterTimerHook logged them in ``vis_data/scalars.json``."""
    return [float(row["time"]) for row in scalar_rows(work_dir) if "time" in row and "loss" in row]


def scalar_rows(work_dir):
    """Every row mmengine logged to ``vis_data/scalars.json`` under ``work_dir`` (training rows carry ``loss``,
    validation rows the metric); a line cut short by a kill is skipped."""
    for path in sorted(Path(work_dir).glob("*/vis_data/scalars.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def seconds_per_iter(times: list[float], skip: int = 2) -> float:
    """Median after the first ``skip`` iterations (worker start-up, allocator warm-up)."""
    steady = times[skip:] if len(times) > skip else times
    if not steady:
        raise BudgetError("the throughput probe logged no iteration times")
    return float(statistics.median(steady))


def iters_for_minutes(minutes: float, sec_per_iter: float) -> int:
    iters = int(minutes * 60.0 // sec_per_iter)
    if iters < 1:
        raise BudgetError(f"a {minutes:g}-minute budget fits no iteration at {sec_per_iter:.2f} s per iteration")
    return iters
