"""Loading plugins: the core's own components, the built-in plugins, then every other ``zoo.plugins`` entry
point.

A broken plugin costs only itself: an import error, ``sys.exit`` or ``KeyboardInterrupt`` raised by its code,
a raising hook or a name clash is reported as a warning that names the plugin, and everything else keeps
loading. Which plugin registered what is remembered for ``zoo list``.

No plugin can take a name another one holds. The built-ins (the entry points of the ``ceph-zoo`` distribution,
recognised by their distribution, not by name) load first, so a third-party plugin whose name sorts before
``hrnet`` can no longer register ``HRNetBackbone`` before the real one. A clash through the hook is refused
before it happens, and the warning names the plugin that tried. A replacement that bypasses the hook
(``BACKBONES.register_module(force=True)`` at import time, or on the registry object inside the hook) is found
afterwards by comparing every registered class with a snapshot taken before that plugin loaded: the originals
are put back, and the culprit is refused as a whole and named.

A plugin whose import or hook hangs is stopped after ``$ZOO_PLUGIN_TIMEOUT`` seconds (default 60, ``0`` for no
limit; the built-ins are not timed), named, and skipped. Python cannot stop code from outside, so this is done
the way Ctrl-C is: a SIGINT sent to the main thread, which our own handler (installed only while plugins load,
and only over Python's default one or over an ignored SIGINT, as a process started in the background has it; a
Ctrl-C stays ignored there) turns into an exception inside the plugin. That interrupts Python code and
blocking waits (``time.sleep``, sockets, locks), not a C extension that never returns to Python; and where no
handler could be installed (another thread, a program with its own SIGINT handler, Windows) the plugin is
named in a warning at its deadline and then waited for. Threads a stopped plugin started keep running. The
same handler tells a real Ctrl-C (the loading stops, naming the plugin it interrupted) from a plugin that
raises ``KeyboardInterrupt`` itself (that plugin is skipped like any other broken one).

Plugins are code running inside the zoo's process: these checks stop a plugin that shadows another by accident
or by the registry's own means, not one that patches a built-in's class or the zoo's modules directly.

``ZOO_PLUGINS`` limits third-party plugins (the built-ins of the ``ceph-zoo`` distribution always load):
unset loads all; empty or ``none`` loads none; ``a,b`` loads only those entry-point names.
"""
from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import re
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import pluggy

from . import hookspecs
from ._errors import ZooError
from .registries import ALL

CORE = "core"
OWN_DISTRIBUTION = "ceph-zoo"
ENV_SELECT = "ZOO_PLUGINS"
ENV_TIMEOUT = "ZOO_PLUGIN_TIMEOUT"
#: seconds a third-party plugin may take to import and register: long enough for one that imports torch or
#: timm for the first time on a slow disk, short enough that a hung one does not pass for a slow start
DEFAULT_TIMEOUT_S = 60.0

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


class _PluginTimeout(BaseException):
    """Raised inside a plugin whose load outlived ``$ZOO_PLUGIN_TIMEOUT``. A ``BaseException``, so that the
    plugin's own ``except Exception`` cannot swallow it and carry on hanging."""


@dataclass
class PluginRecord:
    name: str
    distribution: str
    builtin: bool
    status: str = "loaded"  # loaded | failed | skipped
    error: str = ""
    components: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0  # how long its import and hook took


#: (kind, component name) -> plugin name ("core" for the zoo's own).
ORIGINS: dict[tuple[str, str], str] = {}
#: plugin name -> record, in load order.
PLUGINS: dict[str, PluginRecord] = {}

_lock = threading.RLock()
_loaded = False
_plugin_manager: pluggy.PluginManager | None = None


@dataclass
class _Snapshot:
    """Every registry's name -> class mapping and the origins, as they were before a plugin loaded."""

    modules: dict[str, dict[str, object]]
    origins: dict[tuple[str, str], str]


def _snapshot() -> _Snapshot:
    return _Snapshot({kind: dict(reg._module_dict) for kind, reg in ALL.items()}, dict(ORIGINS))


def _attribute(before: _Snapshot, owner: str) -> list[tuple[str, str]]:
    added = []
    for kind, reg in ALL.items():
        for name in sorted(set(reg._module_dict) - set(before.modules[kind])):
            ORIGINS.setdefault((kind, name), owner)
            added.append((kind, name))
    return added


def _restore(before: _Snapshot) -> None:
    """Put every registry and the origins back as they were: what a failed plugin added goes, and what it
    replaced or deleted comes back."""
    for kind, reg in ALL.items():
        reg._module_dict.clear()
        reg._module_dict.update(before.modules[kind])
    ORIGINS.clear()
    ORIGINS.update(before.origins)


def _replaced(before: _Snapshot, allowed: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """(kind, name) of every component registered before that is now another class, or gone."""
    return [(kind, name) for kind, reg in ALL.items() for name, obj in before.modules[kind].items()
            if (kind, name) not in allowed and reg._module_dict.get(name) is not obj]


def _warn(message: str) -> None:
    warnings.warn(message, ZooPluginWarning, stacklevel=3)


def _canonical(name: str | None) -> str:
    """A distribution name as pip compares them (PEP 503): ``Ceph_Zoo`` and ``ceph-zoo`` are one project."""
    return re.sub(r"[-_.]+", "-", name or "").lower()


def _is_core_or_builtin(owner: str | None, obj) -> bool:
    if owner is None:  # registered outside any plugin: the core's, when a zoo module defines it
        module = getattr(obj, "__module__", "") or ""
        return module == "zoo" or module.startswith("zoo.")
    return owner == CORE or (owner in PLUGINS and PLUGINS[owner].builtin)


def _holder(owner: str | None, obj) -> str:
    """Who holds a name, for a message: a plugin, the core, or the module of a class registered by hand."""
    if owner == CORE:
        return "the zoo's core"
    if owner is not None:
        return f"plugin {owner!r}"
    where = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"
    return f"{where} (registered outside any plugin)"


class _RegistryView:
    """What a plugin's hook sees of one registry: everything, except replacing another's component.

    A built-in is the one exception: it replaces a name that something other than the core or another built-in
    registered before the plugins loaded (a module the user imported first), so that the built-ins always win.
    """

    def __init__(self, kind: str, registry, plugin: str, builtin: bool, displaced: set[tuple[str, str]]):
        self._kind, self._registry, self._plugin = kind, registry, plugin
        self._builtin, self._displaced = builtin, displaced

    def __getattr__(self, item):
        return getattr(self._registry, item)

    def register_module(self, name=None, force=False, module=None):
        def register(cls):
            names = name if isinstance(name, (list, tuple)) else [name or cls.__name__]
            for each in names:
                existing = self._registry._module_dict.get(each)
                owner = ORIGINS.get((self._kind, each))
                replace = force
                if each in self._registry._module_dict and owner != self._plugin:
                    holder = _holder(owner, existing)
                    if not self._builtin or _is_core_or_builtin(owner, existing):
                        _warn(f"zoo plugin {self._plugin!r} tried to register {each!r} in {self._kind}, "
                              f"which {holder} already registered; refused, kept the existing one.")
                        continue
                    _warn(f"built-in zoo plugin {self._plugin!r} registered {each!r} in {self._kind} over "
                          f"{holder}, which took the name before the plugins loaded; the built-in wins.")
                    self._displaced.add((self._kind, each))
                    replace = True
                self._registry.register_module(name=each, force=replace, module=cls)
                ORIGINS[(self._kind, each)] = self._plugin
            return cls

        return register(module) if module is not None else register


class PluginRegistries:
    """The ``registry`` argument of ``zoo_register``: one attribute per kind, upper case."""

    def __init__(self, plugin: str, builtin: bool = False, displaced: set[tuple[str, str]] | None = None):
        displaced = set() if displaced is None else displaced
        for kind, reg in ALL.items():
            setattr(self, kind.upper(), _RegistryView(kind, reg, plugin, builtin, displaced))


def _selected(entry_point_name: str, builtin: bool) -> bool:
    if builtin or ENV_SELECT not in os.environ:
        return True
    wanted = {n.strip() for n in os.environ[ENV_SELECT].split(",") if n.strip()}
    return entry_point_name in wanted - {"none"}


def _is_builtin(ep: md.EntryPoint) -> bool:
    return ep.dist is not None and _canonical(ep.dist.name) == OWN_DISTRIBUTION


def _entry_points() -> list[md.EntryPoint]:
    """The built-ins first, then the others; each group by name. Load order decides who holds a name, and a
    third-party plugin called ``aaa`` must not get ``HRNetBackbone`` before the built-in ``hrnet``."""
    found = md.entry_points(group=hookspecs.ENTRY_POINT_GROUP)
    return sorted(found, key=lambda ep: (not _is_builtin(ep), ep.name))


def plugin_manager() -> pluggy.PluginManager:
    global _plugin_manager
    if _plugin_manager is None:
        _plugin_manager = pluggy.PluginManager(hookspecs.PROJECT)
        _plugin_manager.add_hookspecs(hookspecs)
    return _plugin_manager


def _unregister(name: str) -> None:
    pm = plugin_manager()
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin=plugin, name=name)


def _exit_text(exc: SystemExit) -> str:
    return f"sys.exit({exc.code!r})" if exc.code is not None else "sys.exit()"


def register_plugin(plugin, name: str, distribution: str = "", builtin: bool = False) -> PluginRecord:
    """Register one plugin object (a module or any object with a ``zoo_register`` hookimpl).

    Public so that tests and notebooks can add throwaway plugins, as pytest and llm allow. The same rules as
    for entry points apply: no taking another's name, no replacing a component behind the hook's back.
    """
    with _lock:
        before = _snapshot()
        record = PluginRecord(name=name, distribution=distribution, builtin=builtin)
        PLUGINS[name] = record
        displaced: set[tuple[str, str]] = set()
        _register(plugin, record, displaced)
        _refuse_replacements(record, before, displaced)
        return record


def _register(plugin, record: PluginRecord, displaced: set[tuple[str, str]]) -> PluginRecord:
    """Register ``plugin`` with pluggy and run its hook; a failure is rolled back and recorded."""
    name = record.name
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
            impl.function(registry=PluginRegistries(name, record.builtin, displaced))
        except BaseException as exc:
            _restore(before)
            _unregister(name)
            if isinstance(exc, (KeyboardInterrupt, _PluginTimeout)):  # the entry-point loader decides
                raise
            what = _exit_text(exc) if isinstance(exc, SystemExit) else f"raised {type(exc).__name__}: {exc}"
            record.status, record.error = "failed", f"zoo_register {what}"
            _warn(f"zoo plugin {name!r}: zoo_register {what}; its components were skipped.")
            return record
    record.components = _attribute(before, name)
    return record


def _refuse_replacements(record: PluginRecord, before: _Snapshot, allowed: set[tuple[str, str]]) -> None:
    """A plugin that replaced or removed a component it does not own, by any route, is refused as a whole."""
    if record.status != "loaded":
        return
    replaced = _replaced(before, allowed)
    if not replaced:
        return
    held = []
    for kind, name in replaced:
        original = before.modules[kind][name]
        now = ALL[kind]._module_dict.get(name)
        put = f"{getattr(now, '__module__', '?')}.{getattr(now, '__name__', now)}"
        how = "removed it" if now is None else f"put {put} there"
        holder = _holder(before.origins.get((kind, name)), original)
        held.append(f"{name!r} in {kind} (held by {holder}; it {how})")
    _restore(before)
    _unregister(record.name)
    record.status, record.components = "failed", []
    record.error = "replaced " + "; ".join(held)
    _warn(f"zoo plugin {record.name!r} replaced components it does not own behind the registry's checks: "
          f"{'; '.join(held)}. Refused: the originals are restored and none of its components were loaded.")


class _LoadGuard:
    """Times each plugin's load, stops one that outlives its deadline, and tells a user's Ctrl-C from a
    ``KeyboardInterrupt`` a plugin raises itself (see the module docstring for what it can and cannot do)."""

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self.current: str | None = None  # the plugin loading now
        self.expired: str | None = None  # the plugin whose deadline the watchdog acted on
        self.user_interrupt = False
        self.handler_installed = False
        self.ignoring = False
        self._previous = None
        # reentrant: the SIGINT handler takes it in the main thread, which may hold it when the signal lands
        self._state = threading.RLock()
        #: SIGINTs the watchdog sent and the handler has not seen yet: a signal is handled when the main thread
        #: next runs Python code, which under load can be after the late plugin finished and the next one began
        self._sent = 0

    def __enter__(self):
        in_main = threading.current_thread() is threading.main_thread()
        current = signal.getsignal(signal.SIGINT)
        # a process started in the background (nohup, `cmd &` in a script) inherits SIGINT ignored: the watchdog
        # still needs the signal, and a Ctrl-C stays ignored (the handler drops every SIGINT it did not send)
        self.ignoring = current == signal.SIG_IGN
        ours_to_take = current is signal.default_int_handler or self.ignoring
        if in_main and ours_to_take and hasattr(signal, "pthread_kill"):
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            self.handler_installed = True
        return self

    def __exit__(self, *exc_info) -> None:
        if self.handler_installed:
            signal.signal(signal.SIGINT, self._previous)
            self.handler_installed = False

    def _on_sigint(self, signum, frame) -> None:
        with self._state:
            ours = self._sent > 0
            if ours:
                self._sent -= 1
        if ours:
            if self.expired is not None and self.expired == self.current:
                raise _PluginTimeout(self.expired)
            return  # the plugin finished as its deadline passed: nothing to stop
        if self.ignoring:
            return  # the process ignores Ctrl-C: so does the loader
        self.user_interrupt = True
        raise KeyboardInterrupt

    @contextmanager
    def watch(self, record: PluginRecord, label: str, timed: bool):
        self.current, self.expired, self.user_interrupt = record.name, None, False
        timer = None
        if timed and self.timeout_s > 0:
            timer = threading.Timer(self.timeout_s, self._deadline, args=(record.name, label))
            timer.daemon = True
            timer.start()
        start = time.monotonic()
        try:
            yield
        finally:
            with self._state:
                self.current = None
            if timer is not None:
                timer.cancel()
            record.seconds = round(time.monotonic() - start, 3)

    def _deadline(self, name: str, label: str) -> None:
        with self._state:
            if self.current != name:
                return
            if self.handler_installed:
                self.expired = name
                self._sent += 1
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                return
        _warn(f"zoo plugin {name!r} ({label}) is still loading after {self.timeout_s:g} s (${ENV_TIMEOUT}) "
              f"and cannot be stopped from here; waiting for it. Leave it out with ${ENV_SELECT} or "
              f"uninstall it.")


def _timeout_s() -> float:
    text = os.environ.get(ENV_TIMEOUT, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        raise ZooError(f"${ENV_TIMEOUT} must be a number of seconds (0 for no limit), got {text!r}")
    return value


def _load_entry_point(ep: md.EntryPoint, guard: _LoadGuard) -> None:
    dist = ep.dist.name if ep.dist is not None else ""
    builtin = _is_builtin(ep)
    if not _selected(ep.name, builtin):
        PLUGINS[ep.name] = PluginRecord(ep.name, dist, builtin, status="skipped",
                                        error=f"not in ${ENV_SELECT}")
        return
    label = f"{ep.value}, from {dist or 'an unknown distribution'}"
    before = _snapshot()
    record = PluginRecord(ep.name, dist, builtin)
    PLUGINS[ep.name] = record
    displaced: set[tuple[str, str]] = set()
    phase = "import"
    try:
        with guard.watch(record, label, timed=not builtin):
            plugin = ep.load()
            imported = _attribute(before, ep.name)  # components registered by decorators at import time
            phase = "hook"
            _register(plugin, record, displaced)
    except BaseException as exc:
        _restore(before)
        _unregister(ep.name)
        record.status, record.components = "failed", []
        during = "while being imported" if phase == "import" else "in its zoo_register hook"
        if isinstance(exc, _PluginTimeout):
            record.error = f"still loading after {guard.timeout_s:g} s; stopped"
            _warn(f"zoo plugin {ep.name!r} ({label}) did not finish loading within {guard.timeout_s:g} s "
                  f"(${ENV_TIMEOUT}); it was stopped {during} and skipped. Threads it started may still run.")
            return
        if isinstance(exc, KeyboardInterrupt):
            in_main = threading.current_thread() is threading.main_thread()
            # ours saw a SIGINT; or none of ours listened, and only the main thread receives a real Ctrl-C
            if guard.user_interrupt or (in_main and not guard.handler_installed):
                record.error = "interrupted (Ctrl-C)"
                _warn(f"interrupted while loading zoo plugin {ep.name!r} ({label}) {during}; stopping. If it "
                      f"hangs, leave it out with ${ENV_SELECT} or uninstall it.")
                raise
            record.error = "raised KeyboardInterrupt"
            _warn(f"zoo plugin {ep.name!r} ({label}) raised KeyboardInterrupt {during} (no Ctrl-C was "
                  f"pressed); it was not loaded.")
            return
        if isinstance(exc, SystemExit):
            record.error = f"called {_exit_text(exc)}"
            _warn(f"zoo plugin {ep.name!r} ({label}) called {_exit_text(exc)} {during}; it was not loaded (a "
                  f"plugin must raise an exception, not end the process).")
            return
        if not isinstance(exc, Exception):
            record.error = type(exc).__name__
            raise
        record.error = f"{type(exc).__name__}: {exc}"
        _warn(f"zoo plugin {ep.name!r} ({ep.value}) failed to import: {record.error}")
        return
    if record.status != "loaded":  # its hook failed: what its import registered goes too
        _restore(before)
        return
    record.components = imported + record.components
    _refuse_replacements(record, before, displaced)


def _name_taken(ep: md.EntryPoint) -> None:
    """Two distributions with one entry-point name: the first loaded (a built-in, if either is) keeps it."""
    held = PLUGINS[ep.name]
    dist = ep.dist.name if ep.dist is not None else ""
    if _canonical(held.distribution) != _canonical(dist):
        _warn(f"zoo plugin {ep.name!r} ({ep.value}, from {dist or 'an unknown distribution'}) was not "
              f"loaded: the plugin name {ep.name!r} is taken by {held.distribution or 'another plugin'}'s. "
              f"Its distribution must name its entry point differently.")


def load_plugins() -> dict[str, PluginRecord]:
    """Import the core components, the built-in plugins, then every selected plugin, once per process.

    A Ctrl-C while a plugin loads stops the loading (naming that plugin); a later call carries on with the
    plugins that were not reached.
    """
    global _loaded
    with _lock:
        if _loaded:
            return PLUGINS
        _loaded = True
        try:
            before = _snapshot()
            for module in CORE_MODULES:
                importlib.import_module(module)
            _attribute(before, CORE)
            with _LoadGuard(_timeout_s()) as guard:
                for ep in _entry_points():
                    if ep.name in PLUGINS:
                        _name_taken(ep)
                        continue
                    _load_entry_point(ep, guard)
        except BaseException:
            _loaded = False
            raise
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


#: mmengine's modules that register what configs name besides the zoo's kinds (loops, optimizers, samplers...)
_MMENGINE_PARTS = ("mmengine.dataset", "mmengine.evaluator", "mmengine.hooks", "mmengine.model", "mmengine.optim",
                   "mmengine.runner", "mmengine.visualization")


def registered_names() -> set[str]:
    """Every name a config's ``type`` may take: what the zoo's registries hold (core and plugins, loaded here)
    and mmengine's own registries with their ``zoo`` children. Anything else would make mmengine import a module
    of that name, which is why a setting nobody vetted (a command-line override, a stored config) must stay
    inside this set."""
    import mmengine.registry as mm
    from mmengine.registry import Registry

    from . import registries as zoo_registries

    load_plugins()
    for part in _MMENGINE_PARTS:  # the Runner imports these anyway; their modules register what configs name
        importlib.import_module(part)
    roots = [obj for module in (mm, zoo_registries) for obj in vars(module).values() if isinstance(obj, Registry)]
    names: set[str] = set()
    seen: set[int] = set()
    while roots:
        registry = roots.pop()
        if id(registry) in seen:
            continue
        seen.add(id(registry))
        registry.import_from_location()
        names.update(registry._module_dict)
        roots.extend(registry._children.values())
    return names
