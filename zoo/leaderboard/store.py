"""A board's results files: one CSV row per finished run, its per-image errors beside it, probes and costs.

A board over days is many processes, each of which may be killed. So each run appends its row the moment it
is tested (the per-image errors first, then the row that names them): a killed job loses at most the run in
progress, and the next invocation of the same command skips every run whose row exists. The report is built
from these files alone, so it can be rebuilt anywhere without a checkpoint.

- ``leaderboard_runs.csv``: one row per run (board, row, config hash, seed, budget, figures, machine, commit,
  the command);
- ``leaderboard_<board>/<hash>_<budget>_s<seed>.jsonl``: that run's radial error of every landmark of every
  test image (original px; mm = px x ``spacing_mm``), what intervals and paired tests need;
- ``leaderboard_probes.csv``: each row's measured seconds per iteration on a machine, so every seed of a row
  gets the same iteration count from one measurement;
- ``leaderboard_costs.csv``: parameters, GFLOPs and whole-predictor latency of each row on a machine.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from zoo.benchmarking.results_csv import append_rows

MACHINE = ("cpu", "cores", "cpu_flags", "platform", "torch", "onnxruntime", "python", "load_1min_start",
           "load_1min_end")
RUN_COLUMNS = (
    "finished", "board", "row", "reference", "config_hash", "seed", "budget_kind", "budget", "iters", "batch",
    "sec_per_iter_probe", "val_every", "selected_iter", "val_MRE_mm", "train_min", "test_min", "MRE_mm",
    "MRE_px", "median_mm", "SDR_2mm", "SDR_2.5mm", "SDR_3mm", "SDR_4mm", "test_images", "test_names_sha256",
    "test_split", "train_data", "val_data", "landmarks", "errors_file", "model_type", "global_backbone",
    "refine_backbone", "plugins", "config", "checkpoint", "commit", "command", "started",
    "torch_threads") + MACHINE + ("note",)
PROBE_COLUMNS = ("measured", "board", "row", "config_hash", "probe_iters", "sec_per_iter", "batch",
                 "torch_threads", "command") + MACHINE
COST_COLUMNS = ("measured", "board", "row", "config_hash", "checkpoint", "timed", "image", "input",
                "params_m", "gflops", "torch_ms", "ort_fp32_ms", "ort_int8_ms", "runs", "threads",
                "int8_calibration", "errors", "command") + MACHINE
#: the runtimes of the cost columns, in ``zoo.benchmarking`` names
COST_RUNTIMES = (("eager", "torch_ms"), ("ort_fp32", "ort_fp32_ms"), ("ort_int8", "ort_int8_ms"))


def budget_label(kind: str, value) -> str:
    """``10`` minutes -> ``10min``, ``4`` iterations -> ``4it``: how a budget is named in files."""
    return f"{float(value):g}{'min' if kind == 'minutes' else 'it'}"


def same_budget(run: dict, kind: str, value) -> bool:
    return run.get("budget_kind") == kind and float(run.get("budget") or "nan") == float(value)


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def same_machine(row: dict, machine: dict, threads: bool = False) -> bool:
    """Whether a recorded row came from a machine like ``machine`` (CPU model, cores; and torch threads)."""
    ok = row.get("cpu") == str(machine.get("cpu")) and row.get("cores") == str(machine.get("cores"))
    return ok and (not threads or row.get("torch_threads") == str(machine.get("torch_threads")))


class ResultsStore:
    """The results files of one board in ``folder`` (``benchmarks/results`` for the committed boards)."""

    def __init__(self, folder, board: str):
        self.folder, self.board = Path(folder), board
        self.runs_csv = self.folder / "leaderboard_runs.csv"
        self.probes_csv = self.folder / "leaderboard_probes.csv"
        self.costs_csv = self.folder / "leaderboard_costs.csv"
        self.errors_dir = self.folder / f"leaderboard_{board}"

    # -- runs ---------------------------------------------------------------------------------------
    def runs(self) -> list[dict]:
        return [r for r in _read(self.runs_csv) if r.get("board") == self.board]

    def recorded(self, config_hash: str, seed: int, kind: str, value) -> dict | None:
        for run in self.runs():
            if run["config_hash"] == config_hash and int(run["seed"]) == int(seed) and \
                    same_budget(run, kind, value):
                return run
        return None

    def errors_name(self, config_hash: str, seed: int, kind: str, value) -> str:
        return f"{self.errors_dir.name}/{config_hash}_{budget_label(kind, value)}_s{int(seed)}.jsonl"

    def record_run(self, row: dict, per_image: list[dict]) -> dict:
        """Write the run's per-image errors, then append its row (in that order: a row has its errors)."""
        name = self.errors_name(row["config_hash"], row["seed"], row["budget_kind"], row["budget"])
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in per_image)
        tmp.write_text(lines, encoding="utf-8")
        tmp.replace(path)
        row = dict(row, board=self.board, errors_file=name)
        append_rows(self.runs_csv, RUN_COLUMNS, [row])
        return row

    def errors(self, run: dict) -> dict:
        """A run's per-image errors: ``images`` (names), ``px`` (N, K; NaN: unlabelled), ``spacing`` (N,)."""
        path = self.folder / run["errors_file"]
        if not path.is_file():
            from .model_run import LeaderboardError

            raise LeaderboardError(f"{path}: the per-image errors of run {run['row']} seed {run['seed']} "
                                   "are missing")
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        px = np.array([[np.nan if e is None else e for e in r["errors_px"]] for r in lines], dtype=np.float64)
        spacing = np.array([np.nan if r.get("spacing_mm") is None else r["spacing_mm"] for r in lines])
        return {"images": [r["image"] for r in lines], "px": px, "spacing": spacing}

    # -- probes and costs ---------------------------------------------------------------------------
    def probe(self, config_hash: str, machine: dict) -> dict | None:
        """The latest probe of this row on a machine like ``machine`` (same CPU, cores and torch threads)."""
        found = [p for p in _read(self.probes_csv) if p.get("board") == self.board and
                 p["config_hash"] == config_hash and same_machine(p, machine, threads=True)]
        return found[-1] if found else None

    def record_probe(self, row: dict) -> None:
        append_rows(self.probes_csv, PROBE_COLUMNS, [dict(row, board=self.board)])

    def costs(self) -> list[dict]:
        return [c for c in _read(self.costs_csv) if c.get("board") == self.board]

    def cost(self, config_hash: str, machine: dict | None = None) -> dict | None:
        """The latest cost row of this row (on a machine like ``machine`` when given)."""
        found = [c for c in self.costs() if c["config_hash"] == config_hash and
                 (machine is None or same_machine(c, machine))]
        return found[-1] if found else None

    def record_cost(self, row: dict) -> None:
        append_rows(self.costs_csv, COST_COLUMNS, [dict(row, board=self.board)])
