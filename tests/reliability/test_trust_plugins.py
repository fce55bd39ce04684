"""Plugins that try to shadow a built-in, or exit, interrupt or hang while importing, installed as pip leaves them.

Issue #33 (item 6): a plugin whose entry point sorts before ``hrnet`` used to get ``HRNetBackbone`` first, with
the warning blaming the built-in, and ``zoo predict isbi19`` built the impostor; ``register_module(force=True)``
at import replaced a class silently while ``zoo list`` still named ``hrnet``; ``sys.exit(3)`` or
``KeyboardInterrupt`` in a plugin's import ended every ``zoo`` command with no message. Here all of them are
installed at once, as entry points of their own distributions, and the real commands run. Each impostor writes
a marker file when it is built, so "not built" is observed, not assumed. The same attacks one at a time, in this
process, are in ``tests/registry/test_plugin_trust.py``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from reliability_helpers import SUBPROCESS_ENV

pytestmark = pytest.mark.timeout(300)

IMPOSTOR = """
    import os
    from pathlib import Path


    class Impostor:
        '''Built only if the attack worked: leaves a marker, then fails loudly.'''

        def __init__(self, *args, **kwargs):
            Path(os.environ['ZOO_TRUST_MARKERS'], __name__).write_text('built')
            raise RuntimeError(f'the impostor of {__name__} was built')
"""

#: module -> (distribution, entry-point name, source). The names sort before every built-in's.
PLUGINS = {
    "aaa_shadow": ("aaa-shadow", "aaa_shadow", IMPOSTOR + """
    from zoo import hookimpl


    @hookimpl
    def zoo_register(registry):
        registry.BACKBONES.register_module(name='HRNetBackbone', module=Impostor)
    """),
    "aab_force_at_import": ("aab-force", "aab_force_at_import", IMPOSTOR + """
    from zoo.registry import BACKBONES
    from zoo import hookimpl

    BACKBONES.register_module(name='HRNetBackbone', module=Impostor, force=True)


    @hookimpl
    def zoo_register(registry):
        registry.NECKS.register_module(name='AabOwnNeck', module=type('AabOwnNeck', (), {}))
    """),
    "aac_force_in_hook": ("aac-force", "aac_force_in_hook", IMPOSTOR + """
    from zoo import hookimpl


    @hookimpl
    def zoo_register(registry):
        from zoo.registry import HEADS  # the registry itself, not the view the hook is given

        HEADS.register_module(name='HeatmapHead', module=Impostor, force=True)
    """),
    "aad_exits": ("aad-exits", "aad_exits", "import sys\nsys.exit(3)\n"),
    "aae_interrupts": ("aae-interrupts", "aae_interrupts", "raise KeyboardInterrupt\n"),
    "aaf_hangs": ("aaf-hangs", "aaf_hangs", "import time\ntime.sleep(600)\n"),
    # a second distribution that calls its entry point `hrnet`, like the built-in
    "aag_named_hrnet": ("aag-named-hrnet", "hrnet", IMPOSTOR + """
    from zoo import hookimpl


    @hookimpl
    def zoo_register(registry):
        registry.BACKBONES.register_module(name='HRNetBackbone', module=Impostor, force=True)
    """),
}
#: module -> what its one warning line must say
SAID = {
    "aaa_shadow": "zoo plugin 'aaa_shadow' tried to register 'HRNetBackbone' in backbones, which plugin 'hrnet' "
                  "already registered; refused",
    "aab_force_at_import": "zoo plugin 'aab_force_at_import' replaced components it does not own",
    "aac_force_in_hook": "zoo plugin 'aac_force_in_hook' replaced components it does not own",
    "aad_exits": "zoo plugin 'aad_exits' (aad_exits, from aad-exits) called sys.exit(3) while being imported",
    "aae_interrupts": "zoo plugin 'aae_interrupts' (aae_interrupts, from aae-interrupts) raised KeyboardInterrupt",
    "aaf_hangs": "zoo plugin 'aaf_hangs' (aaf_hangs, from aaf-hangs) did not finish loading within 3 s",
    "aag_named_hrnet": "zoo plugin 'hrnet' (aag_named_hrnet, from aag-named-hrnet) was not loaded: the plugin "
                       "name 'hrnet' is taken by ceph-zoo's",
}


def _install(site: Path, module: str, dist: str, entry: str, source: str) -> None:
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo.plugins]\n{entry} = {module}\n")


@pytest.fixture
def hostile_site(tmp_path):
    site = tmp_path / "site packages"
    site.mkdir()
    for module, (dist, entry, source) in PLUGINS.items():
        _install(site, module, dist, entry, source)
    markers = tmp_path / "markers"
    markers.mkdir()
    env = dict(os.environ, **SUBPROCESS_ENV, PYTHONPATH=str(site), ZOO_TRUST_MARKERS=str(markers),
               ZOO_PLUGIN_TIMEOUT="3")
    return env, markers


def _zoo(args, env) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True, text=True, env=env,
                            timeout=240)
    return result, time.monotonic() - start


def test_no_plugin_shadows_a_builtin_and_each_attacker_is_named(hostile_site, tmp_path, tally):
    import cv2
    import numpy as np

    env, markers = hostile_site
    image = tmp_path / "ceph.png"
    head = np.zeros((400, 320), np.uint8)
    cv2.ellipse(head, (160, 200), (100, 140), 0, 0, 360, 200, -1)
    cv2.imwrite(str(image), head)

    predicted, seconds = _zoo(["predict", "isbi19", str(image), "--format", "json"], env)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert '"landmarks"' in predicted.stdout
    assert not list(markers.iterdir()), "an impostor was built"  # isbi19 got the genuine HRNet and heads
    assert "Traceback" not in predicted.stderr
    for module, said in SAID.items():
        lines = [line for line in predicted.stderr.splitlines() if module in line or f"'{module}'" in line]
        assert len(lines) == 1, (module, predicted.stderr)
        assert said in lines[0], lines[0]
        tally(f"hostile plugin: {module}")
    assert seconds < 120  # the hang cost its 3 s deadline, not 600 s

    listed, _ = _zoo(["list"], env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    rows = {tuple(line.split()[:3]) for line in listed.stdout.splitlines() if len(line.split()) >= 3}
    assert ("backbones", "HRNetBackbone", "hrnet") in rows
    assert ("heads", "HeatmapHead", "core") in rows
    assert not any("AabOwnNeck" in r for r in rows)  # a plugin caught replacing is refused as a whole

    plugins, _ = _zoo(["plugins"], env)
    status = {line.split()[0]: line for line in plugins.stdout.splitlines()[2:] if line.strip()}
    assert "loaded" in status["hrnet"] and "built-in" in status["hrnet"]
    for module in ("aab_force_at_import", "aac_force_in_hook", "aad_exits", "aae_interrupts", "aaf_hangs"):
        assert "failed" in status[module], status[module]
    assert "loaded" in status["aaa_shadow"]  # its clash was refused; the plugin itself had nothing else
