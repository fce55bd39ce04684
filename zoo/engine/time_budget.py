"""Training that ends on a wall-clock budget: "within 60 minutes" on whatever machine runs it.

A config's ``max_iters`` is sized for one machine's speed. On a slower or shared machine the run is cut before
its learning-rate schedule ends (an unfinished cosine leaves the weights at a high rate); on a faster one the
budget goes unused. ``TimeBudgetHook`` measures the pace of training as it goes and moves the end of training,
and the end of every schedule that ends with it, so that training, its validations and its last checkpoint fit
the budget. The rest of the config (warm-up, rates, augmentation) is untouched.

    zoo train CONFIG --minutes 60
    custom_hooks = [dict(type='TimeBudgetHook', minutes=60)]
"""
from __future__ import annotations

import math
import time
from collections import deque

from mmengine.dist import broadcast_object_list
from mmengine.hooks import Hook

from zoo.registry import HOOKS, ZooError

#: schedule attributes that are derived from ``end`` and must follow it (mmengine's cosine, linear, poly)
_LENGTH_ATTRS = {"T_max": 0, "total_iters": -1}
#: schedules whose shape depends on their length in a way this hook cannot rescale
_FIXED_SHAPE_ATTRS = ("milestones", "total_steps", "periods")


def _closed_form(scheduler, base: float, step: int) -> float | None:
    """The value a cosine, linear or poly schedule of the scheduler's current length has at ``step``; None for
    another kind. mmengine's schedules are chainable (each value from the one before), so after their length
    changes they carry on from where the old length had them, which a sudden pull-in of the end leaves high."""
    from mmengine.optim.scheduler import CosineAnnealingParamScheduler, LinearParamScheduler, PolyParamScheduler

    if isinstance(scheduler, CosineAnnealingParamScheduler):
        low = base * scheduler.eta_min_ratio if scheduler.eta_min_ratio is not None else scheduler.eta_min
        return low + (base - low) * (1 + math.cos(math.pi * step / scheduler.T_max)) / 2
    if not isinstance(scheduler, (LinearParamScheduler, PolyParamScheduler)):
        return None
    gone = min(step, scheduler.total_iters) / scheduler.total_iters
    if isinstance(scheduler, LinearParamScheduler):
        return base * (scheduler.start_factor + (scheduler.end_factor - scheduler.start_factor) * gone)
    return (base - scheduler.eta_min) * (1 - gone) ** scheduler.power + scheduler.eta_min


def _flat_schedulers(param_schedulers) -> list:
    if param_schedulers is None:
        return []
    if isinstance(param_schedulers, dict):
        return [s for group in param_schedulers.values() for s in group]
    return list(param_schedulers)


@HOOKS.register_module()
class TimeBudgetHook(Hook):
    """Ends iteration-based training within ``minutes`` of its start, the learning-rate schedule completed.

    Every ``every`` iterations (after ``settle`` iterations of loader and cuDNN warm-up) the pace of the last
    ``window`` iterations, without the time spent validating, gives how many iterations the remaining budget
    holds; the validations still due (at their measured cost) and the final one are set aside, and ``margin``
    of the budget is kept for the last checkpoint. The train loop's end and the schedules that end with it
    (``end == max_iters``) move there; a cosine then anneals to its ``eta_min`` exactly at the new end. A
    resumed run continues on the budget it had left. In distributed training rank 0 decides for all ranks.
    """

    priority = "BELOW_NORMAL"

    def __init__(self, minutes: float, settle: int = 10, window: int = 50, every: int = 10, margin: float = 0.02):
        if not minutes > 0:
            raise ValueError(f"TimeBudgetHook: minutes must be positive, got {minutes!r}")
        if settle < 0 or window < 1 or every < 1 or not 0 <= margin < 1:
            raise ValueError("TimeBudgetHook: settle >= 0, window >= 1, every >= 1 and 0 <= margin < 1")
        self.budget = float(minutes) * 60.0
        self.settle, self.every, self.margin = settle, every, margin
        self._marks: deque = deque(maxlen=window + 1)
        self._start = 0.0
        self._val_total = 0.0
        self._val_last = 0.0
        self._val_began = None
        self._followers: list = []
        self._all: list = []
        self._logged_end = None

    # -- set-up --------------------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        from mmengine.runner import IterBasedTrainLoop

        loop = runner.train_loop
        if not isinstance(loop, IterBasedTrainLoop):
            raise ZooError("TimeBudgetHook needs iteration-based training (train_cfg = dict(by_epoch=False, "
                           "max_iters=...)); an epoch-based schedule has no iteration end to move")
        self._followers = []
        self._all = _flat_schedulers(runner.param_schedulers)
        for scheduler in self._all:
            if scheduler.by_epoch or scheduler.end != loop.max_iters:
                continue
            fixed = [a for a in _FIXED_SHAPE_ATTRS if hasattr(scheduler, a)]
            if fixed:
                raise ZooError(f"TimeBudgetHook cannot rescale {type(scheduler).__name__} (its {fixed[0]} are "
                               f"fixed iterations); end training with a cosine, linear or poly schedule")
            self._followers.append(scheduler)
        hub = runner.message_hub
        spent = float(hub.get_info("time_budget_spent", 0.0) or 0.0)
        self._start = time.monotonic() - spent
        resumed_end = hub.get_info("time_budget_max_iters")
        if resumed_end and runner.iter > 0:
            self._move_end(runner, int(resumed_end))
        runner.logger.info(f"time budget: {self.budget / 60:.1f} min of training ({spent / 60:.1f} spent before); "
                           f"the end of training follows the measured pace")

    # -- validation time is measured apart from the pace of training ---------------------------------------
    def before_val_epoch(self, runner) -> None:
        self._val_began = time.monotonic()

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._val_began is not None:
            self._val_last = time.monotonic() - self._val_began
            self._val_total += self._val_last
            self._val_began = None

    # -- the decision ----------------------------------------------------------------------------------------
    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done = runner.iter + 1
        now = time.monotonic()
        if done <= self.settle:
            return
        self._marks.append((done, now, self._val_total))
        if done % self.every or len(self._marks) < 2:
            return
        shared = [self.plan(done, now, runner)]
        broadcast_object_list(shared, src=0)  # rank 0 decides for every rank (a no-op on one process)
        end = int(shared[0])
        runner.message_hub.update_info("time_budget_spent", now - self._start)
        runner.message_hub.update_info("time_budget_max_iters", end)
        if end != runner.train_loop.max_iters:
            self._move_end(runner, end)
            self._log(runner, done, end, now)

    def plan(self, done: int, now: float, runner) -> int:
        """The iteration training should end at, from the pace of the last iterations and the budget left."""
        first, t0, val0 = self._marks[0]
        pace = ((now - t0) - (self._val_total - val0)) / (done - first)
        left = self.budget * (1.0 - self.margin) - (now - self._start)
        validating = runner.val_loop is not None
        interval = getattr(runner.train_loop, "val_interval", 0) if validating else 0
        per_iter = pace + (self._val_last / interval if interval else 0.0)
        left -= self._val_last if validating else 0.0  # the validation at the end of training
        more = int(left / per_iter) if left > 0 and per_iter > 0 else 0
        if more == 0 and runner.train_loop.max_iters > done:
            # the budget ran out before the planned end (the machine slowed down): one more iteration, at the
            # end of the re-anchored schedule, so training ends annealed and one iteration late, not part-way
            # down the cosine
            more = 1
        return done + more

    def _move_end(self, runner, end: int) -> None:
        runner.train_loop._max_iters = end
        for scheduler in self._followers:
            scheduler.end = end
            for attr, offset in _LENGTH_ATTRS.items():
                if hasattr(scheduler, attr):
                    setattr(scheduler, attr, max(1, end - scheduler.begin + offset))
            self._reanchor(scheduler)

    def _reanchor(self, scheduler) -> None:
        """Bring a running schedule's current value down onto its new, shorter curve, where it alone sets the
        value (another schedule active on the same parameter multiplies into it, and is left as it is). A
        longer curve is above the current value; the chainable form carries on smoothly there, never up."""
        step = scheduler.last_step
        if step <= 0:
            return
        others = [s for s in self._all if s is not scheduler and s.optimizer is scheduler.optimizer
                  and s.param_name == scheduler.param_name and s.begin <= scheduler.begin + step < s.end]
        if others:
            return
        for base, group in zip(scheduler.base_values, scheduler.optimizer.param_groups):
            value = _closed_form(scheduler, base, step)
            if value is not None and value < group[scheduler.param_name]:
                group[scheduler.param_name] = value

    def _log(self, runner, done: int, end: int, now: float) -> None:
        if self._logged_end is not None and abs(end - self._logged_end) < 0.02 * self._logged_end and end > done:
            return
        self._logged_end = end
        runner.logger.info(f"time budget: {(now - self._start) / 60:.1f} of {self.budget / 60:.1f} min used at "
                           f"iteration {done}; training now ends at iteration {end}")
