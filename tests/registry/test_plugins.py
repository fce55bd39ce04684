"""Plugins: isolation of broken ones, no silent replacement, env selection, the outside path via pip."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from zoo import hookimpl
from zoo.registry import BACKBONES, ORIGINS, PLUGINS, ZooPluginWarning, load_plugins, register_plugin

REPO = Path(__file__).resolve().parents[2]


def _fake_distribution(site: Path, dist: str, module: str, source: str) -> None:
    """Install a plugin the way pip would leave it: a module plus a dist-info with its entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo.plugins]\n{module} = {module}\n")


def _zoo(*args, env_extra=None, cwd=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def test_plugin_that_raises_at_import_is_named_once_and_the_rest_works(tmp_path):
    _fake_distribution(tmp_path, "broken-plugin", "zoo_broken_at_import", "raise RuntimeError('boom at import')\n")
    result = _zoo("list", "backbones", env_extra={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "HRNetBackbone" in result.stdout
    warnings_lines = [line for line in result.stderr.splitlines() if "zoo_broken_at_import" in line]
    assert len(warnings_lines) == 1 and "boom at import" in warnings_lines[0]


def test_env_var_loads_no_third_party_plugins(tmp_path):
    _fake_distribution(tmp_path, "broken-plugin", "zoo_broken_at_import", "raise RuntimeError('boom')\n")
    result = _zoo("plugins", env_extra={"PYTHONPATH": str(tmp_path), "ZOO_PLUGINS": ""})
    assert result.returncode == 0, result.stderr
    assert "boom" not in result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("zoo_broken_at_import"))
    assert "skipped" in row
    assert "hrnet" in result.stdout  # built-ins always load


def test_hook_that_raises_is_rolled_back_and_reported():
    load_plugins()

    class Half:
        @hookimpl
        def zoo_register(self, registry):
            registry.NECKS.register_module(name="HalfRegisteredNeck", module=type("N", (), {}))
            raise ValueError("hook failed half way")

    with pytest.warns(ZooPluginWarning, match="half-plugin.*hook failed half way"):
        record = register_plugin(Half(), "half-plugin")
    assert record.status == "failed"
    from zoo.registry import NECKS

    assert "HalfRegisteredNeck" not in NECKS  # nothing half-registered is left behind
    assert "HRNetBackbone" in BACKBONES


def test_taking_an_existing_name_keeps_the_original():
    load_plugins()
    original = BACKBONES.get("HRNetBackbone")

    class Squatter:
        @hookimpl
        def zoo_register(self, registry):
            registry.BACKBONES.register_module(name="HRNetBackbone", module=type("Fake", (), {}), force=True)

    with pytest.warns(ZooPluginWarning, match="squatter.*HRNetBackbone.*hrnet"):
        register_plugin(Squatter(), "squatter")
    assert BACKBONES.get("HRNetBackbone") is original
    assert ORIGINS[("backbones", "HRNetBackbone")] == "hrnet"


def test_misspelled_hook_is_refused_by_pluggy():
    class Misspelled:
        @hookimpl
        def zoo_registr(self, registry):  # noqa: D401 - the typo is the point
            pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = register_plugin(Misspelled(), "misspelled")
    assert record.status == "failed"
    assert any("misspelled" in str(w.message) for w in caught)
    assert PLUGINS["misspelled"].error


@pytest.mark.slow
def test_pip_installed_example_plugin_is_listed_used_and_removed(tmp_path):
    plugin_dir = REPO / "plugins" / "examples" / "zoo-example-plugin"
    pip = [sys.executable, "-m", "pip"]
    install = subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "-q", str(plugin_dir)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    try:
        listed = _zoo("list", "backbones")
        row = next(line for line in listed.stdout.splitlines() if "TinyConvBackbone" in line)
        assert "example" in row
        config = tmp_path / "tiny_plugin_model.py"
        config.write_text(textwrap.dedent("""
            default_scope = 'zoo'
            model = dict(type='LandmarkDetector', landmark_set='ruler',
                         backbone=dict(type='TinyConvBackbone'),
                         neck=dict(type='HRNetV2Neck'),
                         head=dict(type='HeatmapHead', output_stride=4, sigma=2.0),
                         decoder=dict(type='DarkDecoder'),
                         loss=dict(type='HeatmapMSELoss'))
        """))
        probe = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import torch
            from mmengine.config import Config
            from zoo.registry import MODELS
            model = MODELS.build(Config.fromfile(r'{config}').model).eval()
            coords, scores = model(torch.rand(1, 3, 64, 64))
            print(tuple(coords.shape), type(model.backbone).__name__)
        """)], capture_output=True, text=True, timeout=300)
        assert probe.returncode == 0, probe.stderr
        assert "(1, 2, 2) TinyConvBackbone" in probe.stdout
    finally:
        subprocess.run([*pip, "uninstall", "-y", "-q", "zoo-example-plugin"], capture_output=True, timeout=300)
    after = _zoo("list", "backbones")
    assert "TinyConvBackbone" not in after.stdout
