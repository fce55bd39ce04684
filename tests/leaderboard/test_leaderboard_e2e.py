"""A whole leaderboard on synthetic cephalograms: two models from a throwaway plugin, a few iterations.

Checks every output file and column, that the plugin's models appear with no zoo change, and that the
same seed gives the same figures and ranking.
"""
from __future__ import annotations

import csv
import json
import math

import pytest

from zoo.leaderboard import CSV_COLUMNS, run_leaderboard


@pytest.fixture(scope="module")
def board(tmp_path_factory, tiny_configs):
    out = tmp_path_factory.mktemp("board one") / "out dir"
    result = run_leaderboard(tiny_configs, out=out, iters=4, seed=7, latency_runs=2, calib_images=2,
                             command="zoo leaderboard (test)", echo=None)
    return out, result


def test_every_file_is_written(board):
    out, _ = board
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.png", "progress.log"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_csv_has_every_column_for_every_model(board, throwaway_plugin):
    out, _ = board
    with open(out / "leaderboard.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        rows = list(reader)
    assert sorted(r["model"] for r in rows) == ["tiny_heatmap", "tiny_regression"]
    for r in rows:
        assert r["status"] == "ok"
        assert r["plugin"] == throwaway_plugin  # the third-party backbone's plugin, found via origin_of
        assert r["input"] == "64x64"
        for column in ("params_m", "gflops", "MRE_px", "MRE_mm", "SDR_2mm", "SDR_2.5mm", "SDR_3mm", "SDR_4mm",
                       "torch_ms", "ort_fp32_ms", "ort_int8_ms", "checkpoint_mb", "weights_mb", "train_min",
                       "sec_per_iter"):
            value = float(r[column])
            assert math.isfinite(value) and value >= 0, (column, r[column])
        for column in ("params_m", "gflops", "MRE_px", "torch_ms", "ort_fp32_ms", "ort_int8_ms", "checkpoint_mb"):
            assert float(r[column]) > 0, column
        assert 0 <= float(r["SDR_2mm"]) <= float(r["SDR_2.5mm"]) <= float(r["SDR_3mm"]) <= float(r["SDR_4mm"]) <= 100
        assert r["iters"] == "4" and r["batch"] == "2" and r["runs"] == "1" and r["seeds"] == "7"
        assert r["torch_cl_ms"] == ""  # channels-last was not asked for
    assert sorted(int(r["rank"]) for r in rows) == [1, 2]


def test_figures_come_from_the_test_report(board):
    out, result = board
    for entry in result["models"]:
        run = entry["runs"][0]
        report = json.loads(open(run["test_report"], encoding="utf-8").read())["report"]
        row = next(r for r in result["table"] if r["model"] == entry["model"])
        assert row["MRE_px"] == pytest.approx(report["MRE_px"]["mean"])
        assert row["MRE_mm"] == pytest.approx(report["MRE_mm"]["mean"])
        assert row["SDR_2mm"] == pytest.approx(report["SDR"]["2mm"])
        assert report["samples"] == result["split"]["test"]["images"] == 1


def test_json_records_how_to_rerun(board):
    out, _ = board
    data = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    assert data["seed"] == 7 and data["budget"]["kind"] == "iters" and data["budget"]["iters"] == 4
    assert data["command"] == "zoo leaderboard (test)"
    assert data["machine"]["cores"] >= 1 and data["machine"]["torch"]
    assert {"torch", "mmengine-lite", "onnxruntime", "python"} <= set(data["versions"]) | {"mmengine-lite"}
    assert data["split"]["train"]["images"] == 10 and data["split"]["train"]["split"] == "train"
    assert data["split"]["test"]["split"] == "test"
    assert len(data["split"]["test"]["sha256_of_names"]) == 16
    assert data["ranking"] == [r["model"] for r in sorted(data["table"], key=lambda r: r["rank"])]
    assert data["rank_by"] == "MRE_mm"
    for entry in data["models"]:
        assert entry["plugins"]["backbone:LeaderboardTinyNet"] == "leaderboard_throwaway_plugin"
        assert entry["plugins"]["model:LandmarkDetector"] == "core"
        assert set(entry["cost"]["latency"]) == {"eager", "ort_fp32", "ort_int8"}


def test_markdown_has_the_table_and_the_provenance(board):
    out, result = board
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| # |"))
    for column in ("model", "plugin", "params (M)", "GFLOPs", "MRE px", "MRE mm", "SDR 2 mm %", "2.5 mm %",
                   "3 mm %", "4 mm %", "torch ms", "ORT fp32 ms", "ORT int8 ms", "checkpoint MB", "train min",
                   "budget"):
        assert f"| {column} |" in header, column
    first = next(line for line in md.splitlines() if line.startswith("| 1 |"))
    assert result["ranking"][0] in first
    for text in ("Seed 7", "Training split", "Test split", "Machine:", "Versions:", "zoo leaderboard (test)",
                 "leaderboard.png", "4 iterations"):
        assert text in md, text


def test_same_seed_same_ranking_and_figures(board, tiny_configs, tmp_path):
    _, first = board
    again = run_leaderboard(tiny_configs, out=tmp_path / "again", iters=4, seed=7, runtimes=(), echo=None)
    assert again["ranking"] == first["ranking"]
    for a, b in zip(sorted(first["table"], key=lambda r: r["model"]), sorted(again["table"], key=lambda r: r["model"])):
        assert a["MRE_px"] == pytest.approx(b["MRE_px"], rel=1e-6, abs=1e-6)
    # no latency asked: the columns are empty, not invented
    assert all(r["torch_ms"] is None and r["ort_int8_ms"] is None for r in again["table"])


def test_render_rebuilds_from_the_json_and_publishes(board, tmp_path):
    from zoo.leaderboard import render

    out, first = board
    result = render(out, tmp_path / "pub dir" / "LEADERBOARD.md", tmp_path / "pub dir" / "docs" / "images" / "lb.png")
    assert result["ranking"] == first["ranking"]
    md = (tmp_path / "pub dir" / "LEADERBOARD.md").read_text(encoding="utf-8")
    assert "](docs/images/lb.png)" in md
    assert (tmp_path / "pub dir" / "docs" / "images" / "lb.png").read_bytes()[:4] == b"\x89PNG"


def test_given_checkpoints_are_tested_not_trained(board, tmp_path):
    _, first = board
    trained = next(e for e in first["models"] if e["model"] == "tiny_regression")
    result = run_leaderboard(checkpoints=[trained["runs"][0]["checkpoint"]], out=tmp_path / "given", runtimes=(),
                             echo=None)
    (row,) = result["table"]
    assert row["model"] == "tiny_regression/seed7/iter_4" and row["budget"] == "given checkpoint"
    assert row["train_min"] is None and row["status"] == "ok"
    assert row["MRE_px"] == pytest.approx(trained["runs"][0]["figures"]["MRE_px"], rel=1e-6)


def test_recost_measures_every_model_again_and_keeps_the_accuracy(board, tmp_path):
    import shutil

    from zoo.leaderboard import recost

    out, first = board
    copy = tmp_path / "copy of board"
    shutil.copytree(out, copy)
    result = recost(copy, runtimes=("eager",), latency_runs=1, calib_images=0, echo=None)
    assert result["ranking"] == first["ranking"]
    for entry in result["models"]:
        assert set(entry["cost"]["latency"]) == {"eager"} and entry["cost"]["latency"]["eager"]["ms"] > 0
        assert len(entry["cost"]["load_average_1min"]) == 2
    assert all(r["ort_fp32_ms"] is None and r["torch_ms"] > 0 for r in result["table"])
    assert "--recost" in (copy / "leaderboard.md").read_text(encoding="utf-8")
