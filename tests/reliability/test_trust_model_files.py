"""A shared model file must not write, delete or read files (the second round of attacks on main, issue #33).

The first round (``test_trust_checkpoints.py``) made every stored ``type`` a registered name. These attacks use
registered components with hostile arguments instead: a visualizer that dumps the config into a venv, evaluator and
hook outputs at a victim's path, a resumed state naming a victim as its "previous best", a TorchScript file whose
loading writes a file, an ONNX graph that loops for ever, files that expand far beyond their size. Each must leave
no marker, no changed or deleted victim, and end in one clear error or a normal run.
"""
from __future__ import annotations

import copy
import json
import os
import zipfile

import pytest
from reliability_helpers import SUBPROCESS_ENV, fast_config, run_cli

#: a dict key that closes the quote mmengine's config dump opens, then runs code on the next Python start
QUOTE_KEY = "x': __import__('pathlib').Path({marker!r}).touch(), 'y"


def _with_config(good_ckpt, folder, name: str, edit, suffix=".pth"):
    """``good_ckpt`` with ``edit(config)`` applied to its stored config, as a format-2 file (which carried the whole
    run config) would hold it."""
    import torch

    checkpoint = torch.load(good_ckpt, weights_only=True)
    meta = checkpoint["zoo_meta"]
    config = copy.deepcopy(meta["config"])
    edit(config)
    meta["config"], meta["format"] = config, 2
    path = folder / "downloads from internet" / f"{name}{suffix}"
    path.parent.mkdir(exist_ok=True)
    if suffix == ".safetensors":
        from zoo.modelfile import write_weights

        write_weights(checkpoint, path)
    else:
        torch.save(checkpoint, path)
    return path


@pytest.fixture
def venv(tmp_path):
    """A stand-in for a virtual environment's site-packages: what lands here runs at the next Python start."""
    site = tmp_path / "venv" / "site-packages"
    site.mkdir(parents=True)
    return site


@pytest.fixture
def tiny_weights(trusted_checkpoint, tmp_path):
    from zoo.modelfile import safe_load, write_weights

    return write_weights(safe_load(trusted_checkpoint[0]), tmp_path / "good.safetensors")


def _test_argv(ckpt, tmp_path):
    return ["test", ckpt, "--work-dir", tmp_path / "my run"]


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_a_visualizer_in_a_model_file_writes_nothing_into_a_venv(trusted_checkpoint, venv, tmp_path, capsys, suffix):
    marker = tmp_path / "PWNED"

    def edit(config):
        config["visualizer"] = {"type": "Visualizer", "vis_backends": [
            {"type": "LocalVisBackend", "save_dir": str(venv), "config_save_file": "sitecustomize.py"}]}
        config["env_cfg"] = {QUOTE_KEY.format(marker=str(marker)): 1}
        config["work_dir"] = str(venv)

    ckpt = _with_config(trusted_checkpoint[0], tmp_path, "evil visualizer", edit, suffix)
    code, err = run_cli(_test_argv(ckpt, tmp_path), capsys)
    assert code == 0, err[-2000:]
    assert list(venv.iterdir()) == [], "the model file chose where the run writes"
    assert not marker.exists()
    dumps = [p for p in (tmp_path / "my run").rglob("*.py")]
    for dump in dumps:  # whatever the run dumped of its config holds no text from the file's keys
        assert "__import__" not in dump.read_text()


def test_a_quote_in_a_carried_key_is_refused(trusted_checkpoint, tmp_path, capsys):
    marker = tmp_path / "PWNED"

    def edit(config):
        config["model"][QUOTE_KEY.format(marker=str(marker))] = 1

    ckpt = _with_config(trusted_checkpoint[0], tmp_path, "evil key", edit)
    for argv in (_test_argv(ckpt, tmp_path), ["checkpoint", "calibrate", ckpt, "--out", tmp_path / "c.pth"],
                 ["ensemble", trusted_checkpoint[0], ckpt, "--out", tmp_path / "e.pth"]):
        code, err = run_cli(argv, capsys)
        assert code == 2 and "not a Python identifier" in err, (argv[0], err[-1500:])
    assert not marker.exists() and not (tmp_path / "c.pth").exists() and not (tmp_path / "e.pth").exists()


def test_outputs_named_by_a_model_file_go_nowhere(trusted_checkpoint, tmp_path, capsys):
    """Evaluator and hook outputs, a work dir, a profiler trace and 64 workers from the file: all ignored."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    elsewhere = tmp_path / "elsewhere"

    def edit(config):
        config["test_evaluator"] = [{"type": "LandmarkMetric", "out_file": str(victim)},
                                    {"type": "DumpResults", "out_file_path": str(victim)}]
        config["work_dir"] = str(elsewhere)
        config["default_hooks"] = {"logger": {"type": "LoggerHook", "out_dir": str(elsewhere)}}
        config["custom_hooks"] = [{"type": "ProfilerHook", "json_trace_path": str(victim)}]
        config["test_dataloader"]["num_workers"] = 64

    ckpt = _with_config(trusted_checkpoint[0], tmp_path, "evil outputs", edit)
    code, err = run_cli(_test_argv(ckpt, tmp_path), capsys)
    assert code == 0, err[-2000:]
    assert victim.read_text() == "precious" and not elsewhere.exists()

    from zoo.engine.config import load_config

    cfg = load_config(ckpt)
    assert cfg.test_dataloader.num_workers <= 2 and cfg.test_evaluator == {"type": "LandmarkMetric"}
    assert not cfg.get("custom_hooks") and "work_dir" not in cfg


@pytest.mark.parametrize("guarded", [False, True])
def test_resume_never_deletes_a_file_outside_the_work_dir(tiny_data, tmp_path, capsys, monkeypatch, guarded):
    """A resumed state naming a victim as its previous best checkpoint (with an unbeatable score): mmengine deletes
    the victim at the first better validation -- shown once with the guard off, so the test proves something."""
    import torch

    from zoo.engine import hooks

    if not guarded:
        monkeypatch.setattr(hooks, "confine_paths", lambda hub, *args, **kwargs: hub)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    work = tmp_path / "run"
    config = fast_config(tmp_path, tiny_data, max_iters=1, interval=1)
    code, err = run_cli(["train", config, "--work-dir", work, "--no-test"], capsys)
    assert code == 0, err[-2000:]
    checkpoint = torch.load(work / "iter_1.pth", weights_only=True)
    info = checkpoint["message_hub"]["runtime_info"]
    info["best_ckpt"], info["best_score"] = str(victim), 1e30
    evil = tmp_path / "shared" / "evil resume.pth"
    evil.parent.mkdir()
    torch.save(checkpoint, evil)
    code, err = run_cli(["train", config, "--work-dir", work, "--resume", evil, "--no-test",
                         "--cfg-options", "train_cfg.max_iters=2", "train_cfg.val_interval=1"], capsys)
    assert code == 0, err[-2000:]
    assert victim.exists() == guarded
    if guarded:
        assert victim.read_text() == "precious"
        logs = "".join(p.read_text() for p in work.rglob("*.log"))
        assert "dropped best_ckpt" in logs and "not inside this run's work dir" in logs


def test_a_model_file_is_no_training_recipe(trusted_checkpoint, tmp_path, capsys):
    code, err = run_cli(["train", trusted_checkpoint[0], "--work-dir", tmp_path / "w"], capsys)
    assert code == 2 and "--load-from" in err and "no training recipe" in err, err[-1500:]


_EVIL_TORCHSCRIPT = r"""
import json, sys
from typing import Tuple
import torch

class Evil(torch.nn.Module):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def forward(self, x):
        return x

    @torch.jit.export
    def __getstate__(self) -> Tuple[str, bool]:
        return (self.path, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[str, bool]) -> None:
        self.path = state[0]
        written = torch.from_file(self.path, True, 64)
        self.training = state[1] and written.numel() > 0

module = torch.jit.script(Evil(sys.argv[2]))
torch.jit.save(module, sys.argv[1], _extra_files={"zoo_meta.json": json.dumps({"landmark_symbols": ["A"]})})
"""


def test_torchscript_is_refused_unless_trusted(tmp_path, capsys):
    """Its ``__setstate__`` writes a file while ``torch.jit.load`` runs: the zoo must not get that far."""
    import subprocess
    import sys

    marker = tmp_path / "sitecustomize.py"
    ts = tmp_path / "downloads from internet" / "model.torchscript.pt"
    ts.parent.mkdir()
    script = tmp_path / "make_evil.py"  # torch.jit.script reads the class's source from a file
    script.write_text(_EVIL_TORCHSCRIPT)
    subprocess.run([sys.executable, str(script), str(ts), str(tmp_path / "made at export")],
                   check=True, env={**os.environ, **SUBPROCESS_ENV})
    import torch

    torch.jit.load(str(ts))  # what the zoo used to do first thing
    assert (tmp_path / "made at export").exists(), "the attack itself must work, or this test proves nothing"
    (tmp_path / "made at export").unlink()
    code, err = run_cli(["predict", ts, ts], capsys)
    assert code == 2 and "--trust" in err and "program" in err, err[-1500:]
    assert not (tmp_path / "made at export").exists() and not marker.exists()

    import zoo
    from zoo.modelfile import UntrustedCodeError

    with pytest.raises(UntrustedCodeError, match="trust=True"):
        zoo.load(ts)
    assert not (tmp_path / "made at export").exists()


def test_an_onnx_graph_that_loops_is_refused_before_it_runs(tmp_path, trusted_checkpoint):
    import onnx
    from onnx import TensorProto, helper

    from zoo.inference import open_backend
    from zoo.modelfile import ModelFileError, safe_load

    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["v_in"], ["v_out"])],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])])
    nodes = [helper.make_node("Constant", [], ["n"], value=helper.make_tensor("n", TensorProto.INT64, [], [2**62])),
             helper.make_node("Constant", [], ["c"], value=helper.make_tensor("c", TensorProto.BOOL, [], [True])),
             helper.make_node("Constant", [], ["v"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])),
             helper.make_node("Loop", ["n", "c", "v"], ["coords"], body=body)]
    graph = helper.make_graph(nodes, "hang", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("coords", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph)
    meta = safe_load(trusted_checkpoint[0])["zoo_meta"]
    model.metadata_props.add(key="zoo_meta", value=json.dumps(meta))
    path = tmp_path / "hang.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ModelFileError, match="Loop"):
        open_backend(path)


def test_a_compressed_checkpoint_that_would_expand_is_refused_first(tmp_path):
    from zoo.modelfile import CheckpointError, safe_load

    path = tmp_path / "bomb.pth"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("bomb/data/0", bytes(256 << 20))  # 256 MB of zeros in about 250 KB
    assert path.stat().st_size < 2 << 20
    with pytest.raises(CheckpointError, match="would expand to 256 MB"):
        safe_load(path)


def test_a_weights_file_cannot_make_the_reader_load_tensors_its_model_lacks(tiny_weights, tmp_path):
    """An extra tensor (here small; a GiB in the attack) is refused by name from the header, before loading."""
    import torch
    from safetensors.torch import save_file

    from zoo.inference import open_backend
    from zoo.modelfile import WeightsFileError, read_meta, read_weights

    state = read_weights(tiny_weights)["state_dict"]
    evil = tmp_path / "extra.safetensors"
    save_file({**state, "zz_extra": torch.zeros(1000)}, str(evil),
              metadata={"zoo_meta": json.dumps(read_meta(tiny_weights))})
    with pytest.raises(WeightsFileError, match="zz_extra"):
        open_backend(evil)


@pytest.mark.parametrize("field,value,says", [
    ("input_size", [4096, 4096], "input_size"),
    ("refine_graph", {"bad": 1}, "graph"),
    ("deep", None, "nests deeper"),
])
def test_hostile_metadata_values_get_one_clear_error(tiny_weights, tmp_path, field, value, says):
    import torch
    from safetensors.torch import save_file

    from zoo.inference import open_backend
    from zoo.modelfile import read_meta, read_weights
    from zoo.registry import ZooError

    meta = read_meta(tiny_weights)
    text = None
    if field == "input_size":
        meta["preprocess"]["input_size"] = value
    elif field == "refine_graph":
        meta["refine"] = {"patch_size": 64, "patch_scale": 1.0, "graph": value}
    else:
        text = '{"a":' * 5000 + "1" + "}" * 5000
    state = read_weights(tiny_weights)["state_dict"]
    evil = tmp_path / f"{field}.safetensors"
    save_file({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, str(evil),
              metadata={"zoo_meta": text or json.dumps(meta)})
    with pytest.raises(ZooError, match=says):
        open_backend(evil)
    assert torch.get_num_threads() >= 1


def test_a_model_file_without_a_validation_split_tests(trusted_checkpoint, tmp_path, capsys):
    """The run around a model file adds a validation loop only where the file names validation images."""
    ckpt = _with_config(trusted_checkpoint[0], tmp_path, "no val", lambda config: config.pop("val_dataloader", None))
    code, err = run_cli(_test_argv(ckpt, tmp_path), capsys)
    assert code == 0, err[-2000:]
