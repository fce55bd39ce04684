"""The one parser of ``zoo leaderboard`` and ``tools/leaderboard.py``."""
from __future__ import annotations

import argparse
import shlex


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo leaderboard",
        description="Train every config under one budget on one split (or take checkpoints), test each on the "
                    "same held-out split with the same metric, measure its CPU cost, and write "
                    "leaderboard.md/.csv/.json and leaderboard.png.")
    p.add_argument("configs", nargs="*", help="model configs to train (any registered model, plugins included)")
    p.add_argument("--checkpoints", nargs="+", default=[], metavar="CKPT",
                   help="trained checkpoints to test as they are (their own configs are used)")
    p.add_argument("--data", metavar="ROOT", help="dataset root for every model (overrides the configs' data_root)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--iters", type=int, help="train every model for N iterations (equal data seen)")
    budget.add_argument("--budget-minutes", type=float, metavar="M",
                        help="train every model for M minutes, converted to iterations from its measured "
                             "throughput (equal time)")
    p.add_argument("--seed", type=int, default=0, help="random seed (repeats use seed, seed+1, ...)")
    p.add_argument("--repeats", type=int, default=1, help="train each model this many times; the table shows "
                                                          "the mean and how far the figures moved")
    p.add_argument("--out", default="work_dirs/leaderboard", help="output folder (default work_dirs/leaderboard)")
    p.add_argument("--runtimes", nargs="*", default=None, metavar="RUNTIME",
                   help="latency runtimes: eager channels_last ort_fp32 ort_int8 (default eager ort_fp32 ort_int8; "
                        "none: skip latency)")
    p.add_argument("--latency-runs", type=int, default=20, help="timed runs per runtime (median reported)")
    p.add_argument("--calib-images", type=int, default=8, help="images that calibrate the int8 model")
    p.add_argument("--probe-iters", type=int, default=6, help="iterations of the throughput probe (--budget-minutes)")
    p.add_argument("--no-channels-last", action="store_true",
                   help="train in the default memory format (channels-last is faster on CPU, same arithmetic)")
    p.add_argument("--note", action="append", default=[], metavar="TEXT",
                   help="a sentence for the notes under the table (repeatable; also with --render)")
    p.add_argument("--render", metavar="DIR", help="only rebuild DIR's tables and plot from its leaderboard.json")
    p.add_argument("--recost", metavar="DIR", help="only measure the cost (latency) of DIR's models again, back "
                                                   "to back, and rebuild its tables and plot")
    p.add_argument("--publish", nargs=2, metavar=("MD", "PNG"),
                   help="with --render: also write the markdown to MD and the plot to PNG (linked from MD)")
    p.add_argument("--debug", action="store_true", help="full tracebacks")
    return p


def run_cli(argv: list[str], prog: str = "zoo leaderboard") -> int:
    from zoo.engine.entry import report_errors

    args = parser().parse_args(argv)
    return report_errors(lambda: _run(args, argv, prog), args.debug)


def _run(args, argv: list[str], prog: str) -> None:
    from zoo.registry import ZooError

    from .run import DEFAULT_RUNTIMES, run_leaderboard

    runtimes = DEFAULT_RUNTIMES if args.runtimes is None else tuple(r for r in args.runtimes if r != "none")
    if args.render:
        from .run import render

        render(args.render, *(args.publish or (None, None)), notes=args.note)
        return
    from zoo.benchmarking.run import RUNTIMES

    unknown = [r for r in runtimes if r not in RUNTIMES]
    if unknown:
        raise ZooError(f"unknown runtime(s) {unknown}; choose from {', '.join(RUNTIMES)}")
    if args.recost:
        from .run import recost

        recost(args.recost, runtimes=runtimes, latency_runs=args.latency_runs, calib_images=args.calib_images)
        return
    run_leaderboard(args.configs, args.checkpoints, out=args.out, data_root=args.data, iters=args.iters,
                    budget_minutes=args.budget_minutes, seed=args.seed, repeats=args.repeats, runtimes=runtimes,
                    latency_runs=args.latency_runs, calib_images=args.calib_images, probe_iters=args.probe_iters,
                    channels_last=not args.no_channels_last, notes=args.note,
                    command=" ".join([prog] + [shlex.quote(a) for a in argv]))
