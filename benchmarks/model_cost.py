"""What each model config costs: parameters, GFLOPs and CPU forward time at 512 x 512, batch 1.

The model of every ``configs/*.py`` (only its ``model`` part; no data needed) is built with random
weights and timed in eager fp32 through ``mode='tensor'``, i.e. including its decoder, as it would be
exported. GFLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs = 2 x MACs) on the meta
device, for the whole model and for the backbone alone (comparable with ``../shared/ANCHORS.md``). To put the times
in context it also measures this machine's fp32 matrix-multiply throughput and reports each model's
achieved GFLOP/s as a share of it.

    python benchmarks/model_cost.py [--size 512] [--runs 5] [--out model_cost.md] [configs/x.py ...]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_ms(fn, runs: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def matmul_gflops(n: int = 2048, runs: int = 7) -> float:
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    ms = median_ms(lambda: a @ b, runs)
    return 2 * n ** 3 / (ms / 1e3) / 1e9


def build(path: Path):
    import torch
    from mmengine.config import Config

    from zoo.registry import MODELS

    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(path)).model).eval()


def cost(path: Path, size: int) -> dict:
    """Parameters and GFLOPs, counted on the meta device: no arithmetic runs, so load does not matter."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = build(path).to("meta")
    shapes = {}

    def remember(module, args, output):
        shapes["out"] = tuple(output.shape)

    model.head.register_forward_hook(remember)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, size, size, device="meta"), mode="tensor")
    per_module = counter.get_flop_counts()
    backbone = sum(per_module.get(f"{type(model).__name__}.backbone", {}).values())
    arch = getattr(model.backbone, "arch", None) or f"resnet{getattr(model.backbone, 'depth', '')}"
    output = f"heatmap {shapes['out'][-2]}x{shapes['out'][-1]}" if model.head.output_kind == "heatmap" else "coords"
    return dict(config=path.stem, backbone=arch, k=model.num_keypoints,
                params=sum(p.numel() for p in model.parameters()) / 1e6, gflops=counter.get_total_flops() / 1e9,
                backbone_gflops=backbone / 1e9, output=output, ms=None)


def timing(path: Path, size: int, runs: int) -> float:
    import torch

    model = build(path)
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        return median_ms(lambda: model(x, mode="tensor"), runs)


def table(rows: list[dict], peak: float | None) -> str:
    lines = ["| config | backbone | K | output | params (M) | GFLOPs | backbone GFLOPs | CPU ms (median) "
             "| GFLOP/s | share of matmul |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ms, rate, share = "-", "-", "-"
        if r["ms"] is not None:
            achieved = r["gflops"] / (r["ms"] / 1e3)
            ms, rate = f"{r['ms']:.0f}", f"{achieved:.0f}"
            share = f"{100 * achieved / peak:.0f}%" if peak else "-"
        lines.append(f"| {r['config']} | {r['backbone']} | {r['k']} | {r['output']} | {r['params']:.2f} "
                     f"| {r['gflops']:.1f} | {r['backbone_gflops']:.1f} | {ms} | {rate} | {share} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    import os
    import sys

    from zoo.registry import load_plugins

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per model (after 2 warm-up runs)")
    parser.add_argument("--no-time", action="store_true", help="parameters and GFLOPs only")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = parser.parse_args(argv)
    load_plugins()
    paths = args.configs or sorted((ROOT / "configs").glob("*.py"))
    rows = [cost(path, args.size) for path in paths]
    peak = None
    load_before = os.getloadavg()
    if not args.no_time:
        peak = matmul_gflops()
        for row, path in zip(rows, paths):
            row["ms"] = timing(path, args.size, args.runs)
            print(f"timed {path.stem}: {row['ms']:.0f} ms", file=sys.stderr, flush=True)
        peak = max(peak, matmul_gflops())
    load_after = os.getloadavg()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from decoders import machine  # benchmarks/decoders.py

    timing_note = (f"median of {args.runs} runs after 2 warm-up runs; fp32 matmul (2048^3) reached {peak:.0f} "
                   "GFLOP/s (best of two measurements around the models)" if peak else "not timed")
    text = (f"Input {args.size}x{args.size}, batch 1, fp32 eager, random weights, `mode='tensor'` (decoder "
            f"included); {timing_note}.\n\n{table(rows, peak)}\n\nMachine: {machine()}; 1-minute load average "
            f"{load_before[0]:.1f} before and {load_after[0]:.1f} after timing. The machine's cores are shared "
            "with other people's jobs: times vary run to run, compare them within one table.\n")
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
