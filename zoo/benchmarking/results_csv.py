"""The product benchmarks' one record: ``benchmarks/results/*.csv``, one row per measurement, appended.

A JSON file per run scatters results over dated names nobody can compare; a CSV with the machine, the
library versions, the date and the exact command on every row can be sorted, filtered and diffed, and a new
run adds rows instead of replacing the last run's. Rows are appended under the file's own header; a file whose
header differs from the benchmark's columns is refused rather than silently misaligned.
"""
from __future__ import annotations

import csv
import shlex
from pathlib import Path

from zoo.registry import ZooError

#: ``zoo benchmark``: one row per model and runtime
LATENCY_COLUMNS = (
    "started", "command", "model", "config", "input", "batch", "threads", "runtime", "median_ms", "min_ms", "max_ms",
    "runs", "warmup", "params_m", "gflops", "gflop_per_s", "share_of_peak", "peak_fp32_gflops", "peak_int8_gops",
    "cpu", "cores", "cpu_flags", "platform", "torch", "onnxruntime", "python", "load_1min_start", "load_1min_end",
    "note",
)
#: ``benchmarks/cpu_bf16_step.py``: one row per run (both precisions timed in it, interleaved)
BF16_STEP_COLUMNS = (
    "started", "command", "config", "batch_size", "runs", "fp32_median_s", "bf16_median_s", "fp32_min_s",
    "bf16_min_s", "bf16_speedup", "native_bf16", "cpu", "cores", "cpu_flags", "platform", "torch", "python",
    "load_1min_start", "note",
)


class ResultsFileError(ZooError):
    """A results CSV that cannot take the rows (another benchmark's columns, or not writable)."""


def append_rows(path, columns, rows) -> Path:
    """Append ``rows`` (dicts keyed by ``columns``) to ``path``, writing the header first if the file is new."""
    path = Path(path)
    columns = list(columns)
    if path.is_file() and path.stat().st_size:
        with path.open(newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
        if header != columns:
            raise ResultsFileError(f"{path} has other columns than this benchmark writes ({', '.join(header[:4])}, "
                                   f"...); pass another file")
        new = False
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = True
    try:
        with path.open("a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
            if new:
                writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(row.get(k)) for k in columns})
    except OSError as exc:
        raise ResultsFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return value


def repo_relative(path) -> str:
    """A path inside the repository as the repository-relative POSIX path a command line would give."""
    from zoo.data.paths import repo_root

    path = Path(path)
    try:
        return path.resolve().relative_to(repo_root().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def machine_columns(machine: dict) -> dict:
    load = machine.get("load_average_at_start") or [None]
    end = machine.get("load_average_at_end") or [None]
    return {"cpu": machine.get("cpu"), "cores": machine.get("cores"), "cpu_flags": machine.get("cpu_flags") or [],
            "platform": machine.get("platform"), "torch": machine.get("torch"),
            "onnxruntime": machine.get("onnxruntime"), "python": machine.get("python"),
            "load_1min_start": load[0], "load_1min_end": end[0]}


def latency_command(result: dict, runtimes) -> str:
    """The ``zoo benchmark`` command that repeats ``result``: its targets, then every setting it ran with."""
    argv = ["zoo", "benchmark", *(repo_relative(e["source"]) for e in result["models"])]
    size = result.get("size")
    if size:  # the CLI takes a square side; a (W, H) run came from the Python API
        w, h = (size, size) if isinstance(size, int) else size
        argv += ["--size", str(w) if w == h else f"{w}x{h}"]
    argv += ["--runs", str(result["runs"]), "--runtimes", ",".join(runtimes)]
    if result.get("threads"):
        argv += ["--threads", str(result["threads"])]
    if result.get("note"):
        argv += ["--note", result["note"]]
    return shlex.join(argv)


def latency_rows(result: dict, command: str) -> list[dict]:
    """One row per model and runtime of a ``zoo benchmark`` result."""
    peak = result.get("peak") or {}
    common = {"started": result.get("started"), "command": command, "batch": result.get("batch"),
              "threads": result.get("threads"), "peak_fp32_gflops": peak.get("fp32"),
              "peak_int8_gops": peak.get("int8"), "note": result.get("note"),
              **machine_columns(result.get("machine") or {})}
    rows = []
    for entry in result["models"]:
        size = entry.get("input_size") or result.get("size")
        if isinstance(size, int):
            size = (size, size)
        source = entry.get("source")
        for runtime, r in entry["runtimes"].items():
            share = r.get("share_of_int8_peak") if runtime == "ort_int8" else r.get("share_of_fp32_peak")
            rows.append({**common, "model": entry.get("name"),
                         "config": repo_relative(source) if source else None,
                         "input": "x".join(str(v) for v in size) if size else None, "runtime": runtime,
                         "median_ms": r.get("ms"), "min_ms": r.get("min_ms"), "max_ms": r.get("max_ms"),
                         "runs": r.get("runs"), "warmup": r.get("warmup"), "params_m": entry.get("params_m"),
                         "gflops": entry.get("gflops"), "gflop_per_s": r.get("gflop_per_s"),
                         "share_of_peak": share})
    return rows


def bf16_step_row(result: dict, started: str, command: str, config: str, note: str | None = None) -> dict:
    """The row of one ``benchmarks/cpu_bf16_step.py`` run."""
    steps = result["all_steps_s"]
    return {"started": started, "command": command, "config": config, "batch_size": result["batch_size"],
            "runs": result["runs"], "fp32_median_s": result["median_step_s"]["fp32"],
            "bf16_median_s": result["median_step_s"]["bf16"], "fp32_min_s": min(steps["fp32"]),
            "bf16_min_s": min(steps["bf16"]), "bf16_speedup": result["bf16_speedup"],
            "native_bf16": result["native_bf16"], "note": note, **machine_columns(result.get("machine") or {})}
