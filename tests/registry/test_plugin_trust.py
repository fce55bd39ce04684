"""Plugins cannot shadow each other; one that exits, interrupts or hangs while loading is named and skipped.

In this process, through ``register_plugin`` and the entry-point loader on throwaway modules; the same attacks
installed as entry points beside the built-ins, through ``zoo predict isbi19``, are in
``tests/reliability/test_trust_plugins.py``.
"""
from __future__ import annotations

import importlib.metadata as md
import signal
import sys
import textwrap
import threading
import time
import warnings

import pytest

from zoo import hookimpl
from zoo.registry import (
    BACKBONES,
    HEADS,
    NECKS,
    ORIGINS,
    PLUGINS,
    ZooPluginWarning,
    load_plugins,
    register_plugin,
)
from zoo.registry import plugins as loader


@pytest.fixture
def clean_registries():
    """What a test's plugins leave in the registries, the origins and the plugin table is undone after it."""
    load_plugins()
    before, records = loader._snapshot(), dict(PLUGINS)
    yield
    loader._restore(before)
    PLUGINS.clear()
    PLUGINS.update(records)


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """``make(name, source)``: a module on ``sys.path`` and an entry point naming it, as if installed."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made = []

    def make(name: str, source: str) -> md.EntryPoint:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        made.append(name)
        return md.EntryPoint(name=name, value=name, group="zoo.plugins")

    yield make
    for name in made:
        sys.modules.pop(name, None)


def _messages(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ZooPluginWarning)]


def test_replacing_a_builtin_behind_the_hook_is_refused_and_the_culprit_named(clean_registries):
    """``force=True`` on the registry itself, not on the view the hook is given: found after the hook ran."""
    original = BACKBONES.get("HRNetBackbone")

    class Impostor:
        pass

    class Sneaky:
        @hookimpl
        def zoo_register(self, registry):
            registry.NECKS.register_module(name="SneakyOwnNeck", module=type("SneakyOwnNeck", (), {}))
            BACKBONES.register_module(name="HRNetBackbone", module=Impostor, force=True)

    with pytest.warns(ZooPluginWarning) as caught:
        record = register_plugin(Sneaky(), "sneaky-plugin")
    message = next(m for m in _messages(caught) if "sneaky-plugin" in m)
    assert "'HRNetBackbone' in backbones" in message and "plugin 'hrnet'" in message and "Refused" in message
    assert record.status == "failed" and record.components == []
    assert BACKBONES.get("HRNetBackbone") is original
    assert ORIGINS[("backbones", "HRNetBackbone")] == "hrnet"
    assert "SneakyOwnNeck" not in NECKS  # refused as a whole: nothing of it stays


def test_replacing_a_core_component_at_import_is_refused(clean_registries, plugin_module):
    """What ``register_module(force=True)`` in a plugin's module body does, through the entry-point loader."""
    original = HEADS.get("HeatmapHead")
    ep = plugin_module("zoo_test_force_at_import", """
        from zoo.registry import HEADS

        @HEADS.register_module(name='HeatmapHead', force=True)
        class HeatmapHead:
            '''An impostor.'''
    """)
    with _guard() as guard, pytest.warns(ZooPluginWarning) as caught:
        loader._load_entry_point(ep, guard)
    message = next(m for m in _messages(caught) if "zoo_test_force_at_import" in m)
    assert "'HeatmapHead' in heads" in message and "the zoo's core" in message
    assert "zoo_test_force_at_import.HeatmapHead" in message
    assert HEADS.get("HeatmapHead") is original
    assert PLUGINS["zoo_test_force_at_import"].status == "failed"


def test_removing_another_plugins_component_is_refused(clean_registries):
    original = BACKBONES.get("ResNetBackbone")

    class Remover:
        @hookimpl
        def zoo_register(self, registry):
            del BACKBONES._module_dict["ResNetBackbone"]

    with pytest.warns(ZooPluginWarning, match=r"remover.*'ResNetBackbone'.*removed it"):
        register_plugin(Remover(), "remover")
    assert BACKBONES.get("ResNetBackbone") is original


def test_a_clash_through_the_hook_names_the_plugin_that_tried(clean_registries):
    original = BACKBONES.get("ResNetBackbone")

    class Squatter:
        @hookimpl
        def zoo_register(self, registry):
            registry.BACKBONES.register_module(name="ResNetBackbone", module=type("R", (), {}))

    with pytest.warns(ZooPluginWarning) as caught:
        record = register_plugin(Squatter(), "late-squatter")
    (message,) = [m for m in _messages(caught) if "ResNetBackbone" in m]
    assert message.startswith("zoo plugin 'late-squatter' tried to register 'ResNetBackbone'")
    assert "plugin 'resnet' already registered" in message
    assert record.status == "loaded" and BACKBONES.get("ResNetBackbone") is original


def test_a_builtin_wins_over_a_name_taken_before_the_plugins_loaded(clean_registries):
    """A module the user imported first registered the name by hand: the built-in still gets it, saying so."""

    class Early:
        pass

    class Genuine:
        pass

    NECKS.register_module(name="ZooTestContestedNeck", module=Early)

    class BuiltinLike:
        @hookimpl
        def zoo_register(self, registry):
            registry.NECKS.register_module(name="ZooTestContestedNeck", module=Genuine)

    expected = r"built-in zoo plugin 'zoo-test-builtin'.*Early.*built-in wins"
    with pytest.warns(ZooPluginWarning, match=expected):
        record = register_plugin(BuiltinLike(), "zoo-test-builtin", "ceph-zoo", builtin=True)
    assert record.status == "loaded"
    assert NECKS.get("ZooTestContestedNeck") is Genuine
    assert ORIGINS[("necks", "ZooTestContestedNeck")] == "zoo-test-builtin"


def test_builtins_are_known_by_their_distribution_and_load_first():
    eps = loader._entry_points()
    builtin = [ep.name for ep in eps if loader._is_builtin(ep)]
    assert {"hrnet", "resnet", "ceph31"} <= set(builtin)
    assert [ep.name for ep in eps[: len(builtin)]] == sorted(builtin)  # before any third-party one
    assert loader._canonical("Ceph_Zoo") == loader._canonical("ceph.zoo") == loader.OWN_DISTRIBUTION


#: what the loader installs its own SIGINT handler over: Python's default, or SIGINT ignored (a background process)
TAKEN_OVER = (signal.default_int_handler, signal.SIG_IGN)


@pytest.mark.parametrize("body, said", [
    ("import sys\nsys.exit(3)\n", "called sys.exit(3) while being imported"),
    ("raise SystemExit\n", "called sys.exit() while being imported"),
    ("raise KeyboardInterrupt\n", "raised KeyboardInterrupt while being imported (no Ctrl-C was pressed)"),
])
def test_exit_or_interrupt_raised_by_a_plugin_is_named_and_loading_goes_on(body, said, clean_registries,
                                                                            plugin_module):
    if "KeyboardInterrupt" in body and signal.getsignal(signal.SIGINT) not in TAKEN_OVER:
        pytest.skip("another SIGINT handler is installed: a KeyboardInterrupt could be a real Ctrl-C")
    registers = ("from zoo.registry import NECKS\n"
                 "NECKS.register_module(name='QuitterNeck', module=type('Q', (), {}))\n")
    ep = plugin_module("zoo_test_quits", registers + body)
    with _guard() as guard, pytest.warns(ZooPluginWarning) as caught:
        loader._load_entry_point(ep, guard)  # returns: no SystemExit, no KeyboardInterrupt escapes
    (message,) = [m for m in _messages(caught) if "zoo_test_quits" in m]
    assert said in message and "it was not loaded" in message
    assert PLUGINS["zoo_test_quits"].status == "failed"
    assert "QuitterNeck" not in NECKS  # what it registered before quitting is rolled back


def test_exit_in_a_hook_is_named(clean_registries):
    class Exits:
        @hookimpl
        def zoo_register(self, registry):
            registry.NECKS.register_module(name="ExitingNeck", module=type("E", (), {}))
            sys.exit(4)

    with pytest.warns(ZooPluginWarning, match=r"'exits-in-hook': zoo_register sys.exit\(4\)"):
        record = register_plugin(Exits(), "exits-in-hook")
    assert record.status == "failed" and "ExitingNeck" not in NECKS


def test_a_hanging_import_is_stopped_at_its_deadline_and_named(clean_registries, plugin_module):
    before = signal.getsignal(signal.SIGINT)
    if before not in TAKEN_OVER:
        pytest.skip("another SIGINT handler is installed: the loader only warns then (tested below)")
    ep = plugin_module("zoo_test_hangs", """
        import time
        try:
            time.sleep(60)
        except Exception:  # a plugin that swallows errors must not swallow its deadline
            time.sleep(60)
    """)
    start = time.monotonic()
    with _guard(0.5) as guard, pytest.warns(ZooPluginWarning) as caught:
        loader._load_entry_point(ep, guard)
    assert time.monotonic() - start < 10
    (message,) = [m for m in _messages(caught) if "zoo_test_hangs" in m]
    assert "did not finish loading within 0.5 s ($ZOO_PLUGIN_TIMEOUT)" in message and "skipped" in message
    assert PLUGINS["zoo_test_hangs"].status == "failed"
    assert signal.getsignal(signal.SIGINT) == before  # handed back after loading


def test_where_it_cannot_be_stopped_a_slow_plugin_is_named_at_its_deadline(clean_registries, plugin_module):
    """Off the main thread no signal reaches the plugin: the warning names it, then the load is waited for."""
    ep = plugin_module("zoo_test_slow", """
        import time
        from zoo.registry import NECKS
        time.sleep(1.5)
        NECKS.register_module(name='SlowButFineNeck', module=type('S', (), {}))
    """)
    caught: list = []

    def load():
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with loader._LoadGuard(0.3) as guard:
                assert not guard.handler_installed
                loader._load_entry_point(ep, guard)
        caught.extend(seen)

    thread = threading.Thread(target=load)
    thread.start()
    thread.join(30)
    (message,) = [m for m in _messages(caught) if "zoo_test_slow" in m]
    assert "still loading after 0.3 s" in message and "cannot be stopped from here" in message
    assert PLUGINS["zoo_test_slow"].status == "loaded" and "SlowButFineNeck" in NECKS
    assert PLUGINS["zoo_test_slow"].seconds >= 1.5


def test_a_real_ctrl_c_during_a_plugin_import_stops_loading_and_names_the_plugin(clean_registries,
                                                                                 plugin_module):
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("another SIGINT handler is installed")
    ep = plugin_module("zoo_test_ctrl_c", "import time\ntime.sleep(60)\n")
    ctrl_c = threading.Timer(0.5, signal.pthread_kill, args=(threading.main_thread().ident, signal.SIGINT))
    ctrl_c.start()
    with pytest.raises(KeyboardInterrupt), pytest.warns(ZooPluginWarning) as caught, _guard(30) as guard:
        loader._load_entry_point(ep, guard)
    (message,) = [m for m in _messages(caught) if "zoo_test_ctrl_c" in m]
    assert message.startswith("interrupted while loading zoo plugin 'zoo_test_ctrl_c'")
    assert "ZOO_PLUGINS" in message
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_timeout_that_is_not_a_number_is_a_clear_error(monkeypatch):
    from zoo.errors import ZooError

    monkeypatch.setenv(loader.ENV_TIMEOUT, "soon")
    with pytest.raises(ZooError, match=r"\$ZOO_PLUGIN_TIMEOUT must be a number of seconds .* got 'soon'"):
        loader._timeout_s()
    monkeypatch.setenv(loader.ENV_TIMEOUT, "0")
    assert loader._timeout_s() == 0


def _guard(timeout_s: float = 30):
    return loader._LoadGuard(timeout_s)
