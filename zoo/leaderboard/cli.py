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
    budget.add_argument("--iters", type=int, nargs="+", metavar="N",
                        help="train every model for N iterations (equal data seen); a board takes several")
    budget.add_argument("--budget-minutes", type=float, nargs="+", metavar="M",
                        help="train every model for M (CPU-)minutes, converted to iterations from its "
                             "measured throughput (equal time); a board takes several (the budget curve)")
    p.add_argument("--seed", type=int, default=0, help="random seed (repeats use seed, seed+1, ...)")
    p.add_argument("--repeats", "--seeds", dest="repeats", type=int, default=1,
                   help="train each model this many times (seeds S, S+1, ...); the table shows the mean "
                        "and how far the figures moved")
    board = p.add_argument_group(
        "board", "a board file's rows under one protocol, recorded run by run in its results files and "
                 "resumed by running the same command again (configs/leaderboard/board_isbi19.yml)")
    board.add_argument("--board", metavar="NAME|FILE",
                       help="run the board NAME (configs/leaderboard/board_NAME.yml) or FILE: every "
                            "(seed, budget, row) not recorded yet")
    board.add_argument("--rows", nargs="+", metavar="ROW", help="only these rows of the board")
    board.add_argument("--backbone", metavar="DICT",
                       help="a row of your own: the board's recipe with this global-stage backbone, e.g. "
                            "\"dict(type='MyBackbone', depth=3)\" (configs given as arguments are rows too)")
    board.add_argument("--refine-backbone", metavar="DICT", help="... and/or this refine-stage backbone")
    board.add_argument("--name", help="the name of the --backbone/--refine-backbone row")
    board.add_argument("--plan", "--dry-run", dest="plan", action="store_true",
                       help="print every planned run, whether it is recorded, and the time left; train "
                            "nothing")
    board.add_argument("--report-only", action="store_true",
                       help="rebuild the board's report and plots from its results files (the table at the "
                            "budget most rows ran at, or at --budget-minutes M)")
    board.add_argument("--results", metavar="DIR", help="results folder (default: the board file's, "
                                                        "benchmarks/results)")
    board.add_argument("--report", metavar="MD",
                       help="report path (default: the board file's, LEADERBOARD.md)")
    board.add_argument("--images", metavar="DIR", help="plot folder (default: the board file's, docs/images)")
    board.add_argument("--no-report", action="store_true", help="do not rebuild the report after each run")
    p.add_argument("--out", default="work_dirs/leaderboard", help="output folder (default work_dirs/leaderboard)")
    p.add_argument("--runtimes", nargs="*", default=None, metavar="RUNTIME",
                   help="latency runtimes: eager channels_last ort_fp32 ort_int8 (default eager ort_fp32 ort_int8; "
                        "none: skip latency)")
    p.add_argument("--latency-runs", type=int, default=20, help="timed runs per runtime (median reported)")
    p.add_argument("--calib-images", type=int, default=8, help="images that calibrate the int8 model")
    p.add_argument("--probe-iters", type=int, default=None,
                   help="iterations of the throughput probe (--budget-minutes; default 6, 32 for a board, "
                        "which times the last 8)")
    p.add_argument("--no-channels-last", action="store_true",
                   help="train in the default memory format (channels-last is faster on CPU, same arithmetic)")
    p.add_argument("--note", action="append", default=[], metavar="TEXT",
                   help="a sentence for the notes under the table (repeatable; also with --render)")
    p.add_argument("--render", metavar="DIR", help="only rebuild DIR's tables and plot from its leaderboard.json")
    p.add_argument("--recost", metavar="DIR", nargs="?", const="",
                   help="only measure the cost (latency) of DIR's models again, back to back, and rebuild "
                        "its tables and plot (with --board: every recorded row's, from its latest "
                        "checkpoint)")
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
    command = " ".join([prog] + [shlex.quote(a) for a in argv])
    if args.board:
        _board(args, runtimes, command)
        return
    board_only = [f for f, v in (("--rows", args.rows), ("--backbone", args.backbone), ("--name", args.name),
                                 ("--refine-backbone", args.refine_backbone), ("--plan", args.plan),
                                 ("--report-only", args.report_only), ("--results", args.results),
                                 ("--report", args.report), ("--images", args.images)) if v]
    if board_only:
        raise ZooError(f"{', '.join(board_only)} belong to a board: add --board NAME (e.g. --board isbi19)")
    for flag, values in (("--iters", args.iters), ("--budget-minutes", args.budget_minutes)):
        if values and len(values) > 1:
            raise ZooError(f"{flag} takes one value without --board (a board runs several budgets)")
    if args.recost == "":
        raise ZooError("--recost takes the leaderboard folder to re-measure (or add --board NAME)")
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
    run_leaderboard(args.configs, args.checkpoints, out=args.out, data_root=args.data,
                    iters=args.iters[0] if args.iters else None,
                    budget_minutes=args.budget_minutes[0] if args.budget_minutes else None, seed=args.seed,
                    repeats=args.repeats, runtimes=runtimes, latency_runs=args.latency_runs,
                    calib_images=args.calib_images, probe_iters=args.probe_iters or 6,
                    channels_last=not args.no_channels_last, notes=args.note, command=command)


def _board(args, runtimes, command: str) -> None:
    """``--board``: plan, run, re-cost or report a board (``zoo.leaderboard.board``)."""
    from zoo.benchmarking.run import RUNTIMES
    from zoo.registry import ZooError

    from .board import BOARD_PROBE_ITERS, describe_plan, load_board, plan, recost_board, run_board
    from .budget import BudgetError
    from .store import ResultsStore

    if args.checkpoints:
        raise ZooError("a board trains its rows under its protocol; --checkpoints are for a plain "
                       "leaderboard")
    unknown = [r for r in runtimes if r not in RUNTIMES]
    if unknown:
        raise ZooError(f"unknown runtime(s) {unknown}; choose from {', '.join(RUNTIMES)}")
    board = load_board(args.board, rows=args.rows, configs=args.configs, backbone=args.backbone,
                       refine_backbone=args.refine_backbone, name=args.name, results=args.results,
                       report=False if args.no_report else args.report, images=args.images)
    store = ResultsStore(board.results, board.name)
    budgets = [("minutes", float(v)) for v in args.budget_minutes or []] + \
              [("iters", float(v)) for v in args.iters or []]
    if args.report_only:
        from .board_report import write_report

        if board.report is None:
            raise ZooError("--report-only with --no-report writes nothing; give --report MD")
        if len(budgets) > 1:
            raise ZooError("--report-only shows one budget in its table (the curve shows them all); give one")
        data = write_report(store, board.report, board.images, budget=budgets[0] if budgets else None)
        print(f"{board.report}: {len(data['table'])} rows at {data['budget_label'] or 'no budget yet'} "
              f"from {len(data['runs'])} recorded runs" + (f"; plots {', '.join(data['images'].values())}"
                                                           if data["images"] else ""))
        return
    work_root = f"{args.out}/{board.name}"
    if args.recost is not None:
        recost_board(board, runtimes=runtimes, latency_runs=args.latency_runs, calib_images=args.calib_images,
                     command=command, work_root=work_root)
        return
    if not budgets:
        raise BudgetError("a board needs its budget: --budget-minutes M [M ...] (or --iters N [N ...])")
    seeds = [args.seed + i for i in range(max(1, args.repeats))]
    if args.plan:
        from zoo.benchmarking import machine_info

        for line in describe_plan(board, store, plan(board, store, budgets, seeds), machine_info()):
            print(line)
        return
    run_board(board, budgets=budgets, seeds=seeds, data_root=args.data, runtimes=runtimes,
              latency_runs=args.latency_runs, calib_images=args.calib_images,
              probe_iters=args.probe_iters or BOARD_PROBE_ITERS, work_root=work_root, command=command,
              note=" ".join(args.note))
