"""Fixtures for the signal tests: every disposition and the wake-up fd put back.

Signals are process-wide. A test that left a handler installed, or the
interpreter's wake-up fd pointing at a closed socket, would break every test
after it; so each test here runs between a snapshot and a check that the
signals plugin let go of everything.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from loopkit.plugins.signals import channel

#: The signals the tests send themselves (none of them stops pytest).
TEST_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGHUP, signal.SIGINT)


@pytest.fixture(autouse=True)
def restore_signal_state() -> Iterator[None]:
    """Snapshot dispositions and the wake-up fd; restore them after the test."""
    saved = {sig: signal.getsignal(sig) for sig in TEST_SIGNALS}
    wakeup_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup_fd)
    try:
        yield
    finally:
        leftover_owners = dict(channel._owners)
        leftover_loops = list(channel._attached)
        for loop in leftover_loops:
            loop.close()
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(wakeup_fd)
        assert not leftover_loops, "a loop kept signal handlers after the test"
        assert not leftover_owners, "signal ownership left behind"
        assert channel._pair is None, "the signal channel was not closed"
