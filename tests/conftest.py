"""Shared fixtures: where the repository and the real ISBI 2015 data are."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def isbi_root() -> Path | None:
    """The real ISBI 2015 copy beside the checkout (or $ZOO_ISBI_ROOT), or None when absent."""
    candidates = [os.environ.get("ZOO_ISBI_ROOT"), REPO_ROOT.parent / "shared" / "data" / "isbi2015"]
    for c in candidates:
        if c and (Path(c) / "RawImage").is_dir():
            return Path(c)
    return None


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def isbi_data() -> Path:
    root = isbi_root()
    if root is None:
        pytest.skip("ISBI 2015 data not found (../shared/data/isbi2015 or $ZOO_ISBI_ROOT)")
    return root


def _script_module(path: Path, name: str):
    """A script as a module: scripts are run, not imported as a package, so they are loaded by file name."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def benchmark_script():
    """A script of ``benchmarks/`` (the product's benchmarks) as a module, by file name."""
    return lambda name: _script_module(REPO_ROOT / "benchmarks" / f"{name}.py", f"benchmarks_{name}")


@pytest.fixture(scope="session")
def project_script():
    """A research project's script (``projects/<project>/scripts/``) as a module, by project and file name."""
    return lambda project, name: _script_module(REPO_ROOT / "projects" / project / "scripts" / f"{name}.py",
                                                f"{project}_{name}")


#: the smallest heatmap model the tests save as a real zoo checkpoint (``str.format`` its landmark set and ruler)
TINY_HEATMAP_CONFIG = """default_scope = 'zoo'
input_size = (64, 64)
model = dict(type='LandmarkDetector', landmark_set='{landmark_set}',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    backbone=dict(type='HRNetBackbone', arch='hrnet_w18_small', pretrained=False),
    neck=dict(type='HRNetV2Neck'), head=dict(type='HeatmapHead', output_stride=4, sigma=2.0),
    decoder=dict(type='DarkDecoder', blur_sigma=1.0), loss=dict(type='HeatmapMSELoss'))
test_pipeline = [
    dict(type='LoadCephalogram', channels=3),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    dict(type='PackLandmarkInputs'),
]
ruler_mm = {ruler_mm}
"""


@pytest.fixture(scope="session")
def tiny_heatmap_config():
    """``tiny_heatmap_config(landmark_set='isbi2015', ruler_mm=None)``: :data:`TINY_HEATMAP_CONFIG` as config text."""
    return lambda landmark_set="isbi2015", ruler_mm=None: TINY_HEATMAP_CONFIG.format(
        landmark_set=landmark_set, ruler_mm=repr(ruler_mm))


def _save_untrained(config_text: str, config_path: Path, checkpoint_path: Path, **extra) -> Path:
    """The model a config text describes, untrained (seed 0), saved as ``zoo train`` saves a checkpoint: its weights
    and the ``zoo_meta`` inference reads (``extra``: more top-level keys, e.g. an optimizer state)."""
    import torch
    from mmengine.config import Config

    from zoo.modelfile.meta import build_zoo_meta
    from zoo.registry import MODELS, load_plugins

    load_plugins()
    config_path.write_text(config_text)
    cfg = Config.fromfile(str(config_path))
    torch.manual_seed(0)
    detector = MODELS.build(cfg.model).eval()
    torch.save({"state_dict": detector.state_dict(), "zoo_meta": build_zoo_meta(cfg, detector), **extra},
               checkpoint_path)
    return checkpoint_path


@pytest.fixture(scope="session")
def untrained_checkpoint():
    """``untrained_checkpoint(config_text, config_path, checkpoint_path, **extra)``: see :func:`_save_untrained`."""
    return _save_untrained


@pytest.fixture(scope="session")
def one_torch_thread():
    """2 shared cores: torch's thread pool spins badly when oversubscribed, one thread is faster. Folders of
    small-model tests use it for the whole session (``autouse`` in their conftest)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def zoo_cli(capsys):
    """``zoo_cli(args) -> (exit code, stdout, stderr)``: the ``zoo`` command run in this process, as a user sees it."""
    from zoo.cli import main

    def run(args):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
