"""SIGKILL at seeded random points of training, then ``--resume``: nothing half-written, nothing lost.

One chain of training processes is killed three times, each at a random iteration and a random delay
after its log line (so some kills land inside a checkpoint save, not only between them); each restart
resumes from the newest checkpoint, and the last one runs to the end. Separately, a process is killed
while it is provably inside a checkpoint write (blocked in fsync), and resuming is shown to survive
mmengine's ``last_checkpoint`` pointer being left empty by a kill. Complements
``tests/engine/test_training.py::test_killed_training_resumes_from_its_last_checkpoint`` (one kill right
after a checkpoint appears).
"""
from __future__ import annotations

import math
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reliability_helpers import SUBPROCESS_ENV, fast_config

from zoo.modelfile import safe_load

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parents[2]
TRAIN = [sys.executable, str(REPO / "tools" / "train.py")]
MAX_ITERS, INTERVAL, KILLS, SEED = 8, 2, 3, 20240917
ITER_LINE = re.compile(r"Iter\(train\) \[\s*(\d+)/")


def _checkpoint_iter(path: Path) -> int:
    return int(re.fullmatch(r"iter_(\d+)\.pth", path.name).group(1))


def check_work_dir(work: Path) -> tuple[int, int]:
    """Every visible checkpoint loads whole; anything else is a known file or a hidden temporary.

    Returns (iteration of the newest checkpoint or 0, number of hidden temporaries left by kills).
    """
    newest, hidden = 0, 0
    for p in work.iterdir():
        if p.suffix == ".pth":
            state = safe_load(p)  # raises on a truncated or foreign file
            assert "state_dict" in state and "meta" in state, p
            if p.name.startswith("iter_"):
                assert state["meta"]["iter"] == _checkpoint_iter(p)
                newest = max(newest, _checkpoint_iter(p))
        elif p.name.startswith("."):
            assert p.name.endswith(".tmp"), p  # atomic_write_bytes' temporaries: hidden, never *.pth
            hidden += 1
        else:
            assert p.name in ("last_checkpoint", "tiny_synthetic.py") or p.is_dir(), f"unexpected file {p}"
    return newest, hidden


def _reader(proc, lines: queue.Queue[str | None]) -> None:
    for line in proc.stdout:
        lines.put(line)
    lines.put(None)


def run_and_kill(args, env, at_iter: int, delay_s: float, deadline_s: float = 300) -> list[str]:
    """Start training, SIGKILL it ``delay_s`` after it logs iteration ``at_iter``; returns its output."""
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc, lines), daemon=True).start()
    out: list[str] = []
    end = time.monotonic() + deadline_s
    try:
        while True:
            line = lines.get(timeout=max(1.0, end - time.monotonic()))
            if line is None:
                pytest.fail(f"training ended before iteration {at_iter} (rc {proc.wait()}):\n" + "".join(out[-40:]))
            out.append(line)
            found = ITER_LINE.search(line)
            if found and int(found.group(1)) >= at_iter:
                break
        time.sleep(delay_s)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return out


def test_sigkill_at_seeded_random_points_then_resume(tmp_path, tiny_data, tally):
    rng = random.Random(SEED)
    config = fast_config(tmp_path, tiny_data, MAX_ITERS, INTERVAL)
    work = tmp_path / "work dir"
    env = dict(os.environ, **SUBPROCESS_ENV)
    plan = []
    newest = 0
    for kill in range(KILLS):
        at_iter = rng.randint(newest + 1, MAX_ITERS - 1)
        delay = rng.uniform(0.0, 0.8)  # about one iteration: before, during or after a save
        args = [*TRAIN, str(config), "--work-dir", str(work), "--no-test"] + (["--resume"] if kill else [])
        out = run_and_kill(args, env, at_iter, delay)
        logged = [int(m.group(1)) for line in out for m in [ITER_LINE.search(line)] if m]
        assert logged and logged[0] == newest + 1, f"kill {kill}: started at {logged[:1]}, newest checkpoint {newest}"
        newest, hidden = check_work_dir(work)
        plan.append((at_iter, round(delay, 2), newest, hidden))
        tally("SIGKILL during training (random iteration + delay)")
    # every kill after the first already resumed (asserted above); on a fast or idle machine the last kill can
    # land after the run finished, and then there is nothing left to resume
    if newest < MAX_ITERS:
        from zoo.engine.entry import train

        train(str(config), work_dir=str(work), resume="auto", test_after=False)  # the final resume, in-process
        logs = sorted(work.glob("*/*.log"), key=lambda p: p.stat().st_mtime)
        final_log = logs[-1].read_text()
        logged = [int(v) for v in ITER_LINE.findall(final_log)]
        assert logged == list(range(newest + 1, MAX_ITERS + 1)), (plan, logged)
        losses = [float(v) for v in re.findall(r"\sloss: (\S+)", final_log)]
        assert losses and all(math.isfinite(v) for v in losses), losses

    last, _ = check_work_dir(work)
    final = safe_load(work / f"iter_{MAX_ITERS}.pth")
    assert last == MAX_ITERS and final["meta"]["iter"] == MAX_ITERS
    steps = {int(s["step"]) for s in final["optimizer"]["state"].values()}
    assert steps == {MAX_ITERS}, f"optimizer stepped {steps} times over a {MAX_ITERS}-iteration run: {plan}"
    assert "rng_state" in final and "param_schedulers" in final
    print(f"kill plan (at iteration, delay s, newest checkpoint, hidden temporaries): {plan}")


_BLOCKED_WRITER = r"""
import os, sys, time
from pathlib import Path
from zoo.modelfile import atomic as sc

def stuck(fd):
    print("inside the write", flush=True)
    time.sleep(600)

os.fsync = stuck
sc.atomic_write_bytes(b"\x01" * (8 << 20), Path(sys.argv[1]))
"""


def test_kill_inside_a_checkpoint_write_leaves_the_old_file(tmp_path, tally):
    import torch

    target = tmp_path / "ckpts" / "iter_4.pth"
    target.parent.mkdir()
    torch.save({"state_dict": {"w": torch.arange(3.0)}, "meta": {"iter": 4}}, target)
    before = target.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", _BLOCKED_WRITER, str(target)], stdout=subprocess.PIPE, text=True,
                            cwd=REPO, env=dict(os.environ, **SUBPROCESS_ENV))
    try:
        assert proc.stdout.readline().strip() == "inside the write"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert target.read_bytes() == before
    assert safe_load(target)["meta"]["iter"] == 4
    leftovers = [p.name for p in target.parent.iterdir() if p != target]
    assert leftovers and all(n.startswith(".iter_4.pth.") and n.endswith(".tmp") for n in leftovers), leftovers
    assert [p.name for p in target.parent.glob("*.pth")] == ["iter_4.pth"]  # the temporary never matches
    tally("SIGKILL inside a checkpoint write (blocked in fsync)")


@pytest.mark.parametrize("pointer", ["empty", "names a deleted file"])
def test_resume_survives_a_broken_last_checkpoint_pointer(pointer, tmp_path, tally):
    """mmengine rewrites ``last_checkpoint`` with a plain open(): a kill there leaves it empty."""
    from zoo.engine.runner import latest_checkpoint

    work = tmp_path / "work"
    work.mkdir()
    for step in (2, 4):
        (work / f"iter_{step}.pth").write_bytes(b"whole")
    (work / ".iter_6.pth.abcd.tmp").write_bytes(b"half")
    (work / "last_checkpoint").write_text("" if pointer == "empty" else str(work / "iter_6.pth"))
    assert latest_checkpoint(work) == work / "iter_4.pth"
    (work / "last_checkpoint").write_text(str(work / "iter_2.pth"))
    assert latest_checkpoint(work) == work / "iter_2.pth"  # a valid pointer is obeyed
    tally("resume with an empty / stale last_checkpoint pointer")
