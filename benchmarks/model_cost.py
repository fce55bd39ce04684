"""What each model config costs: parameters, GFLOPs and CPU forward time at 512 x 512, batch 1.

The model of every single-stage recipe (``configs/heatmap/``, ``configs/regression/``; only its ``model``
part, no data needed) is built with random weights and run in eager fp32 through ``mode='tensor'``, i.e.
including its decoder, as it would be exported. GFLOPs come from ``torch.utils.flop_counter.FlopCounterMode``
(FLOPs = 2 x MACs) on the meta device -- no arithmetic, so machine load cannot change them -- for the whole
model and for the backbone alone, the figure published backbone costs are quoted in.

Timing is round-robin: after one warm-up pass each, every round times every model once, so a burst
of load from other jobs on a shared machine hits all models alike; rounds stop at ``--runs`` or when
``--budget-s`` is spent (at least one round). Median and minimum are reported (the minimum is the
best estimate of an unloaded machine), beside this machine's fp32 matrix-multiply throughput and the
1-minute load average, so a reader can judge how busy the machine was.

    python benchmarks/model_cost.py [--size 512] [--runs 5] [--budget-s 240] [--out x.md] [--csv FILE] \
        [configs/x.py ...]

Each run appends a row per config to ``benchmarks/results/model_cost.csv`` (``--csv``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ms(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def matmul_gflops(n: int = 2048, runs: int = 5) -> float:
    """Best fp32 matmul throughput over a few runs (after one warm-up)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    return 2 * n**3 / (min(_ms(lambda: a @ b) for _ in range(runs)) / 1e3) / 1e9


def build(path: Path):
    import torch
    from mmengine.config import Config

    from zoo.registry import MODELS

    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(path)).model).eval()


def cost(path: Path, size: int) -> dict:
    """Parameters and GFLOPs, counted on the meta device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = build(path).to("meta")
    shapes = {}

    def remember(module, args, output):
        shapes["out"] = tuple(output.shape)

    model.head.register_forward_hook(remember)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, size, size, device="meta"), mode="tensor")
    backbone = sum(counter.get_flop_counts().get(f"{type(model).__name__}.backbone", {}).values())
    arch = getattr(model.backbone, "arch", None) or f"resnet{getattr(model.backbone, 'depth', '')}"
    output = (
        f"heatmap {shapes['out'][-2]}x{shapes['out'][-1]}"
        if model.head.output_kind == "heatmap"
        else "coords"
    )
    return dict(
        config=path.stem,
        backbone=arch,
        k=model.num_keypoints,
        params=sum(p.numel() for p in model.parameters()) / 1e6,
        gflops=counter.get_total_flops() / 1e9,
        backbone_gflops=backbone / 1e9,
        output=output,
        times=[],
    )


def time_round_robin(paths: list[Path], rows: list[dict], size: int, runs: int, budget_s: float) -> int:
    """Fills each row's ``times``; returns the number of complete rounds."""
    import torch

    models = [build(p) for p in paths]
    x = torch.randn(1, 3, size, size)
    start = time.perf_counter()
    rounds = 0
    with torch.no_grad():
        for model in models:
            model(x, mode="tensor")  # warm-up
        while rounds < runs and (rounds == 0 or time.perf_counter() - start < budget_s):
            for model, row in zip(models, rows):
                row["times"].append(_ms(lambda m=model: m(x, mode="tensor")))
            rounds += 1
            print(
                f"round {rounds}: " + ", ".join(f"{r['config']} {r['times'][-1]:.0f} ms" for r in rows),
                file=sys.stderr,
                flush=True,
            )
    return rounds


def table(rows: list[dict], peak: float | None) -> str:
    lines = [
        "| config | backbone | K | output | params (M) | GFLOPs | backbone GFLOPs | CPU ms median "
        "| CPU ms min | GFLOP/s (at min) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        med = best = rate = "-"
        if r["times"]:
            med, best = f"{statistics.median(r['times']):.0f}", f"{min(r['times']):.0f}"
            rate = f"{r['gflops'] / (min(r['times']) / 1e3):.0f}"
        lines.append(
            f"| {r['config']} | {r['backbone']} | {r['k']} | {r['output']} | {r['params']:.2f} "
            f"| {r['gflops']:.1f} | {r['backbone_gflops']:.1f} | {med} | {best} | {rate} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    from zoo.registry import load_plugins

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (after one warm-up pass)")
    parser.add_argument("--budget-s", type=float, default=240.0, help="start no new round after this long")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: torch's choice); 1 avoids thread-barrier stalls when "
        "other jobs oversubscribe the cores",
    )
    parser.add_argument("--no-time", action="store_true", help="parameters and GFLOPs only")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    parser.add_argument("--csv", type=Path, default=ROOT / "benchmarks" / "results" / "model_cost.csv",
                        help="the results file this run appends its rows to")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load_plugins()
    families = [ROOT / "configs" / family for family in ("heatmap", "regression")]
    paths = args.configs or sorted(p for family in families for p in family.glob("*.py"))
    rows = [cost(path, args.size) for path in paths]
    note, peak, rounds = "not timed", None, 0
    load = os.getloadavg()[0]
    if not args.no_time:
        peak = matmul_gflops()
        rounds = time_round_robin(paths, rows, args.size, args.runs, args.budget_s)
        peak = max(peak, matmul_gflops())
        load = max(load, os.getloadavg()[0])
        note = (
            f"{rounds} timed round(s) after one warm-up, models interleaved; fp32 matmul (2048^3) peaked at "
            f"{peak:.0f} GFLOP/s"
        )
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from decoders import machine  # benchmarks/decoders.py

    text = (
        f"Input {args.size}x{args.size}, batch 1, fp32 eager, random weights, `mode='tensor'` (decoder "
        f"included); {note}.\n\n{table(rows, None)}\n\nMachine: {machine()}; highest 1-minute load average "
        f"seen: {load:.1f}. The cores are shared with other people's jobs: times vary from run to run and "
        "are inflated when the load exceeds the core count; compare them within one table.\n"
    )
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    record(args, paths, rows, started, peak, rounds, load, argv)


COLUMNS = ("started", "command", "config", "backbone", "landmarks", "output", "input", "params_m", "gflops",
           "backbone_gflops", "cpu_ms_median", "cpu_ms_min", "rounds", "torch_threads", "matmul_peak_gflops", "cpu",
           "cores", "cpu_flags", "platform", "torch", "python", "load_1min_start", "load_1min_max")


def record(args, paths, rows, started: str, peak, rounds: int, load: float, argv) -> None:
    """Append this run's rows, with the machine and the command, to the results CSV."""
    import shlex

    import torch

    from zoo.benchmarking.machine import machine_info
    from zoo.benchmarking.results_csv import append_rows, machine_columns, repo_relative

    given = sys.argv[1:] if argv is None else [str(a) for a in argv]
    kept = [a for a in given if a not in ("--csv", str(args.csv))]
    command = shlex.join(["python", "benchmarks/model_cost.py", *kept])
    common = {"started": started, "command": command, "input": f"{args.size}x{args.size}", "rounds": rounds,
              "torch_threads": torch.get_num_threads(), "matmul_peak_gflops": peak, "load_1min_max": load,
              **machine_columns(machine_info())}
    append_rows(args.csv, COLUMNS, [
        {**common, "config": repo_relative(path), "backbone": r["backbone"], "landmarks": r["k"],
         "output": r["output"], "params_m": r["params"], "gflops": r["gflops"],
         "backbone_gflops": r["backbone_gflops"],
         "cpu_ms_median": statistics.median(r["times"]) if r["times"] else None,
         "cpu_ms_min": min(r["times"]) if r["times"] else None}
        for path, r in zip(paths, rows)])


if __name__ == "__main__":
    main()
