"""A checkpoint whose stored config would run or import code is refused by every command, and nothing runs.

``weights_only=True`` keeps the tensors from running code; these attacks go through the config the checkpoint
carries instead. Each variant would create a marker file if it got anywhere: as Python text (what older zoo
checkpoints stored, read by ``Config.fromstring``), as a dotted ``type`` that mmengine imports by name
(``os.system``, ``subprocess.run``), as a plain ``type`` naming an importable module, as ``custom_imports``,
as a ``_scope_`` or ``default_scope`` (mmengine imports ``<scope>.registry``), and as mmengine's own
``meta['config']``, which its resume executes. The payload module sits on ``sys.path`` so an import of it
is possible: only the zoo's refusal keeps the marker from appearing.
"""
from __future__ import annotations

import copy
import sys

import pytest
from reliability_helpers import fast_config, run_cli

PAYLOAD = "zoo_trust_payload"
VARIANTS = ("config_text", "dotted_os_system", "dotted_subprocess", "plain_module_type", "custom_imports",
            "scope", "default_scope")
COMMANDS = ("test", "predict", "export", "serve", "ensemble", "benchmark")


@pytest.fixture
def payload(tmp_path, monkeypatch):
    """An importable package whose import creates ``marker``."""
    marker = tmp_path / "PWNED"
    package = tmp_path / "site" / PAYLOAD
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n")
    for sub in ("registry", "utils"):  # what a scope import asks for
        (package / f"{sub}.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in [m for m in sys.modules if m == PAYLOAD or m.startswith(PAYLOAD + ".")]:
        monkeypatch.delitem(sys.modules, name)
    yield marker
    for name in [m for m in sys.modules if m == PAYLOAD or m.startswith(PAYLOAD + ".")]:
        sys.modules.pop(name, None)


def hostile_checkpoint(good_ckpt, variant: str, marker, folder):
    """``good_ckpt`` with its stored config turned into ``variant``'s attack."""
    import torch

    checkpoint = torch.load(good_ckpt, weights_only=True)
    meta = checkpoint["zoo_meta"]
    config = copy.deepcopy(meta["config"])
    if variant == "config_text":
        meta["config"] = (f"__import__('pathlib').Path({str(marker)!r}).touch()\n"
                          "model = dict(type='LandmarkDetector')\n")
    else:
        if variant == "dotted_os_system":
            config["model"] = {"type": "os.system", "command": f"touch '{marker}'"}
        elif variant == "dotted_subprocess":
            config["model"] = {"type": "subprocess.run", "args": ["touch", str(marker)]}
        elif variant == "plain_module_type":
            config["model"]["backbone"]["type"] = PAYLOAD
        elif variant == "custom_imports":
            config["custom_imports"] = {"imports": [PAYLOAD], "allow_failed_imports": False}
        elif variant == "scope":
            config["model"]["_scope_"] = PAYLOAD
        elif variant == "default_scope":
            config["default_scope"] = PAYLOAD
        meta["config"] = config
    path = folder / "downloads from internet" / f"evil {variant}.pth"
    path.parent.mkdir(exist_ok=True)
    torch.save(checkpoint, path)
    return path


def _argv(command, ckpt, good_ckpt, folder, image):
    return {"test": ["test", ckpt],
            "predict": ["predict", ckpt, image, "--out", folder / "pred.json"],
            "export": ["export", ckpt, "--format", "onnx"],
            "serve": ["serve", ckpt, "--port", "0"],
            "ensemble": ["ensemble", good_ckpt, ckpt, "--out", folder / "ensemble.pth"],
            "benchmark": ["benchmark", ckpt, "--runs", "1", "--runtimes", "eager", "--size", "64",
                          "--out-dir", folder / "bench"]}[command]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("command", COMMANDS)
def test_hostile_stored_config_is_refused_and_runs_nothing(command, variant, trusted_checkpoint, payload,
                                                          tiny_data,
                                                          tmp_path, capsys, tally):
    good_ckpt = trusted_checkpoint[0]
    ckpt = hostile_checkpoint(good_ckpt, variant, payload, tmp_path)
    image = next((tiny_data / "test").rglob("*.jpg"))
    code, err = run_cli(_argv(command, ckpt, good_ckpt, tmp_path, image), capsys)
    assert not payload.exists(), f"the checkpoint's config RAN code ({variant} via {command})"
    assert PAYLOAD not in sys.modules, f"the checkpoint's config imported its module ({variant}, {command})"
    assert code == 2, f"exit {code}: {err[-1500:]}"
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err[-1500:]
    assert str(ckpt) in errors[0], errors[0]
    expected = "older zoo" if variant == "config_text" else "stored config"
    assert expected in errors[0] or ("default_scope" in errors[0] and variant == "default_scope"), errors[0]
    assert not (tmp_path / "ensemble.pth").exists() and not list(tmp_path.rglob("*.onnx"))
    tally(f"hostile stored config: {command}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_load_from_a_hostile_checkpoint_runs_nothing(variant, trusted_checkpoint, payload, tmp_path, capsys,
                                                     tally):
    """``--load-from`` takes only the weights (the stored config is never read): training goes on."""
    ckpt = hostile_checkpoint(trusted_checkpoint[0], variant, payload, tmp_path)
    work = tmp_path / "work"
    argv = ["train", trusted_checkpoint[1], "--work-dir", work, "--no-test", "--load-from", ckpt]
    code, err = run_cli(argv, capsys)
    assert not payload.exists() and PAYLOAD not in sys.modules, f"--load-from ran the config ({variant})"
    assert code == 0, err[-1500:]
    assert (work / "iter_1.pth").is_file()
    tally("hostile stored config: train --load-from")


def test_resume_never_executes_mmengine_meta_config(payload, tiny_data, tmp_path, capsys, tally):
    """mmengine's resume runs ``Config.fromstring(checkpoint['meta']['config'])``; the zoo drops it first."""
    import torch

    (tmp_path / "one").mkdir()
    first = fast_config(tmp_path / "one", tiny_data, max_iters=1, interval=1)
    code, err = run_cli(["train", first, "--work-dir", tmp_path / "w1", "--no-test"], capsys)
    assert code == 0, err[-1500:]
    checkpoint = torch.load(tmp_path / "w1" / "iter_1.pth", weights_only=True)
    assert "cfg" not in checkpoint["meta"], "a checkpoint stores the config as Python text again"
    checkpoint["meta"]["config"] = f"import {PAYLOAD}\ngpu_ids = [0]\n"
    checkpoint["meta"]["cfg"] = f"import {PAYLOAD}\n"
    ckpt = tmp_path / "evil resume.pth"
    torch.save(checkpoint, ckpt)
    (tmp_path / "two").mkdir()
    second = fast_config(tmp_path / "two", tiny_data, max_iters=2, interval=1)
    work = tmp_path / "w2"
    code, err = run_cli(["train", second, "--work-dir", work, "--no-test", "--resume", ckpt], capsys)
    assert not payload.exists() and PAYLOAD not in sys.modules, "resume executed the checkpoint's meta config"
    assert code == 0, err[-1500:]
    assert (work / "iter_2.pth").is_file(), "it did not resume"
    assert not (work / "iter_1.pth").exists(), "it started again instead of resuming at iteration 1"
    tally("hostile stored config: train --resume (mmengine meta)")


def test_zoo_registry_never_imports_an_unregistered_plain_name(payload):
    """The registry is the last line: even a config the user wrote cannot import a module by a bare name."""
    from zoo.registry import BACKBONES, MODELS, UnknownComponentError

    for registry in (MODELS, BACKBONES):
        with pytest.raises(UnknownComponentError, match="not registered"):
            registry.build({"type": PAYLOAD})
    assert not payload.exists() and PAYLOAD not in sys.modules


def test_a_config_no_checkpoint_could_carry_fails_before_training(tiny_data, tmp_path, capsys):
    """An import path as a type in what a model file carries (here its test pipeline) would make every checkpoint
    of the run unreadable: refused at the start. The run's own sections (optimizer...) are the user's: a model file
    never carries them, so they may name what the user's own Python may import."""
    config = fast_config(tmp_path, tiny_data, max_iters=1, interval=1,
                         extra="test_pipeline = [dict(type='mmcv.transforms.LoadImageFromFile')]\n")
    code, err = run_cli(["train", config, "--work-dir", tmp_path / "work", "--no-test"], capsys)
    assert code == 2 and "a checkpoint could not carry this config" in err and "mmcv.transforms" in err, err
    assert not list((tmp_path / "work").rglob("*.pth"))


def test_upgrade_converts_a_trusted_old_checkpoint(trusted_checkpoint, tmp_path, capsys):
    """An old checkpoint (config as text) is refused until the user upgrades it; then it predicts the same."""
    import numpy as np
    import torch

    from zoo.inference import Predictor

    checkpoint = torch.load(trusted_checkpoint[0], weights_only=True)
    checkpoint["zoo_meta"]["config"] = trusted_checkpoint[2].pretty_text
    checkpoint["zoo_meta"]["format"] = 1
    old = tmp_path / "old format.pth"
    torch.save(checkpoint, old)
    code, err = run_cli(["predict", old, old], capsys)
    assert code == 2 and "zoo checkpoint upgrade" in err, err
    code, err = run_cli(["checkpoint", "upgrade", old], capsys)
    new = tmp_path / "old format.upgraded.pth"
    assert code == 0 and new.is_file(), err
    assert isinstance(torch.load(new, weights_only=True)["zoo_meta"]["config"], dict)
    image = np.random.default_rng(0).integers(0, 255, (90, 70), dtype=np.uint8)
    ours = Predictor.from_path(trusted_checkpoint[0]).predict_array(image)[0]
    upgraded = Predictor.from_path(new).predict_array(image)[0]
    np.testing.assert_allclose(upgraded, ours)
    code, err = run_cli(["checkpoint", "upgrade", new], capsys)
    assert code == 2 and "needs no upgrade" in err


def test_every_shipped_config_can_be_stored_and_rebuilt_exactly():
    """What a checkpoint stores of each recipe in configs/ (the model, transforms, datasets) passes the reader's
    check and rebuilds the same."""
    from pathlib import Path

    from zoo.engine.config import load_config
    from zoo.modelfile.stored_config import CARRIED, config_from_data, config_to_data

    configs = [p for p in sorted((Path(__file__).resolve().parents[2] / "configs").rglob("*.py"))
               if "_base_" not in p.parts]
    assert len(configs) > 10
    for path in configs:
        cfg = load_config(path)
        carried = {k: v for k, v in cfg.to_dict().items() if k in CARRIED}
        for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
            if not isinstance(carried.get(loader), dict):
                carried.pop(loader, None)
            else:
                carried[loader] = {k: carried[loader][k] for k in ("dataset", "batch_size") if k in carried[loader]}
        assert config_from_data(config_to_data(cfg), str(path)).to_dict() == carried, path
