"""CPU bf16 autocast: what `zoo train --amp` uses on a CPU with native bf16."""
from __future__ import annotations

import logging

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import DefaultScope

from zoo.engine import cpu_autocast
from zoo.engine.cpu_autocast import CPUAutocastOptimWrapper
from zoo.engine.runner import prepare
from zoo.registry import ZooError, load_plugins


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 2, 1))


def _build(model, **extra):
    load_plugins()
    with DefaultScope.overwrite_default_scope("zoo"):
        return build_optim_wrapper(model, dict(type="CPUAutocastOptimWrapper",
                                               optimizer=dict(type="AdamW", lr=1e-2), **extra))


def test_builds_from_a_config_in_the_zoo_scope_and_steps_fp32_weights_from_bf16_compute():
    model = _net()
    wrapper = _build(model, clip_grad=dict(max_norm=5.0))
    assert isinstance(wrapper, CPUAutocastOptimWrapper)
    before = [p.detach().clone() for p in model.parameters()]
    x, target = torch.rand(2, 3, 16, 16), torch.rand(2, 2, 16, 16)
    with wrapper.optim_context(model):
        out = model(x)
        loss = torch.nn.functional.mse_loss(out.float(), target)
    assert out.dtype == torch.bfloat16  # the convolutions ran in bf16
    wrapper.update_params(loss)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert model(x).dtype == torch.float32  # outside the training step nothing is cast (validation, testing)


def test_its_state_is_a_plain_wrappers_so_runs_resume_either_way():
    model = _net()
    wrapper = _build(model)
    with wrapper.optim_context(model):
        loss = model(torch.rand(1, 3, 8, 8)).float().square().mean()
    wrapper.update_params(loss)
    plain = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-2))
    plain.load_state_dict(wrapper.state_dict())
    assert plain.state_dict()["state"].keys() == wrapper.state_dict()["state"].keys()


def test_fp16_is_refused_with_the_reason():
    with pytest.raises(ZooError, match="AmpOptimWrapper's, on CUDA"):
        CPUAutocastOptimWrapper(dtype="float16", optimizer=torch.optim.SGD(_net().parameters(), lr=0.1))


@pytest.mark.parametrize("native", [True, False])
def test_amp_on_a_cpu_uses_bf16_only_where_the_cpu_has_it(tiny_config, monkeypatch, caplog, native):
    if torch.cuda.is_available():
        pytest.skip("with CUDA, --amp is AmpOptimWrapper's")
    monkeypatch.setattr(cpu_autocast, "native_bf16", lambda: native)
    cfg = Config.fromfile(tiny_config)
    with caplog.at_level(logging.WARNING, logger="zoo"):
        prepare(cfg, amp=True, phases=("train",))
    assert cfg.optim_wrapper.get("type", "OptimWrapper") == ("CPUAutocastOptimWrapper" if native else "OptimWrapper")
    assert ("no native bf16" in caplog.text) is not native


def test_step_benchmark_times_both_ways_on_the_configs_own_batch(tiny_config, benchmark_script, tmp_path):
    out, record = tmp_path / "bf16 step.json", tmp_path / "results" / "bf16 steps.csv"
    for _ in range(2):  # a second run appends its row under the same header
        assert benchmark_script("cpu_bf16_step").main([str(tiny_config), "--runs", "1", "--out", str(out),
                                                       "--csv", str(record)]) == 0
    import csv
    import json

    result = json.loads(out.read_text(encoding="utf-8"))
    with record.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2  # 6 significant digits in the file
    assert float(rows[1]["bf16_median_s"]) == pytest.approx(result["median_step_s"]["bf16"], rel=1e-5)
    assert rows[1]["command"].startswith("python benchmarks/cpu_bf16_step.py ") and "--runs 1" in rows[1]["command"]
    assert rows[1]["torch"] == torch.__version__ and rows[1]["started"] and rows[1]["cores"]
    assert set(result["median_step_s"]) == {"fp32", "bf16"}
    assert all(t > 0 for t in result["median_step_s"].values())
    assert result["bf16_speedup"] == pytest.approx(result["median_step_s"]["fp32"] / result["median_step_s"]["bf16"])
    assert result["native_bf16"] is cpu_autocast.native_bf16() and result["machine"]["cores"] >= 1
