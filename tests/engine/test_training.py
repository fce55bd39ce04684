"""Training on mmengine's Runner: checkpoints that describe themselves, resume after SIGKILL, DDP, faults."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from zoo.modelfile import safe_load

REPO = Path(__file__).resolve().parents[2]

TRAIN = [sys.executable, str(REPO / "tools" / "train.py")]
TEST = [sys.executable, str(REPO / "tools" / "test.py")]


def _run(cmd, timeout=300, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, **kw)


def _iters_logged(log: str) -> list[int]:
    return [int(m) for m in re.findall(r"Iter\(train\) \[\s*(\d+)/", log)]


def test_train_writes_a_self_describing_weights_only_checkpoint_and_test_reproduces(tmp_path, tiny_config):
    work = tmp_path / "work dir"
    result = _run([*TRAIN, str(tiny_config), "--work-dir", str(work)])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MRE_px" in result.stdout  # the report is printed after training
    best = next(work.glob("best_*.pth"))
    assert f'checkpoint: "{best}"' in result.stdout  # quoted: the work dir has a space
    assert f'zoo predict "{best}" YOUR_IMAGE.jpg' in result.stdout  # and the next command to run
    ckpt = work / "iter_4.pth"
    state = torch.load(ckpt, weights_only=True)  # no allowlist needed: plain data only
    meta = state["zoo_meta"]
    assert meta["landmark_set"] == "ceph31" and len(meta["landmark_symbols"]) == 31
    assert meta["preprocess"]["input_size"] == [128, 128]
    assert meta["preprocess"]["mean"] == [123.675, 116.28, 103.53]
    # the synthetic skulls face right, upright: what every export of this checkpoint will say
    assert meta["canonical_orientation"]["profile_faces"] == "right" and meta["canonical_orientation"]["upright"]
    assert f'zoo checkpoint calibrate "{best}"' in result.stdout

    # each with a work dir of its own: without one `zoo test` logs under ./work_dirs/, here the checkout
    alone = _run([*TEST, str(ckpt), "--out", str(tmp_path / "alone.json"), "--work-dir", str(tmp_path / "t1")])
    with_cfg = _run([*TEST, str(tiny_config), str(ckpt), "--out", str(tmp_path / "cfg.json"),
                     "--work-dir", str(tmp_path / "t2")])
    assert alone.returncode == 0 and with_cfg.returncode == 0, alone.stderr[-2000:] + with_cfg.stderr[-2000:]
    import json

    a, b = (json.loads((tmp_path / f).read_text())["report"] for f in ("alone.json", "cfg.json"))
    assert a == b and a["samples"] > 0


def test_killed_training_resumes_from_its_last_checkpoint(tmp_path, tiny_data, make_config):
    config = make_config(tmp_path, tiny_data, max_iters=10, interval=2)
    work = tmp_path / "work"
    proc = subprocess.Popen([*TRAIN, str(config), "--work-dir", str(work), "--no-test"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not (work / "iter_4.pth").exists():
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (work / "iter_4.pth").exists(), "training never reached its second checkpoint"
    last = max(int(p.stem.split("_")[1]) for p in work.glob("iter_*.pth"))
    assert last < 10, "killed too late to test resuming"
    for ckpt in work.glob("iter_*.pth"):
        safe_load(ckpt)  # every visible checkpoint is whole

    resumed = _run([*TRAIN, str(config), "--work-dir", str(work), "--resume", "--no-test"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    logged = _iters_logged(resumed.stdout + resumed.stderr)
    assert logged and min(logged) > last, f"resumed run started again from {min(logged)}; last checkpoint {last}"
    final = safe_load(work / "iter_10.pth")
    assert final["meta"]["iter"] == 10
    losses = re.findall(r"\sloss: ([-\d.naif]+)", resumed.stdout + resumed.stderr)
    assert losses and all(float(v) == float(v) and abs(float(v)) != float("inf") for v in losses)


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path, tiny_data, make_config):
    config = make_config(tmp_path, tiny_data, max_iters=2, interval=2)
    work = tmp_path / "work"
    assert _run([*TRAIN, str(config), "--work-dir", str(work), "--no-test"]).returncode == 0
    good = (work / "iter_2.pth").read_bytes()
    bad = _run([*TRAIN, str(config), "--work-dir", str(work), "--resume", "--no-test", "--cfg-options",
                "train_cfg.max_iters=4", "model.loss.loss_weight=nan"])
    assert bad.returncode == 2
    assert "iteration 3" in bad.stderr and "training stopped" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert (work / "iter_2.pth").read_bytes() == good
    assert not (work / "iter_4.pth").exists()


@pytest.mark.parametrize("options, expected", [
    (["model.head.sigmaa=2"], "sigmaa"),
    (["model.backbone.type=HRNetBackbon"], "HRNetBackbone"),
])
def test_config_faults_are_one_line_and_exit_2(tmp_path, tiny_config, options, expected):
    result = _run([*TRAIN, str(tiny_config), "--work-dir", str(tmp_path / "w"), "--cfg-options", *options])
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 or result.stderr.strip().splitlines()[-1].startswith("error")


def test_missing_config_and_missing_data_are_clear(tmp_path, tiny_config):
    missing = _run([*TRAIN, str(tmp_path / "nope.py")])
    assert missing.returncode == 2 and "not found" in missing.stderr
    no_data = _run([*TRAIN, str(tiny_config), "--cfg-options",
                    f"train_dataloader.dataset.data_root={tmp_path / 'absent'}"])
    assert no_data.returncode == 2
    assert "zoo data synth" in no_data.stderr and "Traceback" not in no_data.stderr


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path, tiny_data, make_config):
    config = make_config(tmp_path, tiny_data, max_iters=2, interval=2)
    work = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
                   str(REPO / "tools" / "train.py"), str(config), "--work-dir", str(work), "--launcher", "pytorch",
                   "--no-test"], env=env, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert re.search(r"Distributed training: True", log)
    assert re.search(r"Devices: 2 processes (on the CPU|one GPU each)", log)
    assert "GPU number" not in log and ("nccl" not in log or torch.cuda.is_available())  # gloo on a CPU
    assert (work / "iter_2.pth").exists()


def test_checkpoint_of_another_architecture_is_refused_by_test(tmp_path, tiny_config):
    work = tmp_path / "w"
    assert _run([*TRAIN, str(tiny_config), "--work-dir", str(work), "--no-test",
                 "--cfg-options", "train_cfg.max_iters=2"]).returncode == 0
    other = _run([*TEST, str(tiny_config), str(work / "iter_2.pth"), "--work-dir", str(tmp_path / "t"),
                  "--cfg-options", "model.backbone.arch=hrnet_w18_small_v2"])
    assert other.returncode == 2
    assert "does not fit" in other.stderr and "Traceback" not in other.stderr


def test_empty_split_is_a_clear_error(tmp_path, tiny_config):
    result = _run([*TRAIN, str(tiny_config), "--cfg-options", "train_dataloader.dataset.indices=0:0"])
    assert result.returncode == 2 and "holds no samples" in result.stderr
