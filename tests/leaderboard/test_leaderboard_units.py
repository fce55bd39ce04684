"""The leaderboard's rules without training: budget, schedule stretching, ranking, repeats, plugins, CLI."""
from __future__ import annotations

from pathlib import Path

import pytest

from zoo.leaderboard import BudgetError, iters_for_minutes, stretch_schedule, tables
from zoo.leaderboard.budget import apply_budget, seconds_per_iter

REPO = Path(__file__).resolve().parents[2]


def test_schedule_keeps_its_shape_over_the_new_length():
    base = [dict(type="LinearLR", start_factor=0.01, by_epoch=False, begin=0, end=100),
            dict(type="CosineAnnealingLR", by_epoch=False, begin=100, end=2000, eta_min=1e-6)]
    out = stretch_schedule(base, 2000, 300)
    assert (out[0]["begin"], out[0]["end"]) == (0, 15)
    assert (out[1]["begin"], out[1]["end"]) == (15, 300)
    restarts = [dict(type="CosineRestartLR", by_epoch=False, begin=500, end=30000, periods=[2500, 5000, 7500, 14500])]
    r = stretch_schedule(restarts, 30000, 3000)[0]
    assert r["end"] == 3000 and sum(r["periods"]) == r["end"] - r["begin"]
    assert stretch_schedule([dict(type="ConstantLR", factor=1.0, by_epoch=False)], 2000, 10)[0] == \
        dict(type="ConstantLR", factor=1.0, by_epoch=False)


def test_apply_budget_sets_one_recipe():
    from zoo.engine.config import load_config

    cfg = load_config(REPO / "configs/leaderboard/hm_hrnet-w18_coord_b8_isbi19-256.py")
    apply_budget(cfg, 120, seed=3, work_dir="/tmp/x y", data_root="/data/isbi 2015")
    assert cfg.train_cfg.max_iters == 120 and cfg.train_cfg.val_interval > 120
    assert cfg.val_dataloader is None and cfg.val_cfg is None and cfg.val_evaluator is None
    assert cfg.default_hooks.checkpoint.interval == 120 and cfg.default_hooks.checkpoint.save_best is None
    assert cfg.randomness.seed == 3
    assert cfg.train_dataloader.dataset.data_root == cfg.test_dataloader.dataset.data_root == "/data/isbi 2015"
    assert cfg.param_scheduler[-1]["end"] == 120
    with pytest.raises(BudgetError):
        apply_budget(cfg, 0, seed=0, work_dir="/tmp/x")


def test_leaderboard_configs_are_256px_batch_8_and_inherit_the_models():
    from zoo.engine.config import load_config
    from zoo.leaderboard.model_run import input_size

    for name, backbone in (("reg_resnet34_b8_isbi19-256", "ResNetBackbone"),
                           ("hm_hrnet-w18_coord_b8_isbi19-256", "HRNetBackbone"),
                           ("hm_hrnet-w32_coord_b8_isbi19-256", "HRNetBackbone")):
        cfg = load_config(REPO / "configs/leaderboard" / f"{name}.py")
        assert input_size(cfg) == (256, 256)
        assert cfg.model.backbone.type == backbone
        assert cfg.train_dataloader.batch_size == 8
        sizes = {t.get("size") for t in cfg.train_dataloader.dataset.pipeline + cfg.test_dataloader.dataset.pipeline
                 if t["type"] == "LetterboxResize"}
        assert sizes == {(256, 256)}
        assert cfg.test_dataloader.dataset.split == "test1" and cfg.train_dataloader.dataset.split == "train"


def test_budget_minutes_become_iterations():
    assert iters_for_minutes(10, 2.0) == 300
    assert seconds_per_iter([30.0, 9.0, 2.0, 2.2, 1.8]) == 2.0  # first two (warm-up) left out
    with pytest.raises(BudgetError):
        iters_for_minutes(0.01, 5.0)


def _entry(model, mres, status="ok"):
    runs = [{"seed": i, "figures": {"MRE_px": m * 10, "MRE_mm": m, "SDR_2mm": 50 - m, "SDR_2.5mm": 60.0,
                                    "SDR_3mm": 70.0, "SDR_4mm": 80.0}, "train_s": 60.0} for i, m in enumerate(mres)]
    return {"model": model, "runs": runs, "status": status, "plugin": "core", "cost": {"params_m": 1.0}}


def test_repeats_report_how_far_figures_moved_and_rank_by_mean():
    rows = tables.rank([tables.aggregate(e) for e in
                        [_entry("b", [2.0, 2.4]), _entry("a", [2.2, 2.2]), _entry("c", [], status="failed: x")]])
    assert [r["model"] for r in rows] == ["a", "b", "c"]
    assert [r["rank"] for r in rows] == [1, 2, None]
    assert rows[1]["MRE_mm"] == pytest.approx(2.2) and rows[1]["MRE_mm_moved"] == pytest.approx(0.4)
    assert rows[0]["MRE_mm_moved"] == pytest.approx(0.0)
    assert "±0.20" in tables.markdown_table(rows)
    assert tables.per_run_rankings([_entry("b", [2.0, 2.4]), _entry("a", [2.2, 2.2])]) == [["b", "a"], ["a", "b"]]


def test_ties_rank_by_name_so_the_order_is_total():
    rows = tables.rank([tables.aggregate(_entry(n, [1.5])) for n in ("zeta", "alpha")])
    assert [r["model"] for r in rows] == ["alpha", "zeta"]


def test_builtin_plugins_are_named():
    from zoo.engine.config import load_config
    from zoo.leaderboard.model_run import plugin_label, plugins_of

    origins = plugins_of(load_config(REPO / "configs/leaderboard/hm_hrnet-w32_coord_b8_isbi19-256.py"))
    assert origins["model:LandmarkDetector"] == "core"
    assert plugin_label(origins) == origins["backbone:HRNetBackbone"] != "core"


def test_cli_refuses_a_missing_budget_and_a_missing_config(tmp_path, capsys):
    from zoo.leaderboard.cli import run_cli

    config = str(REPO / "configs/leaderboard/hm_hrnet-w18_coord_b8_isbi19-256.py")
    assert run_cli([config, "--out", str(tmp_path)]) == 2
    assert "--iters N or --budget-minutes M" in capsys.readouterr().err
    assert run_cli([str(tmp_path / "nope.py"), "--iters", "2", "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
    assert run_cli([config, "--iters", "2", "--runtimes", "tensorrt", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        run_cli([config, "--iters", "2", "--budget-minutes", "3"])


def test_zoo_command_is_registered():
    from typer.testing import CliRunner

    from zoo.cli import _register_commands, app

    _register_commands()
    result = CliRunner().invoke(app, ["--help"])
    assert "leaderboard" in result.output
