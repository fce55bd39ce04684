"""What a timm backbone costs in a landmark detector on a CPU, against HRNet-W18-small in the same process.

Each model is the short ISBI heatmap recipe (``configs/heatmap/hm_hrnet-w18-small_b6-300_isbi19-192.py``:
HRNetV2 neck, heatmaps at stride 4, DARK decoding) with its backbone replaced, as a user swaps one, and run in
eager fp32 through ``mode='tensor'`` (decoder included) at one input size, batch 1. The reference row is the
recipe itself (``HRNetBackbone`` W18-small, its real branches). Parameters are counted for the backbone and
for the whole model; GFLOPs come from the zoo's own counter (``zoo.benchmarking.run.count_gflops``, FLOPs =
2 x MACs).
The backbone alone is timed too: a backbone whose coarsest level is wide (MobileNet's 960 channels) is cheap
itself, yet makes the HRNetV2 neck, which upsamples every level to stride 4, the slowest part of the model.

Timing is round-robin: after two warm-up passes each, every round times every backbone and every model once,
so a burst of load from other jobs hits all alike; rounds stop at ``--runs`` or when ``--budget-s`` is spent.
A ratio is a median over the reference's median from the same rounds: on a shared machine absolute times
drift by 10-25 % from run to run, ratios far less.

    python benchmarks/timm_backbones.py [--size 256] [--threads 2] [--runs 15] [--budget-s 90] [NAME ...]

Each run appends a row per model to ``benchmarks/results/timm_backbones.csv`` (``--csv``).
"""
from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "heatmap" / "hm_hrnet-w18-small_b6-300_isbi19-192.py"
REFERENCE = "hrnet_w18_small"
COLUMNS = ("started", "command", "model", "backbone", "recipe", "input", "torch_threads",
           "backbone_params_m", "params_m", "gflops", "backbone_ms_median", "backbone_ms_min",
           "backbone_ratio_to_hrnet_w18_small", "model_ms_median", "model_ms_min",
           "model_ratio_to_hrnet_w18_small", "rounds", "timm", "cpu", "cores", "cpu_flags", "platform",
           "torch", "python", "load_1min_start", "load_1min_end")


def build(backbone: dict):
    """The recipe's model with ``backbone`` in place of its own."""
    import torch
    from mmengine.config import Config

    from zoo.registry import MODELS

    cfg = Config.fromfile(str(RECIPE))
    cfg.model.backbone = backbone
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def _ms(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def measure(names: list[str], size: int, runs: int, budget_s: float) -> tuple[list[dict], int]:
    """One row per model (the reference first); the models are timed interleaved."""
    import torch

    from zoo.benchmarking.run import count_gflops

    backbones = [(REFERENCE, dict(type="HRNetBackbone", arch=REFERENCE))]
    backbones += [(name, dict(type="TimmBackbone", model_name=name)) for name in names]
    x = torch.randn(1, 3, size, size)
    rows, models = [], []
    for name, backbone in backbones:
        model = build(backbone)
        rows.append(dict(model=name, backbone=backbone["type"],
                         backbone_params_m=sum(p.numel() for p in model.backbone.parameters()) / 1e6,
                         params_m=sum(p.numel() for p in model.parameters()) / 1e6,
                         gflops=count_gflops(model, x), backbone_times=[], model_times=[]))
        models.append(model)
    rounds, start = 0, time.perf_counter()
    with torch.inference_mode():
        for model in models:
            for _ in range(2):
                model(x, mode="tensor")
        while rounds < runs and (rounds == 0 or time.perf_counter() - start < budget_s):
            for model, row in zip(models, rows):
                row["backbone_times"].append(_ms(lambda m=model: m.backbone(x)))
                row["model_times"].append(_ms(lambda m=model: m(x, mode="tensor")))
            rounds += 1
            print(f"round {rounds}: " + ", ".join(f"{r['model']} {r['backbone_times'][-1]:.0f}/"
                                                 f"{r['model_times'][-1]:.0f} ms" for r in rows),
                  file=sys.stderr, flush=True)
    for part in ("backbone", "model"):
        reference = statistics.median(rows[0][f"{part}_times"])
        for row in rows:
            times = row.pop(f"{part}_times")
            row[f"{part}_ms_median"], row[f"{part}_ms_min"] = statistics.median(times), min(times)
            row[f"{part}_ratio_to_{REFERENCE}"] = row[f"{part}_ms_median"] / reference
    return rows, rounds


def table(rows: list[dict], size: int) -> str:
    lines = [f"| backbone | params (M) | model GFLOPs at {size} px | backbone ms | model ms "
             f"| backbone time / {REFERENCE}'s | model time / {REFERENCE}'s |", "|---" * 7 + "|"]
    lines += [f"| {r['model']} | {r['backbone_params_m']:.2f} | {r['gflops']:.2f} "
              f"| {r['backbone_ms_median']:.1f} | {r['model_ms_median']:.1f} "
              f"| {r[f'backbone_ratio_to_{REFERENCE}']:.2f} "
              f"| {r[f'model_ratio_to_{REFERENCE}']:.2f} |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> None:
    from zoo.registry import load_plugins
    from zoo_timm import CPU_FRIENDLY

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"timm model names (default: {', '.join(CPU_FRIENDLY)})")
    parser.add_argument("--size", type=int, default=256, help="square input side, px")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--runs", type=int, default=15, help="timed rounds (after two warm-up passes each)")
    parser.add_argument("--budget-s", type=float, default=90.0, help="start no new round after this long")
    parser.add_argument("--csv", type=Path, default=ROOT / "benchmarks" / "results" / "timm_backbones.csv",
                        help="the results file this run appends its rows to")
    args = parser.parse_args(argv)
    import timm
    import torch

    from zoo.benchmarking.machine import machine_info
    from zoo.benchmarking.results_csv import append_rows, machine_columns, repo_relative

    torch.set_num_threads(args.threads)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    machine = machine_info()
    load_plugins()
    rows, rounds = measure(list(args.names) or list(CPU_FRIENDLY), args.size, args.runs, args.budget_s)
    machine["load_average_at_end"] = machine_info()["load_average_at_start"]
    print(table(rows, args.size))
    given = sys.argv[1:] if argv is None else [str(a) for a in argv]
    kept = [a for a in given if a not in ("--csv", str(args.csv))]
    common = dict(started=started, command=shlex.join(["python", "benchmarks/timm_backbones.py", *kept]),
                  recipe=repo_relative(RECIPE), input=f"{args.size}x{args.size}", torch_threads=args.threads,
                  rounds=rounds, timm=timm.__version__, **machine_columns(machine))
    append_rows(args.csv, COLUMNS, [{**common, **row} for row in rows])


if __name__ == "__main__":
    main()
