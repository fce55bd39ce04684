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
