"""Training step time on the CPU: bf16 autocast (CPUAutocastOptimWrapper) against fp32, same process.

    python benchmarks/cpu_bf16_step.py [CONFIG] [--data ROOT] [--runs 6] [--out result.json] [--csv FILE]

One batch of the config's own training pipeline is read once; then a full ``train_step`` (preprocessing,
forward, loss, backward, clipping, optimizer step) runs with the config's optimizer wrapped the plain way and
with bf16 autocast, interleaved so that load changes hit both alike, each on its own copy of the model. The
loader's time is left out: it is the same either way. The figure that matters is the ratio, with the machine's
bf16 support beside it (``native_bf16``): without AVX512-BF16 or AMX, bf16 is emulated and slower. Each run
appends its row to ``benchmarks/results/cpu_bf16_step.csv`` (``--csv``), with the machine and the command.
"""
from __future__ import annotations

import argparse
import copy
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="configs/two_stage/two-stage_hrnet-w18-small_b6-2k_isbi19-256.py")
    ap.add_argument("--data", help="the dataset root, if not the config's")
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--out", help="write the figures as JSON")
    ap.add_argument("--csv", default=str(REPO / "benchmarks" / "results" / "cpu_bf16_step.csv"),
                    help="the results file this run appends its row to")
    args = ap.parse_args(argv)

    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from zoo.benchmarking.machine import cores, machine_info
    from zoo.benchmarking.results_csv import BF16_STEP_COLUMNS, append_rows, bf16_step_row, repo_relative
    from zoo.engine.cpu_autocast import native_bf16
    from zoo.registry import MODELS, load_plugins

    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load_plugins()
    torch.set_num_threads(cores())
    cfg = Config.fromfile(args.config)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    if args.data:
        loader_cfg.dataset.data_root = args.data
    with DefaultScope.overwrite_default_scope("zoo"):
        torch.manual_seed(0)
        batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
        base = MODELS.build(cfg.model)
        steps = {}
        for name, kind in (("fp32", "OptimWrapper"), ("bf16", "CPUAutocastOptimWrapper")):
            model = copy.deepcopy(base).train()
            wrapper = build_optim_wrapper(model, dict(copy.deepcopy(cfg.optim_wrapper), type=kind))
            steps[name] = (lambda m=model, w=wrapper: m.train_step(batch, w))

    times = {k: [] for k in steps}
    for step in steps.values():  # warm-up: oneDNN picks and caches its kernels on the first calls
        step(), step()
    for _ in range(args.runs):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    median = {k: statistics.median(v) for k, v in times.items()}
    result = {"config": args.config, "batch_size": cfg.train_dataloader.batch_size, "runs": args.runs,
              "native_bf16": native_bf16(), "median_step_s": median, "all_steps_s": times,
              "bf16_speedup": median["fp32"] / median["bf16"], "torch": torch.__version__,
              "machine": machine_info()}
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    config = repo_relative(args.config)
    command = ["python", "benchmarks/cpu_bf16_step.py", config, "--runs", str(args.runs)]
    command += ["--data", args.data] if args.data else []
    append_rows(args.csv, BF16_STEP_COLUMNS, [bf16_step_row(result, started, shlex.join(command), config)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
