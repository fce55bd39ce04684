"""The plugin loader's watchdog: its own late SIGINT is never taken for a user's Ctrl-C.

On a loaded machine the watchdog's signal for a slow plugin can be handled only after that plugin finished and the
next one began loading; it must then be dropped, not turned into 'interrupted while loading' for the next plugin
(which made `zoo predict` exit 130 under load, beside a plugin that merely raised KeyboardInterrupt itself).
"""
from __future__ import annotations

import signal
import sys
import threading

import pytest

from zoo.registry.plugins import PluginRecord, _LoadGuard, _PluginTimeout


def deadline_passes(guard: _LoadGuard, name: str) -> None:
    """The watchdog's timer fires for ``name``, in its own thread as the loader's does."""
    timer = threading.Thread(target=guard._deadline, args=(name, name))
    timer.start()
    timer.join()

pytestmark = pytest.mark.skipif(sys.platform == "win32" or not hasattr(signal, "pthread_sigmask"),
                                reason="POSIX signal masks")


def test_a_late_watchdog_signal_for_a_finished_plugin_is_dropped():
    with _LoadGuard(timeout_s=60) as guard:
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
        try:
            with guard.watch(PluginRecord("slow", "slow-dist", False), "slow", timed=False):
                deadline_passes(guard, "slow")  # the signal waits behind the main thread's mask
            with guard.watch(PluginRecord("next", "next-dist", False), "next", timed=False):
                signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])  # delivered while 'next' loads
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    assert not guard.user_interrupt


def test_a_watchdog_signal_in_time_stops_the_late_plugin_and_a_real_ctrl_c_still_interrupts():
    with _LoadGuard(timeout_s=60) as guard:
        with pytest.raises(_PluginTimeout):
            with guard.watch(PluginRecord("slow", "slow-dist", False), "slow", timed=False):
                deadline_passes(guard, "slow")
                for _ in range(1000):  # the handler runs at the next bytecode boundaries
                    pass
        with pytest.raises(KeyboardInterrupt):
            with guard.watch(PluginRecord("next", "next-dist", False), "next", timed=False):
                signal.raise_signal(signal.SIGINT)
                for _ in range(1000):
                    pass
        assert guard.user_interrupt
