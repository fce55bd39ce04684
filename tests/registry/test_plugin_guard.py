"""The plugin loader's watchdog: its own SIGINT is never taken for a user's Ctrl-C, and it works in a process that
ignores SIGINT (one started in the background, as nohup or `cmd &` in a script start it).

On a loaded machine the watchdog's signal for a slow plugin can be handled only after that plugin finished and the
next one began loading; it must then be dropped, not turned into 'interrupted while loading' for the next plugin.
A process that ignores SIGINT used to get no handler at all: the watchdog could not stop a hanging plugin, and a
plugin that raised KeyboardInterrupt itself was taken for a Ctrl-C (`zoo predict` exited 130).
"""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

import pytest

from zoo.registry.plugins import PluginRecord, _LoadGuard, _PluginTimeout

pytestmark = pytest.mark.skipif(sys.platform == "win32" or not hasattr(signal, "pthread_sigmask"),
                                reason="POSIX signals")


@contextmanager
def sigint(handler):
    """SIGINT set to ``handler`` (as a process starts with it), whatever an earlier test left there."""
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def deadline_passes(guard: _LoadGuard, name: str) -> None:
    """The watchdog's timer fires for ``name``, in its own thread as the loader's does."""
    timer = threading.Thread(target=guard._deadline, args=(name, name))
    timer.start()
    timer.join()


def run_python_a_while() -> None:
    for _ in range(10000):  # a signal's Python handler runs between bytecodes of the main thread
        pass


def test_a_late_watchdog_signal_for_a_finished_plugin_is_dropped():
    with sigint(signal.default_int_handler), _LoadGuard(timeout_s=60) as guard:
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
        try:
            with guard.watch(PluginRecord("slow", "slow-dist", False), "slow", timed=False):
                deadline_passes(guard, "slow")  # the signal waits behind the main thread's mask
            with guard.watch(PluginRecord("next", "next-dist", False), "next", timed=False):
                signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])  # delivered while 'next' loads
                run_python_a_while()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    assert not guard.user_interrupt


@pytest.mark.parametrize("started_with", ["default", "ignored"])
def test_the_watchdog_stops_a_late_plugin_and_a_ctrl_c_does_what_the_process_asked(started_with):
    handler = signal.default_int_handler if started_with == "default" else signal.SIG_IGN
    with sigint(handler):
        with _LoadGuard(timeout_s=60) as guard:
            assert guard.handler_installed
            with pytest.raises(_PluginTimeout):
                with guard.watch(PluginRecord("slow", "slow-dist", False), "slow", timed=False):
                    deadline_passes(guard, "slow")
                    run_python_a_while()
            with guard.watch(PluginRecord("next", "next-dist", False), "next", timed=False):
                if started_with == "default":
                    with pytest.raises(KeyboardInterrupt):
                        signal.raise_signal(signal.SIGINT)
                        run_python_a_while()
                else:
                    signal.raise_signal(signal.SIGINT)  # ignored, as the process asked
                    run_python_a_while()
            assert guard.user_interrupt == (started_with == "default")
        assert signal.getsignal(signal.SIGINT) == handler  # given back as it was
