"""Fixtures of the reliability suite: tiny synthetic data, the engine tests' tiny config, hostile files,
and a tally of how many cases each fault was tried with (written out for docs/reliability.md).

Set ``ZOO_RELIABILITY_OUT=/path/tally.json`` to write the tally at the end of the session.
"""
from __future__ import annotations

import importlib.util
import json
import os
import pickle
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

_TALLY: dict[str, dict] = defaultdict(lambda: {"cases": 0, "passed": 0})


def _engine_conftest():
    """The engine tests' config writer, loaded by path (two ``conftest`` modules cannot share a name)."""
    spec = importlib.util.spec_from_file_location("zoo_engine_test_conftest", REPO / "tests/engine/conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


write_config = _engine_conftest().write_config


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    from zoo.data.synthetic import generate

    return generate(tmp_path_factory.mktemp("synth data") / "ceph 31", n=12, seed=3, size=(128, 160))


@pytest.fixture
def make_config():
    return write_config


def fast_config(folder: Path, data_root: Path, max_iters: int, interval: int, extra: str = "") -> Path:
    """The engine tests' tiny config at 64 px input and one validation at the end: cheap enough per
    iteration that a test can afford several training processes."""
    path = write_config(folder, data_root, max_iters=max_iters, interval=interval, extra=(
        f"train_cfg = dict(by_epoch=False, max_iters={max_iters}, val_interval={max_iters})\n" + extra))
    text = path.read_text()
    assert "input_size = (128, 128)" in text
    path.write_text(text.replace("input_size = (128, 128)", "input_size = (64, 64)"))
    return path


#: one BLAS/OpenMP thread per training subprocess: two cores are shared with the test process and others
SUBPROCESS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture
def tally():
    """``tally(fault, ok=True)``: count one case of a fault (and whether it was handled)."""

    def count(fault: str, ok: bool = True, n: int = 1) -> None:
        _TALLY[fault]["cases"] += n
        _TALLY[fault]["passed"] += n if ok else 0

    return count


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("ZOO_RELIABILITY_OUT")
    if out and _TALLY:
        Path(out).write_text(json.dumps(dict(sorted(_TALLY.items())), indent=2))


class RunsCode:
    """Unpickling this calls ``open(marker, 'w')``: the file appearing proves code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_hostile(path: Path, marker: Path, style: str) -> Path:
    """A checkpoint whose unpickling would create ``marker``.

    ``pickle2``: a bare protocol-2 pickle stream (torch's legacy format), whose first unsafe opcode is
    the payload's global; ``pickle5``: a framed protocol-5 stream (as ``pickle.dump`` writes); ``zip``: a real torch zip
    checkpoint, valid weights and metadata-looking keys, with the payload hidden beside them -- what a
    doctored download would look like.
    """
    import torch

    payload = RunsCode(marker)
    if style in ("pickle2", "pickle5"):
        with path.open("wb") as fh:
            pickle.dump({"state_dict": {}, "zoo_meta": payload}, fh, protocol=2 if style == "pickle2" else 5)
    elif style == "zip":
        torch.save({"state_dict": {"w": torch.zeros(3)}, "meta": {"iter": 2}, "zoo_meta": {"x": payload}}, path)
    else:
        raise ValueError(style)
    assert not marker.exists()
    return path


@pytest.fixture
def hostile(tmp_path):
    """``hostile(style) -> (checkpoint, marker)``, in a folder with a space in its name."""
    folder = tmp_path / "downloads from internet"
    folder.mkdir(exist_ok=True)

    def make(style: str):
        marker = tmp_path / f"PWNED-{style}"
        return write_hostile(folder / f"evil {style}.pth", marker, style), marker

    return make


@pytest.fixture(scope="session")
def trusted_checkpoint(tmp_path_factory, tiny_data):
    """``(checkpoint, config file, resolved config)``: a real zoo checkpoint (random weights) of the tiny 64 px
    training config, the honest file the trust tests turn into attacks."""
    import torch

    from zoo.engine.config import load_config
    from zoo.engine.runner import prepare
    from zoo.modelfile.meta import build_zoo_meta
    from zoo.models.weights import without_pretrained
    from zoo.registry import MODELS

    folder = tmp_path_factory.mktemp("trusted ckpt")
    config = fast_config(folder, tiny_data, max_iters=1, interval=1)
    cfg = prepare(load_config(config), work_dir=folder / "work", phases=("test",))
    torch.manual_seed(0)
    model = MODELS.build(without_pretrained(cfg.model)).eval()
    ckpt = folder / "good.pth"
    torch.save({"state_dict": model.state_dict(), "zoo_meta": build_zoo_meta(cfg, model),
                "meta": {"iter": 1, "epoch": 0}}, ckpt)
    return ckpt, config, cfg


def run_cli(argv, capsys) -> tuple[int, str]:
    """``zoo ARGV`` in this process: ``(exit code, stderr)``, as a user sees them."""
    from zoo.cli import main

    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code or 0
    return code, capsys.readouterr().err
