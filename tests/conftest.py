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


@pytest.fixture(scope="session")
def one_torch_thread():
    """2 shared cores: torch's thread pool spins badly when oversubscribed, one thread is faster. Folders of
    small-model tests use it for the whole session (``autouse`` in their conftest)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
