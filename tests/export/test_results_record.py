"""The product benchmark scripts append their figures to ``benchmarks/results/*.csv``: one row per measurement,
with the machine, the library versions, the date and a command that repeats the run."""
from __future__ import annotations

import csv
import shlex
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_model_cost_appends_a_row_per_config(benchmark_script, tmp_path):
    config = REPO / "configs" / "heatmap" / "hm_hrnet-w18-small_b6-300_isbi19-192.py"
    record = tmp_path / "my results" / "model cost.csv"
    benchmark_script("model_cost").main(["--no-time", "--size", "64", "--csv", str(record), str(config)])
    (row,) = _rows(record)
    assert row["config"] == "configs/heatmap/hm_hrnet-w18-small_b6-300_isbi19-192.py"
    assert row["backbone"] == "hrnet_w18_small" and row["landmarks"] == "19" and row["input"] == "64x64"
    assert float(row["gflops"]) > 0 and row["cpu_ms_median"] == "" and row["torch"] == torch.__version__
    assert shlex.split(row["command"]) == ["python", "benchmarks/model_cost.py", "--no-time", "--size", "64",
                                           str(config)]


def test_decoders_appends_a_row_per_decoder_and_setting(benchmark_script, tmp_path):
    record = tmp_path / "decoders.csv"
    args = ["--n", "20", "--size", "32", "--sigmas", "2.0", "--noises", "0", "0.1", "--csv", str(record)]
    for _ in range(2):
        benchmark_script("decoders").main(args)
    rows = _rows(record)
    decoders = {r["decoder"] for r in rows}
    assert len(rows) == 2 * 2 * len(decoders) and "argmax" in decoders
    argmax_clean = [r for r in rows if r["decoder"] == "argmax" and float(r["noise"]) == 0]
    assert argmax_clean[0]["mean_px"] == argmax_clean[1]["mean_px"]  # seeded: the same maps each run
    assert 0.2 < float(argmax_clean[0]["mean_px"]) < 0.6  # the quantisation floor, 0.383 px for uniform offsets
    assert rows[0]["command"] == "python benchmarks/decoders.py --n 20 --size 32 --sigmas 2.0 --noises 0 0.1"
    assert rows[0]["cores"] and rows[0]["started"]


@pytest.mark.parametrize("name", ["cpu_latency", "cpu_bf16_step"])
def test_the_kept_results_read_back_with_their_benchmarks_columns(name):
    from zoo.benchmarking.results_csv import BF16_STEP_COLUMNS, LATENCY_COLUMNS

    path = REPO / "benchmarks" / "results" / f"{name}.csv"
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == {"cpu_latency": LATENCY_COLUMNS, "cpu_bf16_step": BF16_STEP_COLUMNS}[name]
    assert rows and all(r["command"] and r["started"] and r["torch"] and r["cpu"] for r in rows)
