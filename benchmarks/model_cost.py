"""What each model config costs: parameters, GFLOPs and CPU forward time at 512 x 512, batch 1.

The model of every ``configs/*.py`` (only its ``model`` part; no data needed) is built with random
weights and timed in eager fp32 through ``mode='tensor'``, i.e. including its decoder, as it would be
exported. GFLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs = 2 x MACs), for the
whole model and for the backbone alone (comparable with ``../shared/ANCHORS.md``). To put the times
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


def gflops(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 1e9


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


def measure(path: Path, size: int, runs: int) -> dict:
    import torch
    from mmengine.config import Config

    from zoo.registry import MODELS

    cfg = Config.fromfile(str(path))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    x = torch.randn(1, 3, size, size)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    with torch.no_grad():
        total = gflops(lambda: model(x, mode="tensor"))
        backbone = gflops(lambda: model.backbone(x))
        heatmap = model.forward_head(x).shape[-2:] if model.head.output_kind == "heatmap" else None
        ms = median_ms(lambda: model(x, mode="tensor"), runs)
    return dict(config=path.stem, backbone=type(model.backbone).__name__ + ":" + str(
        getattr(model.backbone, "arch", getattr(model.backbone, "depth", ""))), k=model.num_keypoints,
        params=params, gflops=total, backbone_gflops=backbone, ms=ms,
        output=f"heatmap {heatmap[0]}x{heatmap[1]}" if heatmap is not None else "coords")


def table(rows: list[dict], peak: float) -> str:
    lines = ["| config | backbone | K | output | params (M) | GFLOPs | backbone GFLOPs | CPU ms (median) "
             "| GFLOP/s | share of matmul peak |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rate = r["gflops"] / (r["ms"] / 1e3)
        lines.append(f"| {r['config']} | {r['backbone']} | {r['k']} | {r['output']} | {r['params']:.2f} "
                     f"| {r['gflops']:.1f} | {r['backbone_gflops']:.1f} | {r['ms']:.0f} | {rate:.0f} "
                     f"| {100 * rate / peak:.0f}% |")
    return "\n".join(lines)


def main(argv=None) -> None:
    import torch

    from zoo.registry import load_plugins

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per model (after 2 warm-up runs)")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = parser.parse_args(argv)
    load_plugins()
    paths = args.configs or sorted((ROOT / "configs").glob("*.py"))
    peak_before = matmul_gflops()
    rows = []
    for path in paths:
        rows.append(measure(path, args.size, args.runs))
        print(f"measured {path.stem}: {rows[-1]['ms']:.0f} ms", flush=True)
    peak = max(peak_before, matmul_gflops())
    from decoders import machine  # benchmarks/decoders.py, beside this file

    text = (f"Input {args.size}x{args.size}, batch 1, fp32 eager, random weights, `mode='tensor'` (decoder "
            f"included); median of {args.runs} runs after 2 warm-up runs.\n\n{table(rows, peak)}\n\n"
            f"fp32 matmul (2048^3) on this machine: {peak:.0f} GFLOP/s (best of two measurements around the "
            f"models). Machine: {machine()}. The machine is shared by several people's jobs: times vary "
            "run to run; compare them within this table.\n")
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    del torch


if __name__ == "__main__":
    main()
