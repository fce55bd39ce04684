"""A board's rules without training: the statistics on examples worked by hand, the protocol check, the row
identity, the results files and the isbi19 board file itself."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zoo.leaderboard import stats
from zoo.leaderboard.protocol import (
    apply_protocol,
    component_text,
    config_hash,
    parse_component,
    protocol_differences,
    with_backbones,
)

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "configs/two_stage/two-stage_hrnet-w18-small_b6-2k_isbi19-256.py"


def _image(value, labelled=19):
    """One test image whose ``labelled`` landmarks all err by ``value`` mm (the rest unlabelled)."""
    return [value] * labelled + [np.nan] * (19 - labelled)


# -- statistics ---------------------------------------------------------------------------------------------
def test_signed_rank_exact_p_values_worked_by_hand():
    # all five positive: W+ = 15 is the largest of 2^5 equally likely sums; two-sided p = 2 / 32
    assert stats.wilcoxon_signed_rank([1, 2, 3, 4, 5])["p"] == pytest.approx(0.0625)
    # rank 2 negative: W+ = 13; sums >= 13 come from leaving out {}, {1} or {2}: p = 2 * 3 / 32
    r = stats.wilcoxon_signed_rank([1, -2, 3, 4, 5])
    assert (r["w_plus"], r["w_minus"], r["method"]) == (13.0, 2.0, "exact")
    assert r["p"] == pytest.approx(0.1875)
    # zero differences are left out (Wilcoxon's rule): [1, 2] alone, W+ = 3 of {0, 1, 2, 3}
    assert stats.wilcoxon_signed_rank([0.0, 1.0, 2.0])["p"] == pytest.approx(0.5)
    assert stats.wilcoxon_signed_rank([0.0, 0.0])["p"] == 1.0


def test_signed_rank_normal_approximation_with_ties():
    # 60 differences rounded to 0.1 (ties): mean n(n+1)/4, variance with the tie correction
    d = np.array([0.1] * 20 + [-0.1] * 10 + [0.3] * 20 + [-0.2] * 10)
    r = stats.wilcoxon_signed_rank(d)
    ranks = {0.1: 15.5, 0.2: 35.5, 0.3: 50.5}  # 30 tied at 0.1 (ranks 1-30), 10 at 0.2, 20 at 0.3
    assert r["w_plus"] == pytest.approx(20 * ranks[0.1] + 20 * ranks[0.3])
    var = 60 * 61 * 121 / 24 - (30 ** 3 - 30 + 10 ** 3 - 10 + 20 ** 3 - 20) / 48
    z = (r["w_plus"] - 60 * 61 / 4) / np.sqrt(var)
    assert r["method"] == "normal approximation" and r["z"] == pytest.approx(z)
    from math import erfc, sqrt

    assert r["p"] == pytest.approx(erfc(abs(z) / sqrt(2)))


def test_signed_rank_agrees_with_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    for d in (rng.normal(0.3, 1, 20), np.round(rng.normal(0.2, 1, 60), 1), rng.normal(-0.1, 1, 150)):
        expected = scipy_stats.wilcoxon(d, zero_method="wilcox", correction=False).pvalue
        assert stats.wilcoxon_signed_rank(d)["p"] == pytest.approx(expected, rel=1e-9)


def test_holm_adjustment():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 -> 0.03, 0.06, 0.04 -> kept monotone: 0.03, 0.06, 0.06
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_row_summary_pools_landmarks_and_bootstraps_images():
    # two images: all landmarks 1 mm off on one, 3 mm on the other. Resampling two images gives a mean of 1, 2
    # or 3 with chances 1/4, 1/2, 1/4, so the 95 % percentile interval is exactly (1, 3)
    run = np.array([_image(1.0), _image(3.0)])
    s = stats.row_summary([run], reps=4000, seed=1)
    assert s["MRE"] == pytest.approx(2.0) and s["MRE_ci"] == (1.0, 3.0) and s["MRE_sd"] is None
    assert s["SDR"] == {"2mm": 50.0, "2.5mm": 50.0, "3mm": 100.0, "4mm": 100.0} and s["median"] == 2.0
    # pooled over landmarks: 19 errors of 1 mm and 9 of 3 mm -> 46 / 28, not the mean of the images' means
    uneven = np.array([_image(1.0), _image(3.0, labelled=9)])
    u = stats.row_summary([uneven])
    assert u["MRE"] == pytest.approx(46 / 28) and u["SDR"]["2mm"] == pytest.approx(100 * 19 / 28)
    # two seeds: the mean of their MREs and their standard deviation
    two = stats.row_summary([run, run + 0.2])
    assert two["MRE"] == pytest.approx(2.1) and two["MRE_sd"] == pytest.approx(np.std([2.0, 2.2], ddof=1))
    assert two["per_seed"] == pytest.approx([2.0, 2.2])


def test_pairing_finds_a_small_gap_that_the_rows_own_intervals_hide():
    """Images from 1 to 10 mm hard, one row 0.1 mm worse on every one: each row's interval is wide, the
    paired difference is exactly 0.1 mm, and the verdict says the row is worse."""
    hard = np.array([_image(v) for v in np.linspace(1.0, 10.0, 30)])
    worse = hard + 0.1
    a, b = stats.row_summary([hard]), stats.row_summary([worse])
    assert a["MRE_ci"][1] > b["MRE_ci"][0]  # the intervals overlap: alone, no gap can be claimed
    paired = stats.paired_bootstrap([hard], [worse])
    assert paired["diff"] == pytest.approx(0.1) and paired["ci"] == pytest.approx((0.1, 0.1))
    w = stats.wilcoxon_signed_rank(stats.image_mre([worse]) - stats.image_mre([hard]))
    assert w["p"] < 1e-4
    assert stats.verdict(paired["ci"], stats.holm([w["p"]])[0]) == "worse"
    assert stats.verdict((-0.3, -0.1), 0.01) == "better"
    assert stats.verdict((-0.3, 0.1), 0.01) == stats.verdict((0.1, 0.3), 0.2) == "no clear difference"


def test_a_lucky_seed_is_not_a_real_difference():
    """One seed 0.5 mm better and one 0.5 mm worse than the reference on every image: the mean gap is zero
    and, with the seeds resampled, the paired interval spans both signs."""
    base = np.array([_image(v) for v in np.linspace(1.0, 4.0, 40)])
    paired = stats.paired_bootstrap([base], [base - 0.5, base + 0.5], reps=2000)
    assert paired["diff"] == pytest.approx(0.0, abs=1e-12)
    assert paired["ci"][0] <= -0.4 and paired["ci"][1] >= 0.4
    fixed = stats.paired_bootstrap([base], [base - 0.5, base + 0.5], resample_seeds=False)
    assert fixed["ci"] == pytest.approx((0.0, 0.0), abs=1e-12)
    with pytest.raises(ValueError, match="same test images"):
        stats.paired_bootstrap([base], [base[:10]])


# -- protocol ---------------------------------------------------------------------------------------------
def _recipe():
    from zoo.engine.config import load_config

    return load_config(RECIPE)


def test_row_identity_ignores_where_the_data_is_and_sees_what_trains():
    cfg = _recipe()
    moved = _recipe()
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        moved[key]["dataset"]["data_root"] = "/somewhere/else"
    moved.work_dir, moved.randomness = "/tmp/other", dict(seed=7)
    assert config_hash(moved) == config_hash(cfg) and len(config_hash(cfg)) == 12
    faster = _recipe()
    faster.optim_wrapper.optimizer.lr = 1e-2
    assert config_hash(faster) != config_hash(cfg)
    assert protocol_differences(faster, cfg) == ["optim_wrapper.optimizer.lr: 0.01 (the protocol has 0.002)"]


def test_only_the_backbones_may_change():
    cfg = _recipe()
    resnet = dict(type="ResNetBackbone", depth=34, pretrained=False)
    row = with_backbones(cfg, resnet, dict(type="HRNetBackbone", arch="hrnet_w18", pretrained=False))
    assert dict(row.model.global_stage.backbone) == resnet  # replaced whole: no HRNet key survives
    assert row.model.refine_stage.backbone.arch == "hrnet_w18" and cfg.model.global_stage.backbone.arch == \
        "hrnet_w18_small"
    assert protocol_differences(row, cfg) == [] and config_hash(row) != config_hash(cfg)
    row.model.refine_stage.head.channels = 64
    assert protocol_differences(row, cfg) == ["model.refine_stage.head.channels: 64 (the protocol has 32)"]


def test_the_leaderboard_single_stage_rows_keep_the_protocol():
    from zoo.engine.config import load_config

    cfg = _recipe()
    for name in ("hm_hrnet-w18-small_b6_isbi19-256", "reg_resnet34_b6_isbi19-256"):
        row = load_config(REPO / "configs/leaderboard" / f"{name}.py")
        assert row.model.type == "LandmarkDetector" and protocol_differences(row, cfg) == [], name
        augmented = load_config(REPO / "configs/leaderboard" / f"{name}.py")
        augmented.train_dataloader.dataset.pipeline[2]["rotate"] = 20.0
        assert protocol_differences(augmented, cfg) == [
            "train_dataloader.dataset.pipeline[2].rotate: 20.0 (the protocol has 10.0)"]


def test_apply_protocol_keeps_the_recipes_validations_and_picks_the_best():
    cfg = apply_protocol(_recipe(), iters=500, seed=3, work_dir="/tmp/run a", data_root="/data/isbi 2015")
    # 4 validations, as the recipe's 2000 iterations validated every 500
    assert cfg.train_cfg == dict(by_epoch=False, max_iters=500, val_interval=125)
    assert cfg.param_scheduler[0]["end"] == 12 and cfg.param_scheduler[1]["end"] == 500
    hook = cfg.default_hooks.checkpoint
    assert (hook.save_best, hook.rule, hook.interval, hook.max_keep_ckpts) == ("MRE", "less", 125, 1)
    assert cfg.val_dataloader.dataset.indices == "130:150" and cfg.train_dataloader.dataset.indices == "0:130"
    assert cfg.test_dataloader.dataset.split == "test1" and cfg.randomness.seed == 3
    assert {cfg[k].dataset.data_root for k in ("train_dataloader", "val_dataloader", "test_dataloader")} == \
        {"/data/isbi 2015"}
    assert apply_protocol(_recipe(), iters=3, seed=0, work_dir="/tmp/x").train_cfg.val_interval == 1


def test_components_on_a_command_line():
    text = "dict(type='TimmBackbone', model_name='convnext_atto', out_indices=(0, 1, 2, 3), pretrained=False)"
    parsed = parse_component(text)
    assert parsed == dict(type="TimmBackbone", model_name="convnext_atto", out_indices=(0, 1, 2, 3),
                          pretrained=False)
    assert parse_component(component_text(parsed)) == parsed and component_text(parsed) == text
    assert parse_component("{'type': 'X', 'depth': 3}") == {"type": "X", "depth": 3}
    from zoo.leaderboard import LeaderboardError

    for bad in ("__import__('os').system('true')", "dict(depth=3)", "dict(type=X)", "[1, 2]"):
        with pytest.raises(LeaderboardError):
            parse_component(bad)


def test_the_isbi19_board_file_loads_every_row_under_the_protocol():
    from zoo.leaderboard.board import load_board

    board = load_board("isbi19", report=False)
    names = [r.name for r in board.rows]
    assert names[0] == "two-stage_hrnet-w18-small" and board.rows[0].reference
    assert board.rows[0].config_hash == config_hash(_recipe())  # the reference is the shipped recipe itself
    assert len(names) >= 11 and len({r.config_hash for r in board.rows}) == len(names)
    kinds = {r.name: (r.cfg.model.type, r.cfg.model.get("global_stage", r.cfg.model).backbone.type)
             for r in board.rows}
    assert kinds["hm_hrnet-w18-small"] == ("LandmarkDetector", "HRNetBackbone")
    assert kinds["reg_resnet34"] == ("LandmarkDetector", "ResNetBackbone")
    assert sum(t == "TimmBackbone" for _, t in kinds.values()) >= 3
    assert board.results == REPO / "benchmarks/results" and board.report is None
    assert load_board("isbi19", rows=["reg_resnet34"]).rows[0].name == "reg_resnet34"


# -- results files ----------------------------------------------------------------------------------------
def test_results_store_round_trip(tmp_path):
    from zoo.leaderboard.store import ResultsStore

    store = ResultsStore(tmp_path / "results", "b")
    assert store.runs() == [] and store.recorded("abc", 0, "minutes", 10) is None
    per_image = [{"image": "151.bmp", "spacing_mm": 0.1, "errors_px": [10.0, None]},
                 {"image": "152.bmp", "spacing_mm": 0.1, "errors_px": [20.0, 30.0]}]
    row = store.record_run({"row": "r", "config_hash": "abc", "seed": 0, "budget_kind": "minutes",
                            "budget": "10", "MRE_mm": 2.0}, per_image)
    assert row["errors_file"] == "leaderboard_b/abc_10min_s0.jsonl"
    assert store.recorded("abc", 0, "minutes", 10.0)["row"] == "r"
    assert store.recorded("abc", 1, "minutes", 10) is None and store.recorded("abc", 0, "iters", 10) is None
    assert ResultsStore(tmp_path / "results", "other board").runs() == []
    errors = store.errors(store.runs()[0])
    assert errors["images"] == ["151.bmp", "152.bmp"] and np.isnan(errors["px"][0, 1])
    assert errors["px"][1].tolist() == [20.0, 30.0] and errors["spacing"].tolist() == [0.1, 0.1]


def _record(store, row, seed, minutes, errors_mm, reference=False):
    """One run in the results files, as a board records it, with the given per-image errors (mm)."""
    per_image = [{"image": f"{151 + i}.bmp", "spacing_mm": 0.1, "errors_px": [e * 10.0 for e in image]}
                 for i, image in enumerate(errors_mm)]
    mm = np.asarray(errors_mm, dtype=float)
    store.record_run({"finished": f"2000-01-01 00:0{seed}:00", "row": row,
                      "reference": "yes" if reference else "", "config_hash": f"{row:0>12}"[-12:],
                      "seed": seed, "budget_kind": "minutes", "budget": f"{minutes:g}",
                      "iters": int(minutes * 50), "train_min": minutes + 1.0, "test_min": 1.0,
                      "MRE_mm": float(mm.mean()),
                      "test_split": "ISBI2015Dataset test1 senior", "model_type": "TwoStageDetector",
                      "global_backbone": "dict(type='HRNetBackbone')", "command": "zoo leaderboard --board b",
                      "cpu": "cpu", "cores": 2, "torch": "2", "torch_threads": 2}, per_image)


def test_report_from_results_files_calls_real_differences_and_draws_the_budget_curve(tmp_path):
    """Three rows written straight into the results files (no training): one 0.3 mm better than the
    reference on every image, one the same but for a lucky and an unlucky seed; the reference also at a
    longer budget. The latency plot needs the rows' costs; the budget curve does not."""
    from zoo.leaderboard.board_report import write_report
    from zoo.leaderboard.store import ResultsStore

    store = ResultsStore(tmp_path / "results", "b")
    base = np.array([_image(v) for v in np.linspace(1.0, 4.0, 40)])
    for seed in range(3):
        _record(store, "ref", seed, 10, base + 0.01 * seed, reference=True)
        _record(store, "ref", seed, 30, base - 0.4 + 0.01 * seed, reference=True)
        _record(store, "better", seed, 10, base - 0.3 + 0.01 * seed)
        _record(store, "same", seed, 10, base + (0.5, -0.5, 0.0)[seed])
    for i, row in enumerate(("ref", "better", "same")):
        store.record_cost({"row": row, "config_hash": f"{row:0>12}"[-12:], "params_m": 1.0 + i,
                           "gflops": 2.0, "torch_ms": 100.0 * (i + 1), "ort_fp32_ms": 50.0 * (i + 1),
                           "ort_int8_ms": 30.0, "runs": 20, "image": "151.bmp (1935x2400)"})
    md = tmp_path / "LEADERBOARD.md"
    data = write_report(store, md, tmp_path / "images")
    assert data["budget"] == ("minutes", 10.0)  # the budget most rows ran at
    rows = {r["name"]: r for r in data["table"]}
    assert [r["name"] for r in data["table"]] == ["better", "same", "ref"]  # ref: +0.01 mm on average
    assert rows["better"]["comparison"]["diff"] == pytest.approx(-0.3)
    assert rows["better"]["comparison"]["verdict"] == "better"
    assert rows["same"]["comparison"]["verdict"] == "no clear difference"
    assert rows["ref"]["summary"]["MRE_sd"] == pytest.approx(0.01)
    text = md.read_text(encoding="utf-8")
    assert "Real differences from `ref` at this budget: `better` is better (-0.300 mm)" in text
    assert "## Training budget" in text and "| `ref` | 30 |" in text
    assert "## Context" in text and "FARNet" in text
    assert "| 100 / 50 / 30 |" in text and "on one test image, 151.bmp (1935x2400)" in text
    for name in ("leaderboard_b.png", "leaderboard_b_budget.png"):
        assert (tmp_path / "images" / name).read_bytes()[:4] == b"\x89PNG"
    (curve,) = data["curve"]
    assert [p["minutes"] for p in curve["points"]] == [10.0, 30.0]
    assert curve["points"][1]["summary"]["MRE"] == pytest.approx(rows["ref"]["summary"]["MRE"] - 0.4)
    # the table at another budget when asked
    assert [r["name"] for r in write_report(store, md, None, budget=("minutes", 30.0))["table"]] == ["ref"]
