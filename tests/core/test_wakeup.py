"""The wake-up fd: readable after signal(), not readable after drain()."""

from __future__ import annotations

import select
import threading

from loopkit.core.wakeup import Wakeup


def _readable(wakeup: Wakeup, timeout: float = 0.0) -> bool:
    readable, _, _ = select.select([wakeup.fileno()], [], [], timeout)
    return bool(readable)


def test_signal_makes_the_fd_readable_and_drain_clears_it() -> None:
    wakeup = Wakeup()
    try:
        assert not _readable(wakeup)
        wakeup.signal()
        assert _readable(wakeup)
        wakeup.drain()
        assert not _readable(wakeup)
    finally:
        wakeup.close()


def test_many_signals_are_cleared_by_one_drain() -> None:
    wakeup = Wakeup()
    try:
        for _ in range(10_000):
            wakeup.signal()
        wakeup.drain()
        assert not _readable(wakeup)
        wakeup.drain()  # draining an empty fd is harmless
    finally:
        wakeup.close()


def test_a_signal_from_another_thread_wakes_a_waiter() -> None:
    wakeup = Wakeup()
    try:
        timer = threading.Timer(0.05, wakeup.signal)
        timer.start()
        assert _readable(wakeup, timeout=5.0)
        timer.join()
    finally:
        wakeup.close()


def test_close_is_idempotent_and_a_late_signal_is_harmless() -> None:
    wakeup = Wakeup()
    wakeup.close()
    wakeup.close()
    wakeup.signal()
    assert wakeup.fileno() == -1
