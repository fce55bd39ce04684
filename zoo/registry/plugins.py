"""Loading plugins: the core's own components, then every ``zoo.plugins`` entry point.

A broken plugin costs only itself: an import error, a raising hook or a name clash is reported as a
warning that names the plugin, and everything else keeps loading. Which plugin registered what is
remembered for ``zoo list``.

``ZOO_PLUGINS`` limits third-party plugins (the built-ins of the ``ceph-zoo`` distribution always load):
unset loads all; empty or ``none`` loads none; ``a,b`` loads only those entry-point names.
"""
from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import threading
import warnings
from dataclasses import dataclass, field

import pluggy

from . import hookspecs
from .registries import ALL

CORE = "core"
OWN_DISTRIBUTION = "ceph-zoo"
ENV_SELECT = "ZOO_PLUGINS"

#: the modules that register the core's components (the built-in plugins are entry points instead).
CORE_MODULES = (
    "zoo.data",
    "zoo.necks",
    "zoo.heads",
    "zoo.decoders",
    "zoo.losses",
    "zoo.models",
    "zoo.evaluation",
    "zoo.engine.hooks",
    "zoo.engine.time_budget",
    "zoo.engine.cpu_autocast",
    "zoo.exporters",
)


class ZooPluginWarning(UserWarning):
    """A plugin could not be loaded completely; the rest of the zoo is unaffected."""


@dataclass
class PluginRecord:
    name: str
    distribution: str
    builtin: bool
    status: str = "loaded"  # loaded | failed | skipped
    error: str = ""
    components: list[tuple[str, str]] = field(default_factory=list)


#: (kind, component name) -> plugin name ("core" for the zoo's own).
ORIGINS: dict[tuple[str, str], str] = {}
#: plugin name -> record, in load order.
PLUGINS: dict[str, PluginRecord] = {}

_lock = threading.RLock()
_loaded = False
_plugin_manager: pluggy.PluginManager | None = None


def _snapshot() -> dict[str, set[str]]:
    return {kind: set(reg._module_dict) for kind, reg in ALL.items()}


def _attribute(before: dict[str, set[str]], owner: str) -> list[tuple[str, str]]:
    added = []
    for kind, reg in ALL.items():
        for name in sorted(set(reg._module_dict) - before[kind]):
            ORIGINS.setdefault((kind, name), owner)
            added.append((kind, name))
    return added


def _warn(message: str) -> None:
    warnings.warn(message, ZooPluginWarning, stacklevel=3)


class _RegistryView:
    """What a plugin's hook sees of one registry: everything, except replacing another's component."""

    def __init__(self, kind: str, registry, plugin: str):
        self._kind, self._registry, self._plugin = kind, registry, plugin

    def __getattr__(self, item):
        return getattr(self._registry, item)

    def register_module(self, name=None, force=False, module=None):
        def register(cls):
            names = name if isinstance(name, (list, tuple)) else [name or cls.__name__]
            for each in names:
                owner = ORIGINS.get((self._kind, each))
                if each in self._registry._module_dict and owner != self._plugin:
                    _warn(
                        f"zoo plugin {self._plugin!r} tried to register {each!r} in {self._kind}, "
                        f"which {owner or 'another component'} already registered; kept the existing one."
                    )
                    continue
                self._registry.register_module(name=each, force=force, module=cls)
                ORIGINS[(self._kind, each)] = self._plugin
            return cls

        return register(module) if module is not None else register


class PluginRegistries:
    """The ``registry`` argument of ``zoo_register``: one attribute per kind, upper case."""

    def __init__(self, plugin: str):
        for kind, reg in ALL.items():
            setattr(self, kind.upper(), _RegistryView(kind, reg, plugin))


def _selected(entry_point_name: str, builtin: bool) -> bool:
    if builtin or ENV_SELECT not in os.environ:
        return True
    wanted = {n.strip() for n in os.environ[ENV_SELECT].split(",") if n.strip()}
    return entry_point_name in wanted - {"none"}


def _entry_points() -> list[md.EntryPoint]:
    return sorted(md.entry_points(group=hookspecs.ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def plugin_manager() -> pluggy.PluginManager:
    global _plugin_manager
    if _plugin_manager is None:
        _plugin_manager = pluggy.PluginManager(hookspecs.PROJECT)
        _plugin_manager.add_hookspecs(hookspecs)
    return _plugin_manager


def register_plugin(plugin, name: str, distribution: str = "", builtin: bool = False) -> PluginRecord:
    """Register one plugin object (a module or any object with a ``zoo_register`` hookimpl).

    Public so that tests and notebooks can add throwaway plugins, as pytest and llm allow.
    """
    with _lock:
        record = PluginRecord(name=name, distribution=distribution, builtin=builtin)
        PLUGINS[name] = record
        pm = plugin_manager()
        try:
            pm.register(plugin, name=name)
            # pluggy accepts hooks it has no spec for until asked; a misspelled hook would silently do nothing
            pm.check_pending()
        except Exception as exc:  # pluggy validation: a misspelled hook, wrong arguments
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            record.status, record.error = "failed", f"{type(exc).__name__}: {exc}"
            _warn(f"zoo plugin {name!r} was not loaded: {record.error}")
            return record
        before = _snapshot()
        for impl in pm.hook.zoo_register.get_hookimpls():
            if impl.plugin_name != name:
                continue
            try:
                impl.function(registry=PluginRegistries(name))
            except Exception as exc:
                _rollback(before)
                pm.unregister(name=name)
                record.status, record.error = "failed", f"{type(exc).__name__}: {exc}"
                _warn(f"zoo plugin {name!r}: zoo_register raised {record.error}; its components were skipped.")
                return record
        record.components = _attribute(before, name)
        return record


def _rollback(before: dict[str, set[str]]) -> None:
    for kind, reg in ALL.items():
        for added in set(reg._module_dict) - before[kind]:
            del reg._module_dict[added]
            ORIGINS.pop((kind, added), None)


def _load_entry_point(ep: md.EntryPoint) -> None:
    dist = ep.dist.name if ep.dist is not None else ""
    builtin = dist == OWN_DISTRIBUTION
    if not _selected(ep.name, builtin):
        PLUGINS[ep.name] = PluginRecord(ep.name, dist, builtin, status="skipped", error=f"not in ${ENV_SELECT}")
        return
    before = _snapshot()
    try:
        plugin = ep.load()
    except Exception as exc:
        _rollback(before)
        PLUGINS[ep.name] = PluginRecord(ep.name, dist, builtin, "failed", f"{type(exc).__name__}: {exc}")
        _warn(f"zoo plugin {ep.name!r} ({ep.value}) failed to import: {type(exc).__name__}: {exc}")
        return
    imported = _attribute(before, ep.name)  # components registered by decorators at import time
    record = register_plugin(plugin, ep.name, dist, builtin)
    record.components = imported + record.components


def load_plugins() -> dict[str, PluginRecord]:
    """Import the core components and every selected plugin, once per process."""
    global _loaded
    with _lock:
        if _loaded:
            return PLUGINS
        _loaded = True
        before = _snapshot()
        for module in CORE_MODULES:
            importlib.import_module(module)
        _attribute(before, CORE)
        for ep in _entry_points():
            if ep.name in PLUGINS:
                continue
            _load_entry_point(ep)
        return PLUGINS


def blame(exc: BaseException) -> str | None:
    """``"<kind> 'Name' of zoo plugin 'p'"`` when ``exc`` was raised inside a plugin's component, else None.

    A plugin's forward that fails mid-training surfaces deep in mmengine's loop; the traceback's innermost
    frame that runs a plugin-registered class (or code in its module) says whose it is.
    """
    by_class: dict[type, tuple[str, str, str]] = {}
    by_module: dict[str, tuple[str, str, str]] = {}
    for (kind, name), owner in list(ORIGINS.items()):
        cls = ALL[kind]._module_dict.get(name) if kind in ALL else None
        if owner == CORE or cls is None:
            continue
        by_class[cls] = (kind, name, owner)
        by_module.setdefault(getattr(cls, "__module__", ""), (kind, name, owner))
    found = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        owner_self = frame.f_locals.get("self")
        hit = by_class.get(type(owner_self)) if owner_self is not None else None
        found = hit or by_module.get(frame.f_globals.get("__name__", "")) or found
        tb = tb.tb_next
    if found is None:
        return None
    kind, name, owner = found
    return f"{kind} {name!r} of zoo plugin {owner!r}"


def origin_of(kind: str, name: str) -> str:
    """The plugin that registered ``name`` in ``kind``: ``core`` for the zoo's own modules (also when they were
    imported before the plugins loaded, which the load-time attribution cannot see), else ``mmengine``."""
    load_plugins()
    owner = ORIGINS.get((kind, name))
    if owner is not None:
        return owner
    registry = ALL.get(kind)
    obj = registry._module_dict.get(name) if registry is not None else None
    module = getattr(obj, "__module__", "") or ""
    return "core" if module == "zoo" or module.startswith("zoo.") else "mmengine"
