"""A board on synthetic cephalograms in the ISBI layout: a tiny two-stage recipe, its one-stage row and a row
with another backbone, trained for a few iterations.

A board killed in the middle of a run resumes without training a recorded run again, each recorded run has its
per-image errors, the report and the plots are rebuilt from the results files alone, and the cost is measured
once per row, a one-stage row as its whole predictor too.
"""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from board_helpers import ISBI_TEST, write_board

from zoo.leaderboard import board as board_mod
from zoo.leaderboard import model_run
from zoo.leaderboard.board import describe_plan, load_board, plan, run_board
from zoo.leaderboard.store import ResultsStore

BUDGET = [("iters", 3.0)]
SEEDS = [0, 1]


class _Killed(KeyboardInterrupt):
    """What a stopped job looks like from inside: an interrupt in the middle of a training."""


def _rows(csv_path):
    with open(csv_path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def board_run(tmp_path_factory, tiny_recipe, monkeypatch_module):
    """A 2-row x 2-seed board killed in its third training, then the same command twice: what each saw."""
    recipe, single = tiny_recipe
    folder = tmp_path_factory.mktemp("tiny board")
    board_file = write_board(folder, recipe, single)
    trainings = []
    real_train = model_run._train_runner

    def counting(resolved, work_dir, channels_last):
        trainings.append(str(work_dir))
        if len(trainings) == 3 and not seen.get("killed"):
            seen["killed"] = True
            raise _Killed()
        return real_train(resolved, work_dir, channels_last)

    seen: dict = {}
    monkeypatch_module.setattr(model_run, "_train_runner", counting)
    common = dict(budgets=BUDGET, seeds=SEEDS, runtimes=("eager", "ort_fp32", "ort_int8"), latency_runs=1,
                  calib_images=2, work_root=folder / "work", command="zoo leaderboard --board tiny (test)",
                  echo=None)
    board = load_board(board_file)
    with pytest.raises(_Killed):
        run_board(board, **common)
    seen["after_kill"] = _rows(folder / "results" / "leaderboard_runs.csv")
    seen["trained_before_kill"] = len(trainings) - 1
    del trainings[:]
    seen["second"] = run_board(load_board(board_file), **common)
    seen["trained_second"] = len(trainings)
    del trainings[:]
    seen["third"] = run_board(load_board(board_file), **common)
    seen["trained_third"] = len(trainings)
    return folder, board_file, seen


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_a_killed_board_resumes_without_training_a_recorded_run_again(board_run):
    folder, _, seen = board_run
    # killed in its third training: the two runs before it are recorded, the one in progress is not
    assert seen["trained_before_kill"] == 2 and len(seen["after_kill"]) == 2
    # the same command again trains exactly the two runs that were missing, then nothing
    assert seen["trained_second"] == 2
    assert len(seen["second"]["trained"]) == 2 and len(seen["second"]["skipped"]) == 2
    assert not seen["second"]["failed"]
    assert seen["trained_third"] == 0 and len(seen["third"]["skipped"]) == 4
    rows = _rows(folder / "results" / "leaderboard_runs.csv")
    keys = [(r["row"], r["seed"], r["budget_kind"], r["budget"]) for r in rows]
    assert sorted(keys) == sorted({(n, s, "iters", "3") for n in ("two-stage_tiny", "hm_tiny")
                                   for s in ("0", "1")}) and len(set(keys)) == 4
    # seed-major: both rows' seed 0 ran before any seed 1
    assert [r["seed"] for r in rows] == ["0", "0", "1", "1"]


def test_every_recorded_run_has_its_per_image_errors_and_its_figures_agree(board_run):
    folder, board_file, _ = board_run
    store = ResultsStore(folder / "results", "tiny")
    for run in store.runs():
        assert run["iters"] == "3" and run["test_images"] == str(ISBI_TEST) and run["selected_iter"] in "123"
        assert run["config"] and run["commit"] and run["cpu"] and run["test_split"] == "ISBI2015Dataset test1"
        errors = store.errors(run)
        assert errors["images"] == ["151.png", "152.png", "153.png"] and errors["px"].shape == (3, 19)
        mm = errors["px"] * errors["spacing"][:, None]
        assert float(np.nanmean(mm)) == pytest.approx(float(run["MRE_mm"]), abs=1e-5)
        assert 100.0 * float(np.mean(mm <= 2.0)) == pytest.approx(float(run["SDR_2mm"]), abs=1e-3)
    two_stage = [r for r in store.runs() if r["row"] == "two-stage_tiny"]
    assert all(r["reference"] == "yes" and r["model_type"] == "TwoStageDetector" for r in two_stage)
    assert two_stage[0]["global_backbone"] == "dict(type='LeaderboardTinyNet', width=4)"
    assert two_stage[0]["plugins"] == "leaderboard_throwaway_plugin"


def test_cost_is_measured_once_per_row_as_the_whole_predictor(board_run):
    folder, _, _ = board_run
    costs = _rows(folder / "results" / "leaderboard_costs.csv")
    assert sorted(c["row"] for c in costs) == ["hm_tiny", "two-stage_tiny"]
    for c in costs:
        assert c["timed"] == "predictor" and c["image"].startswith("151.png"), c
        assert float(c["params_m"]) > 0 and float(c["gflops"]) > 0 and not c["errors"]
        assert float(c["torch_ms"]) > 0 and float(c["ort_fp32_ms"]) > 0 and float(c["ort_int8_ms"]) > 0


def test_the_plan_says_what_is_recorded_and_what_is_left(board_run, tiny_recipe):
    from zoo.benchmarking import machine_info

    folder, board_file, _ = board_run
    board = load_board(board_file)
    store = ResultsStore(board.results, board.name)
    planned = plan(board, store, BUDGET + [("iters", 4.0)], SEEDS)
    assert [bool(p.recorded) for p in planned] == [True, True, False, False, True, True, False, False]
    lines = describe_plan(board, store, planned, machine_info())
    assert sum("recorded" in line and "MRE" in line for line in lines) == 4
    assert "8 runs planned, 4 recorded, 4 to run" in lines[-2]


def test_report_is_rebuilt_from_the_results_files_alone(board_run, tmp_path):
    from zoo.leaderboard.board_report import write_report

    folder, _, _ = board_run
    moved = tmp_path / "elsewhere" / "results"
    shutil.copytree(folder / "results", moved)  # no work dir, no checkpoint beside it
    md = tmp_path / "elsewhere" / "LEADERBOARD.md"
    data = write_report(ResultsStore(moved, "tiny"), md, tmp_path / "elsewhere" / "docs" / "images")
    text = md.read_text(encoding="utf-8")
    mres = [r["summary"]["MRE"] for r in data["table"]]
    assert mres == sorted(mres)  # ranked, best first
    by_name = {r["name"]: r for r in data["table"]}
    runs = _rows(moved / "leaderboard_runs.csv")
    for name, row in by_name.items():
        mres = [float(r["MRE_mm"]) for r in runs if r["row"] == name]
        assert row["summary"]["MRE"] == pytest.approx(np.mean(mres), abs=1e-5)
        assert row["summary"]["MRE_sd"] == pytest.approx(np.std(mres, ddof=1), abs=1e-5)
        assert row["seeds"] == [0, 1] and f"`{name}`" in text
    comparison = by_name["hm_tiny"]["comparison"]
    assert comparison["images"] == ISBI_TEST
    assert comparison["verdict"] in ("better", "worse", "no clear difference")
    assert "reference" in text and "Δ MRE mm" in text and "zoo leaderboard --board tiny --backbone" in text
    for name in ("leaderboard_tiny.png",):
        assert (tmp_path / "elsewhere" / "docs" / "images" / name).read_bytes()[:4] == b"\x89PNG"
    assert "](docs/images/leaderboard_tiny.png)" in text
    # the same files give the same page
    again = write_report(ResultsStore(moved, "tiny"), tmp_path / "again.md", None)
    assert [r["summary"]["MRE_ci"] for r in again["table"]] == [r["summary"]["MRE_ci"] for r in data["table"]]


def test_a_backbone_row_from_the_command_line_runs_with_the_board(board_run, capsys):
    """A plugin author's one command: the recipe with another backbone becomes a row; the plan names it, and
    with a budget in minutes its speed is probed once and every seed trains the same iterations."""
    from zoo.leaderboard.cli import run_cli

    folder, board_file, _ = board_run
    args = ["--board", str(board_file), "--backbone", "dict(type='LeaderboardTinyNet', width=6)", "--name",
            "two-stage_tiny-w6", "--budget-minutes", "0.01", "--seeds", "2", "--out", str(folder / "work"),
            "--runtimes", "none", "--probe-iters", "3"]
    assert run_cli(args + ["--plan"]) == 0
    out = capsys.readouterr().out
    assert "two-stage_tiny-w6" in out and "probe first" in out and "hm_tiny" not in out
    assert run_cli(args) == 0
    store = ResultsStore(folder / "results", "tiny")
    mine = [r for r in store.runs() if r["row"] == "two-stage_tiny-w6"]
    assert len(mine) == 2 and len({r["iters"] for r in mine}) == 1 and int(mine[0]["iters"]) >= 1
    assert mine[0]["global_backbone"] == "dict(type='LeaderboardTinyNet', width=6)"
    probes = _rows(folder / "results" / "leaderboard_probes.csv")
    assert [p["row"] for p in probes] == ["two-stage_tiny-w6"]
    assert int(mine[0]["iters"]) == int(0.01 * 60 // float(probes[0]["sec_per_iter"]))
    # the table shows one budget: the one most rows ran at, or the one asked for
    assert run_cli(["--board", str(board_file), "--report-only"]) == 0
    assert "`two-stage_tiny-w6`" not in (folder / "LEADERBOARD.md").read_text(encoding="utf-8")
    assert run_cli(["--board", str(board_file), "--report-only", "--budget-minutes", "0.01"]) == 0
    assert "`two-stage_tiny-w6`" in (folder / "LEADERBOARD.md").read_text(encoding="utf-8")


def test_a_row_that_leaves_the_protocol_is_refused(tiny_recipe, tmp_path):
    from zoo.leaderboard import LeaderboardError

    recipe, single = tiny_recipe
    other = tmp_path / "hm_tiny_lr.py"
    other.write_text(f"_base_ = [r'{single}']\noptim_wrapper = dict(optimizer=dict(lr=1e-2))\n",
                     encoding="utf-8")
    board_file = write_board(tmp_path, recipe, single, rows=f"  - name: faster\n    config: {other}\n")
    with pytest.raises(LeaderboardError, match=r"leaves the board's protocol.*optim_wrapper\.optimizer\.lr"):
        load_board(board_file)


def test_a_row_whose_plugin_is_missing_is_planned_but_not_run(tiny_recipe, tmp_path):
    recipe, single = tiny_recipe
    board_file = write_board(tmp_path, recipe, single,
                             rows="  - name: absent\n    backbone: {type: NotInstalledBackbone, depth: 3}\n")
    board = load_board(board_file, rows=["absent"])
    assert board.rows[0].missing == ["backbone NotInstalledBackbone"]
    done = run_board(board, budgets=BUDGET, seeds=[0], runtimes=(), work_root=tmp_path / "work", echo=None)
    assert len(done["failed"]) == 1 and not done["trained"]
    assert not (tmp_path / "results" / "leaderboard_runs.csv").exists()


def test_budget_rows_are_written_as_the_lead_reads_them():
    assert board_mod.budget_label("minutes", 10.0) == "10min" and board_mod.budget_label("iters", 3) == "3it"


def test_per_image_jsonl_is_one_line_per_test_image(board_run):
    folder, _, _ = board_run
    files = sorted((folder / "results" / "leaderboard_tiny").glob("*.jsonl"))
    assert len(files) >= 4
    lines = files[0].read_text(encoding="utf-8").splitlines()
    assert len(lines) == ISBI_TEST
    first = json.loads(lines[0])
    assert set(first) == {"image", "spacing_mm", "errors_px"} and first["spacing_mm"] == 0.1
