"""``zoo benchmark`` on a tiny config: every runtime timed, GFLOPs counted, shares of a measured peak."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_peak_is_measured():
    from zoo.benchmarking import peak_gflops

    peak = peak_gflops(n=256, repeats=2, threads=1)
    assert peak["fp32_torch"] > 0 and peak["fp32"] >= peak["fp32_torch"] and peak["int8"] > 0


def test_benchmark_command(hrnet_ckpt, exports, workdir, capsys):
    from zoo.cli import main

    config = hrnet_ckpt.with_suffix(".py")
    out_dir = workdir / "bench results"
    main(["benchmark", str(config), str(exports["onnx-int8"].path), "--size", "64", "--runs", "2",
          "--threads", "1", "--out-dir", str(out_dir), "--note", "test run"])
    table = capsys.readouterr().out
    result = json.loads((out_dir / "cpu_latency_64.json").read_text())
    assert (out_dir / "cpu_latency_64.md").read_text().strip() == table.strip()
    tiny, exported = result["models"]
    assert tiny["name"] == "tiny_hrnet" and tiny["gflops"] > 0 and tiny["params_m"] > 0
    assert set(tiny["runtimes"]) == {"eager", "channels_last", "ort_fp32", "ort_int8"}
    for r in tiny["runtimes"].values():
        assert r["runs"] == 2 and r["min_ms"] <= r["ms"] <= r["max_ms"]
        assert r["gflop_per_s"] == pytest.approx(tiny["gflops"] / (r["ms"] / 1e3))
        assert r["share_of_fp32_peak"] == pytest.approx(r["gflop_per_s"] / result["peak"]["fp32"])
    assert "noise" in tiny["calibration"]  # the tiny config's data is absent
    assert list(exported["runtimes"]) == ["ort_int8"]  # an exported int8 file runs as itself
    assert result["machine"]["cores"] >= 1 and result["threads"] == 1 and result["note"] == "test run"
    assert len(result["peak"]["measurements"]) == 2
    assert "| tiny_hrnet |" in table and "Machine:" in table and "Note: test run" in table
    # the record: a row per model and runtime, with the machine and the command that repeats the run
    import csv

    with (out_dir / "cpu_latency.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["model"], r["runtime"]) for r in rows] == [("tiny_hrnet", k) for k in tiny["runtimes"]] + [
        (exported["name"], "ort_int8")]
    assert float(rows[0]["median_ms"]) == pytest.approx(tiny["runtimes"]["eager"]["ms"], rel=1e-5)
    assert rows[0]["input"] == "64x64" and rows[0]["threads"] == "1" and rows[0]["note"] == "test run"
    assert rows[0]["torch"] == result["machine"]["torch"] and rows[0]["started"] == result["started"]
    assert rows[0]["command"].startswith("zoo benchmark ") and "--size 64 --runs 2" in rows[0]["command"]


def test_checkpoints_with_one_file_name_are_timed_as_themselves(hrnet_ckpt, ruler_ckpt, tmp_path):
    """Leaderboard runs all end in iter_N.pth: each must be exported and timed as itself, not as the first
    model whose graph happens to sit in the shared folder under the same name."""
    import shutil

    from zoo.benchmarking.run import bench_target

    same_name = []
    for folder, ckpt in (("a", hrnet_ckpt), ("b", ruler_ckpt)):
        (tmp_path / folder).mkdir()
        same_name.append(Path(shutil.copy(ckpt, tmp_path / folder / "iter_300.pth")))
    shared = tmp_path / "graphs"
    shared.mkdir()
    for ckpt in same_name:
        entry = bench_target(str(ckpt), 64, 1, ["ort_fp32"], 1, 1, shared, log=lambda *args: None)
        assert entry["runtimes"]["ort_fp32"].get("ms", 0) > 0
    graphs = sorted(shared.glob("*.onnx"))
    assert len(graphs) == 2 and graphs[0].read_bytes() != graphs[1].read_bytes()


def test_results_csv_appends_under_its_header_and_refuses_another_benchmarks_file(tmp_path):
    from zoo.benchmarking.results_csv import ResultsFileError, append_rows

    record = tmp_path / "bench results" / "steps.csv"
    append_rows(record, ("a", "b"), [{"a": 1.23456789, "b": [1, 2]}])
    append_rows(record, ("a", "b"), [{"a": "x, y", "b": None}])
    assert record.read_text(encoding="utf-8").splitlines() == ["a,b", "1.23457,1 2", '"x, y",']
    with pytest.raises(ResultsFileError, match="other columns"):
        append_rows(record, ("a", "c"), [{"a": 1}])
    assert len(record.read_text(encoding="utf-8").splitlines()) == 3  # nothing written


def test_a_two_stage_checkpoint_is_timed_as_its_whole_predictor_at_its_own_size(two_stage_ckpt, tmp_path,
                                                                                 monkeypatch):
    """`zoo benchmark CKPT` on a two-stage model: global graph, patch cutting and refine graph per image, at the
    checkpoint's input size, in every runtime -- int8 included, whose refine graph calibrates on whole images'
    worth of patches (one patch per batch failed in the refine graph's per-image Reshape)."""
    import zoo.inference.predictor as predictor_module
    from zoo.benchmarking.run import bench_target, markdown_table, size_label

    cut = []
    refine = predictor_module.refine_landmarks
    monkeypatch.setattr(predictor_module, "refine_landmarks",
                        lambda images, *args: cut.append(images[0].shape) or refine(images, *args))
    runtimes = ["eager", "ort_fp32", "ort_int8"]
    entry = bench_target(str(two_stage_ckpt), None, 2, runtimes, 1, 2, tmp_path, log=lambda *args: None)
    for runtime in runtimes:
        assert entry["runtimes"][runtime].get("ms", 0) > 0, entry["runtimes"][runtime]
    assert entry["input_size"] == [64, 64] and entry["timed"] == "predictor"
    assert entry["image"] == "151.jpg (128x160)"  # the config's first test image, at its own resolution
    # every timed call (3 warm-up + 2 timed, per runtime) cut patches from that image for the refine stage
    assert cut == [(160, 128, 3)] * (5 * len(runtimes))
    assert entry["calibration"].startswith("2 images of test_dataloader.dataset")
    global_int8, refine_int8 = sorted(p.name for p in tmp_path.glob("*.int8.onnx"))
    assert refine_int8 == global_int8.replace(".int8.onnx", ".refine.int8.onnx")
    result = {"models": [entry], "size": None, "batch": 1, "threads": 1, "runs": 2, "note": None,
              "machine": {"cores": 2, "cpu": "-", "cpu_flags": [], "platform": "-", "torch": "-", "python": "-"},
              "peak": {"fp32": 1.0, "int8": None, "measurements": [{"matmul_size": 64}]}}
    assert size_label(result) == "64"
    assert "| two stage * | 64x64 |" in markdown_table(result) and "patch cutting" in markdown_table(result)
