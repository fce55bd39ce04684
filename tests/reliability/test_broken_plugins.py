"""Broken plugins are reported with their name; the core and the other plugins keep working.

Already covered one at a time in ``tests/registry/test_plugins.py`` (import failure, raising hook,
name squatting, misspelled hook). Here: all of them installed at once beside a healthy third-party
plugin (as pip leaves them), and a plugin whose component builds fine but whose ``forward`` fails in
the middle of ``zoo train``: the one-line error names the component and the plugin.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch.nn as nn
from reliability_helpers import fast_config

from zoo import hookimpl

pytestmark = pytest.mark.timeout(300)

BROKEN = {
    "zoo_rel_bad_import": "import zoo_this_module_does_not_exist\n",
    "zoo_rel_bad_hook": """
        from zoo import hookimpl

        @hookimpl
        def zoo_register(registry):
            registry.NECKS.register_module(name='RelHalfNeck', module=type('RelHalfNeck', (), {}))
            raise RuntimeError('hook exploded half way')
    """,
    "zoo_rel_squatter": """
        from zoo import hookimpl

        class HRNetBackbone:
            '''An impostor.'''

        @hookimpl
        def zoo_register(registry):
            registry.BACKBONES.register_module(module=HRNetBackbone, force=True)
    """,
}
GOOD = """
    import torch.nn as nn
    from zoo import hookimpl

    class RelGoodNeck(nn.Module):
        '''A healthy third-party neck.'''

    @hookimpl
    def zoo_register(registry):
        registry.NECKS.register_module(module=RelGoodNeck)
"""


def _install(site: Path, module: str, source: str) -> None:
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-0.1.dist-info"  # the stem before the first '-' is the distribution's name
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo.plugins]\n{module} = {module}\n")


def test_three_broken_plugins_at_once_beside_a_healthy_one(tmp_path, tally):
    site = tmp_path / "site packages"
    site.mkdir()
    for module, source in {**BROKEN, "zoo_rel_good": GOOD}.items():
        _install(site, module, source)
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run([sys.executable, "-m", "zoo.cli", "list"], capture_output=True, text=True, env=env,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    for module in BROKEN:  # each named, once
        lines = [line for line in result.stderr.splitlines() if module in line]
        assert len(lines) == 1, (module, result.stderr)
        tally("broken plugin (3 kinds at once, entry points)")
    assert "zoo_this_module_does_not_exist" in result.stderr and "hook exploded half way" in result.stderr
    assert "Traceback" not in result.stderr
    rows = {tuple(line.split()[:3]) for line in result.stdout.splitlines() if len(line.split()) >= 3}
    assert ("backbones", "HRNetBackbone", "hrnet") in rows  # the impostor did not replace it
    assert ("necks", "RelGoodNeck", "zoo_rel_good") in rows  # the healthy plugin loaded
    assert not any("RelHalfNeck" in r for r in rows)  # the raising hook's half-registration was rolled back
    assert ("heads", "HeatmapHead", "core") in rows


class ExplodingBackbone(nn.Module):
    """Builds like any backbone; its forward fails (a plugin bug that only shows at run time)."""

    out_channels = [18, 36, 72, 144]
    out_strides = [4, 8, 16, 32]

    def __init__(self, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(3, 18, 3)

    def forward(self, x):
        raise RuntimeError("tensor shapes do not match in ExplodingBackbone.forward")


class Exploding:
    @hookimpl
    def zoo_register(self, registry):
        registry.BACKBONES.register_module(module=ExplodingBackbone)


def test_a_component_whose_forward_fails_is_named_with_its_plugin(tmp_path, tiny_data, capsys, tally):
    import torch

    from zoo.cli import main
    from zoo.registry import MODELS, load_plugins, register_plugin

    load_plugins()
    assert register_plugin(Exploding(), "zoo-rel-exploding").status == "loaded"
    config = fast_config(tmp_path, tiny_data, max_iters=2, interval=2)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(config), "--work-dir", str(tmp_path / "w"), "--no-test", "--cfg-options",
              "model.backbone.type=ExplodingBackbone"])
    err = capsys.readouterr().err
    assert exit_info.value.code != 0
    line = next(line for line in err.splitlines() if line.startswith("error:"))
    assert "ExplodingBackbone" in line and "zoo-rel-exploding" in line, line
    assert "Traceback" not in err
    tally("plugin component whose forward fails (zoo train)")

    # the core and the built-in plugins still build and run in the same process
    from mmengine.config import Config

    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model).eval()
    with torch.inference_mode():
        coords, scores = model(torch.rand(1, 3, 64, 64), mode="tensor")
    assert coords.shape == (1, 31, 2) and torch.isfinite(coords).all()
