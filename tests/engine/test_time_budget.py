"""TimeBudgetHook: training ends inside its wall-clock budget with the learning-rate schedule completed."""
from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR, MultiStepLR, PolyLR
from mmengine.runner import IterBasedTrainLoop

from zoo.engine import time_budget
from zoo.engine.time_budget import TimeBudgetHook
from zoo.registry import ZooError


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


_RUNS = itertools.count()


def _runner(max_iters: int, schedulers, val_interval: int | None = None):
    loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)  # the real class, without a dataloader
    loop._max_iters = max_iters
    loop.val_interval = val_interval or max_iters
    # a message hub of its own: mmengine keeps instances by name for the whole process, and a reused name
    # (an id() of a freed object, say) would hand this run another test's spent budget
    name = f"time-budget-test-{next(_RUNS)}"
    return SimpleNamespace(train_loop=loop, param_schedulers=schedulers, iter=0,
                           val_loop=object() if val_interval else None,
                           message_hub=MessageHub.get_instance(name), logger=MMLogger.get_instance(name))


def _optimizer():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)


def _train(hook, runner, clock, pace, val_seconds=0.0, schedulers=()):
    """The train loop's order of calls, with ``pace(i)`` seconds per iteration on the fake clock."""
    hook.before_train(runner)
    lrs, i = [], 0
    while i < runner.train_loop.max_iters:
        runner.iter = i
        clock.now += pace(i)
        hook.after_train_iter(runner, i)
        if schedulers:
            schedulers[0].optimizer.step()  # what the optimizer wrapper does once per iteration
        for s in schedulers:
            s.step()
        lrs.append(schedulers[-1].optimizer.param_groups[0]["lr"] if schedulers else None)
        i += 1
        if runner.val_loop is not None and (i % runner.train_loop.val_interval == 0
                                            or i == runner.train_loop.max_iters):
            hook.before_val_epoch(runner)
            clock.now += val_seconds
            hook.after_val_epoch(runner)
    return i, lrs


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(time_budget.time, "monotonic", fake)
    return fake


def test_a_fast_machine_trains_longer_and_the_cosine_ends_at_eta_min(clock):
    opt = _optimizer()
    warm = LinearLR(opt, start_factor=0.1, begin=0, end=10, by_epoch=False)
    cosine = CosineAnnealingLR(opt, begin=10, end=100, eta_min=1e-4, by_epoch=False)
    runner = _runner(100, [warm, cosine])
    start = clock.now
    done, lrs = _train(TimeBudgetHook(minutes=5, margin=0.0), runner, clock, lambda i: 1.0, schedulers=[warm, cosine])
    assert 290 <= done <= 300  # 300 s at 1 s per iteration, where the config said 100
    assert clock.now - start <= 300
    assert warm.end == 10  # the warm-up keeps its length
    assert cosine.end == done and cosine.T_max == done - 10
    assert lrs[-1] == pytest.approx(1e-4, abs=1e-5)  # the last step of a cosine is within 1e-4 of its rate
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(lrs[10:]))  # annealing only goes down
    assert max(lrs) == pytest.approx(0.1, rel=0.05)  # and started from the full rate


def test_a_slow_or_shared_machine_stops_early_and_still_anneals(clock):
    opt = _optimizer()
    cosine = CosineAnnealingLR(opt, begin=0, end=1000, eta_min=0.0, by_epoch=False)
    runner = _runner(1000, [cosine])
    done, lrs = _train(TimeBudgetHook(minutes=1, margin=0.0), runner, clock, lambda i: 0.5, schedulers=[cosine])
    assert 110 <= done <= 120
    assert lrs[-1] < 1e-4  # annealed (0.1 at the start); the config's 1000-iteration cosine would be at 0.096


def test_pace_change_and_validation_cost_are_followed(clock):
    """Sharing the GPU for a while, then alone: the end moves out again; validations are budgeted apart."""
    opt = _optimizer()
    cosine = CosineAnnealingLR(opt, begin=0, end=200, eta_min=0.0, by_epoch=False)
    runner = _runner(200, [cosine], val_interval=50)
    start = clock.now
    done, lrs = _train(TimeBudgetHook(minutes=10, margin=0.0), runner, clock, lambda i: 2.0 if i < 100 else 0.5,
                       val_seconds=5.0, schedulers=[cosine])
    used = clock.now - start
    assert used <= 600 + 2.0 * 10  # within the budget, give or take one decision interval
    assert used >= 600 - 30  # and the budget is used
    assert done > 600  # 200 s at 2 s per iteration, then 0.5 s per iteration
    assert lrs[-1] < 1e-5


@pytest.mark.parametrize("kind", ["cosine", "linear", "poly"])
def test_a_sudden_slowdown_near_the_end_still_ends_annealed(clock, kind):
    """Another job takes the machine when most of the budget is spent: the end pulls in by hundreds of
    iterations at once, and the rate must still reach the end of its schedule, not stop part-way down."""
    opt = _optimizer()
    cosine = {"cosine": lambda: CosineAnnealingLR(opt, begin=0, end=1000, eta_min=0.0, by_epoch=False),
              "linear": lambda: LinearLR(opt, start_factor=1.0, end_factor=0.0, begin=0, end=1000, by_epoch=False),
              "poly": lambda: PolyLR(opt, power=2.0, eta_min=0.0, begin=0, end=1000, by_epoch=False)}[kind]()
    runner = _runner(1000, [cosine])
    start = clock.now
    # 100 s at 0.25 s per iteration, then 4 s each: at the next decision the budget is spent and the planned end
    # (~480) pulls in to the iteration in hand
    done, lrs = _train(TimeBudgetHook(minutes=2, margin=0.0), runner, clock, lambda i: 0.25 if i < 400 else 4.0,
                       schedulers=[cosine])
    assert done == 411  # the decision at 410, and one iteration more to run at the end of the schedule
    assert clock.now - start <= 120 + 4.0 * 11  # over by one decision interval of the slow pace, and that iteration
    # the last iteration's rate: the cosine's was 5 % of the full one before the re-anchoring, now 1e-5; a
    # linear or square decay is at its last step's value (1/411 and 1/411^2 of the full rate)
    assert lrs[-2] <= 0.1 / 411 + 1e-9
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(lrs))  # brought down, never up


def test_resume_continues_on_the_budget_left(clock):
    opt = _optimizer()
    cosine = CosineAnnealingLR(opt, begin=0, end=100, eta_min=0.0, by_epoch=False)
    runner = _runner(100, [cosine])
    runner.message_hub.update_info("time_budget_spent", 50.0)
    runner.message_hub.update_info("time_budget_max_iters", 80)
    runner.iter = 40
    hook = TimeBudgetHook(minutes=2, margin=0.0)
    hook.before_train(runner)
    assert runner.train_loop.max_iters == 80 and cosine.end == 80
    assert clock.now - hook._start == pytest.approx(50.0)


def test_schedules_it_cannot_rescale_and_epoch_training_are_refused(clock):
    opt = _optimizer()
    steps = MultiStepLR(opt, milestones=[50, 80], begin=0, end=100, by_epoch=False)
    with pytest.raises(ZooError, match="MultiStepLR"):
        TimeBudgetHook(minutes=1).before_train(_runner(100, [steps]))
    epoch_runner = _runner(100, [])
    epoch_runner.train_loop = SimpleNamespace(max_iters=100)
    with pytest.raises(ZooError, match="iteration-based"):
        TimeBudgetHook(minutes=1).before_train(epoch_runner)
    with pytest.raises(ValueError, match="positive"):
        TimeBudgetHook(minutes=0)


@pytest.mark.parametrize("given", ["0", "-5", "soon"])
def test_minutes_must_be_a_positive_number(given, capsys):
    from zoo.engine.entry import train_parser

    with pytest.raises(SystemExit) as stop:
        train_parser().parse_args(["configs/quickstart.py", "--minutes", given])
    assert stop.value.code == 2
    assert "a positive number of minutes" in capsys.readouterr().err


def test_zoo_train_minutes_ends_a_real_run_inside_its_budget(tmp_path, tiny_data, make_config):
    """``--minutes`` on a real run: max_iters 100000 in the config, a few seconds of budget."""
    import time

    from zoo.engine.entry import train
    from zoo.modelfile import safe_load

    cfg = make_config(tmp_path, tiny_data, max_iters=100000, interval=100000, extra="""
        param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=100000, eta_min=1e-6)]
        default_hooks = dict(checkpoint=dict(interval=100000, max_keep_ckpts=1))
    """)
    began = time.monotonic()
    train(cfg, work_dir=tmp_path / "work", minutes=0.15, test_after=False)
    took = time.monotonic() - began
    saved = sorted((tmp_path / "work").glob("iter_*.pth"))
    assert len(saved) == 1, saved  # the last iteration is saved (save_last), wherever it fell
    final = int(saved[0].stem.split("_")[1])
    assert 4 <= final < 100000
    ckpt = safe_load(saved[0])
    assert ckpt["message_hub"]["runtime_info"]["time_budget_max_iters"] == final
    cosine = ckpt["param_schedulers"][0]
    assert cosine["end"] == final and cosine["T_max"] == final
    lrs = ckpt["message_hub"]["log_scalars"]["train/lr"]["log"]
    assert float(lrs[0]) == pytest.approx(1e-3, rel=1e-3)  # the full rate first,
    assert float(lrs[-1]) < 2e-5  # annealed by the end (the config's cosine would still be at 1e-3)
    assert took < 9 + 60  # 9 s of budget plus building, validating and saving on a slow machine
