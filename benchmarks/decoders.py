"""Decoder precision against the physical limit: Gaussians at random sub-pixel positions.

Each heatmap is a Gaussian of the training sigma centred at a uniformly random real position (the
zoo's pixel-centre convention), optionally with its peak height jittered and additive Gaussian noise.
Plain argmax cannot beat the quantisation floor (0.383 px mean radial error for uniform offsets); a
sub-pixel decoder should approach zero on clean maps and still beat argmax on noisy ones. Errors are
in heatmap pixels, so they hold for any output stride.

    python benchmarks/decoders.py [--n 2000] [--size 64] [--out decoders.md] [--csv FILE]

Each run appends a row per decoder and setting to ``benchmarks/results/decoders.csv`` (``--csv``).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    import os

    import torch

    return (
        f"{platform.platform()}, {cpu_name()}, "
        f"{os.cpu_count()} logical CPUs, torch {torch.__version__}, torch threads: {torch.get_num_threads()}"
    )


def make_maps(n: int, size: int, sigma: float, noise: float, seed: int):
    import torch

    from zoo.heads.convention import render_gaussians

    g = torch.Generator().manual_seed(seed)
    margin = 3 * sigma
    centres = margin + torch.rand(n, 1, 2, generator=g, dtype=torch.float64) * (size - 1 - 2 * margin)
    maps = render_gaussians(centres, (size, size), sigma)
    if noise:
        maps = maps * (0.7 + 0.3 * torch.rand(n, 1, 1, 1, generator=g, dtype=torch.float64))
        maps = maps + noise * torch.randn(maps.shape, generator=g, dtype=torch.float64)
    return maps.float(), centres.float()


def decoders(sigma: float):
    from zoo.registry import DECODERS

    return {
        "argmax": DECODERS.build(dict(type="ArgmaxDecoder")),
        "DARK (modulation sigma = target sigma)": DECODERS.build(dict(type="DarkDecoder", blur_sigma=sigma)),
        "Taylor step only (no modulation)": DECODERS.build(dict(type="DarkDecoder", blur_sigma=0)),
        "soft-argmax, beta 20": DECODERS.build(dict(type="SoftArgmaxDecoder", beta=20)),
        "soft-argmax, beta 50": DECODERS.build(dict(type="SoftArgmaxDecoder", beta=50)),
    }


def run(n: int, size: int, sigmas: list[float], noises: list[float], seed: int) -> list[tuple]:
    import torch

    rows = []
    for sigma in sigmas:
        for noise in noises:
            maps, centres = make_maps(n, size, sigma, noise, seed)
            for name, dec in decoders(sigma).items():
                t0 = time.perf_counter()
                with torch.no_grad():
                    # identity input/heatmap size: coordinates stay in heatmap px
                    coords, _ = dec(maps, (size, size))
                ms = (time.perf_counter() - t0) * 1e3
                err = (coords - centres).norm(dim=-1).flatten()
                rows.append(
                    (
                        sigma,
                        noise,
                        name,
                        err.mean().item(),
                        err.median().item(),
                        err.quantile(0.95).item(),
                        err.max().item(),
                        ms / n * 1e3,
                    )
                )
    return rows


def table(rows, n: int, size: int) -> str:
    lines = [
        f"Radial error in heatmap px over {n} Gaussians per row on a {size}x{size} map "
        "(noise: additive N(0, s) on a peak of 0.7-1.0).",
        "",
        "| sigma | noise s | decoder | mean | median | p95 | max | us / map |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for sigma, noise, name, mean, med, p95, mx, us in rows:
        lines.append(
            f"| {sigma:g} | {noise:g} | {name} | {mean:.4f} | {med:.4f} | {p95:.3f} | {mx:.3f} | {us:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="heatmaps per row")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[1.5, 2.0])
    parser.add_argument("--noises", type=float, nargs="+", default=[0.0, 0.05, 0.1])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    parser.add_argument("--csv", type=Path, default=Path(__file__).resolve().parent / "results" / "decoders.csv",
                        help="the results file this run appends its rows to")
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    rows = run(args.n, args.size, args.sigmas, args.noises, args.seed)
    text = (
        f"{table(rows, args.n, args.size)}\n\nMachine: {machine()}. "
        "Shared machine: timings are indicative, other jobs were running.\n"
    )
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    record(args, rows, started, argv)


COLUMNS = ("started", "command", "sigma", "noise", "decoder", "map_size", "maps", "seed", "mean_px", "median_px",
           "p95_px", "max_px", "us_per_map", "cpu", "cores", "cpu_flags", "platform", "torch", "python",
           "load_1min_start")


def record(args, rows, started: str, argv) -> None:
    """Append this run's rows, with the machine and the command, to the results CSV."""
    import shlex

    from zoo.benchmarking.machine import machine_info
    from zoo.benchmarking.results_csv import append_rows, machine_columns

    given = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join(["python", "benchmarks/decoders.py", *(a for a in given if a not in ("--csv", str(args.csv)))])
    common = {"started": started, "command": command, "map_size": args.size, "maps": args.n, "seed": args.seed,
              **machine_columns(machine_info())}
    append_rows(args.csv, COLUMNS, [
        {**common, "sigma": sigma, "noise": noise, "decoder": name, "mean_px": mean, "median_px": med,
         "p95_px": p95, "max_px": mx, "us_per_map": us}
        for sigma, noise, name, mean, med, p95, mx, us in rows])


if __name__ == "__main__":
    main()
