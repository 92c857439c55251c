"""``loop.time`` replaced on a loop instance drives the scheduler, as in asyncio.

Web frameworks' test suites do ``mock.patch.object(loop, "time")`` and expect
``call_later`` and the run loop to follow the patched clock, and the real
clock to come back when the patch ends. Each test runs on asyncio's loop and
on loopkit's (fixture ``any_loop``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock


@contextmanager
def _watchdog(loop: asyncio.AbstractEventLoop, seconds: float = 5.0) -> Iterator[None]:
    """Stop ``loop`` from another thread if a test would otherwise hang."""
    timer = threading.Timer(seconds, loop.call_soon_threadsafe, args=(loop.stop,))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()


def test_a_clock_patched_on_a_running_loop_fires_a_timer_it_jumps_past(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    fired: list[str] = []

    async def main() -> list[str]:
        any_loop.call_later(3600, fired.append, "an hour later")
        jumped = any_loop.time() + 7200
        with mock.patch.object(any_loop, "time", return_value=jumped):
            for _ in range(3):
                await asyncio.sleep(0)
        return list(fired)

    with _watchdog(any_loop):
        assert any_loop.run_until_complete(main()) == ["an hour later"]


def test_call_later_reads_the_patched_clock(any_loop: asyncio.AbstractEventLoop) -> None:
    with mock.patch.object(any_loop, "time", return_value=1000.0):
        timer = any_loop.call_later(5, print)
    timer.cancel()
    assert timer.when() == 1005.0


def test_a_clock_patched_before_the_run_drives_it(any_loop: asyncio.AbstractEventLoop) -> None:
    fired: list[str] = []
    any_loop.call_later(3600, fired.append, "an hour later")
    any_loop.call_later(3601, any_loop.stop)
    jumped = any_loop.time() + 7200
    with mock.patch.object(any_loop, "time", return_value=jumped), _watchdog(any_loop):
        any_loop.run_forever()
    assert fired == ["an hour later"]


def test_the_real_clock_comes_back_when_the_patch_ends(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    async def main() -> float:
        with mock.patch.object(any_loop, "time", return_value=any_loop.time() + 7200):
            await asyncio.sleep(0)
        started = time.monotonic()
        await asyncio.sleep(0.05)
        return time.monotonic() - started

    with _watchdog(any_loop):
        slept = any_loop.run_until_complete(main())
    assert 0.04 <= slept < 4
    assert "time" not in vars(any_loop)
    before = time.monotonic()
    assert before <= any_loop.time() <= time.monotonic()


def test_an_assigned_clock_is_what_loop_time_returns(any_loop: asyncio.AbstractEventLoop) -> None:
    def clock() -> float:
        return 42.0

    any_loop.time = clock  # type: ignore[method-assign]
    try:
        assert any_loop.time() == 42.0
        timer = any_loop.call_later(1, print)
        timer.cancel()
        assert timer.when() == 43.0
    finally:
        del any_loop.time
