"""call_later / call_at and TimerHandle, on the loop's monotonic clock."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any
from unittest import mock

import pytest

import loopkit


def test_loop_time_is_the_monotonic_clock(any_loop: asyncio.AbstractEventLoop) -> None:
    before = time.monotonic()
    now = any_loop.time()
    after = time.monotonic()
    assert before <= now <= after


def test_call_later_returns_a_timer_handle_due_delay_seconds_from_now(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    start = any_loop.time()
    timer = any_loop.call_later(30, print)
    assert isinstance(timer, asyncio.TimerHandle)
    assert start + 30 <= timer.when() <= any_loop.time() + 30
    at = any_loop.call_at(start + 12.5, print)
    assert isinstance(at, asyncio.TimerHandle)
    assert at.when() == start + 12.5


def test_timer_fires_no_earlier_than_its_deadline(any_loop: asyncio.AbstractEventLoop) -> None:
    fired: list[float] = []
    timer = any_loop.call_later(0.05, lambda: (fired.append(any_loop.time()), any_loop.stop()))
    any_loop.run_forever()
    assert len(fired) == 1
    # Within the clock resolution, as asyncio allows.
    assert fired[0] >= timer.when() - time.get_clock_info("monotonic").resolution


def test_timers_run_in_deadline_order(any_loop: asyncio.AbstractEventLoop) -> None:
    calls: list[str] = []
    now = any_loop.time()
    any_loop.call_at(now + 0.03, calls.append, "third")
    any_loop.call_at(now + 0.01, calls.append, "first")
    any_loop.call_at(now + 0.02, calls.append, "second")
    any_loop.call_at(now + 0.04, any_loop.stop)
    any_loop.run_forever()
    assert calls == ["first", "second", "third"]


def test_equal_deadlines_fire_in_scheduling_order(loop: asyncio.AbstractEventLoop) -> None:
    """A loopkit guarantee that asyncio lacks.

    asyncio's heap of TimerHandles is not stable: timers with one deadline
    run in an arbitrary order (see the asyncio variant below). loopkit breaks
    ties by scheduling order, so they run first-scheduled, first-run.
    """
    calls: list[int] = []
    when = loop.time() + 0.01
    for i in range(50):
        loop.call_at(when, calls.append, i)
    loop.call_at(when, loop.stop)
    loop.run_forever()
    assert calls == list(range(50))


def test_asyncio_itself_does_not_order_equal_deadlines() -> None:
    """Why the test above is loopkit-only: it would fail on asyncio's loop."""
    reference = asyncio.new_event_loop()
    try:
        calls: list[int] = []
        when = reference.time() + 0.01
        for i in range(50):
            reference.call_at(when, calls.append, i)
        reference.call_at(when + 0.01, reference.stop)
        reference.run_forever()
        assert sorted(calls) == list(range(50))
        assert calls != list(range(50))
    finally:
        reference.close()


def test_cancelled_timer_never_runs(any_loop: asyncio.AbstractEventLoop) -> None:
    calls: list[str] = []
    timer = any_loop.call_later(0.01, calls.append, "cancelled")
    assert not timer.cancelled()
    timer.cancel()
    assert timer.cancelled()
    timer.cancel()  # twice is harmless
    any_loop.call_later(0.02, any_loop.stop)
    any_loop.run_forever()
    assert calls == []


def test_timer_cancelled_after_it_became_due_does_not_run(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    calls: list[str] = []
    when = any_loop.time() + 0.01
    # Both are due in the same iteration; the first cancels the second.
    second: list[asyncio.TimerHandle] = []
    any_loop.call_at(when, lambda: second[0].cancel())
    second.append(any_loop.call_at(when, calls.append, "second"))
    any_loop.call_at(when + 0.01, any_loop.stop)
    any_loop.run_forever()
    assert calls == []


def test_many_cancelled_timers_are_compacted_away(any_loop: asyncio.AbstractEventLoop) -> None:
    timers = [any_loop.call_later(3600 + i, print) for i in range(1000)]
    assert len(any_loop._scheduled) == 1000  # type: ignore[attr-defined]
    # Cancel the *later* timers: the head of the heap stays live, so only a
    # compaction (not the lazy drop of cancelled timers at the head) removes them.
    for timer in timers[100:]:
        timer.cancel()
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert len(any_loop._scheduled) == 100  # type: ignore[attr-defined]
    for timer in timers[:100]:
        timer.cancel()


def test_cancelled_timer_at_the_head_is_dropped_without_compaction(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    first = any_loop.call_later(3600, print)
    any_loop.call_later(7200, print)
    first.cancel()
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert len(any_loop._scheduled) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("delay", [10**9, 1e12, float("inf")])
def test_very_long_delays_do_not_break_the_poller(
    poller_loop: asyncio.AbstractEventLoop, delay: float
) -> None:
    calls: list[str] = []
    far = poller_loop.call_later(delay, calls.append, "far")
    poller_loop.call_later(0.01, calls.append, "near")
    poller_loop.call_later(0.02, poller_loop.stop)
    poller_loop.run_forever()
    assert calls == ["near"]
    assert not far.cancelled()
    far.cancel()


def test_a_loop_with_only_a_far_timer_still_wakes_for_a_thread(
    poller_loop: asyncio.AbstractEventLoop,
) -> None:
    import threading

    poller_loop.call_later(10**9, print)
    thread = threading.Timer(0.05, poller_loop.call_soon_threadsafe, args=(poller_loop.stop,))
    thread.start()
    poller_loop.run_forever()
    thread.join()


def test_none_delay_or_deadline_is_a_type_error(any_loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError):
        any_loop.call_later(None, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        any_loop.call_at(None, print)  # type: ignore[arg-type]


def test_asyncio_sleep_uses_the_timers(any_loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> float:
        start = any_loop.time()
        await asyncio.sleep(0.05)
        return any_loop.time() - start

    assert any_loop.run_until_complete(main()) >= 0.04


class _ShiftedClock:
    """A plugin giving the loop its own clock: monotonic time plus a day."""

    @loopkit.hookimpl
    def loopkit_loop_overrides(self) -> dict[str, Any]:
        def shifted_time(loop: Any) -> float:
            return time.monotonic() + 86400.0

        return {"time": shifted_time}


def test_timers_follow_a_clock_given_by_a_plugin() -> None:
    loop = loopkit.new_event_loop(plugins=[_ShiftedClock()])
    try:
        assert loop.time() > time.monotonic() + 86000
        calls: list[str] = []
        loop.call_at(loop.time() + 0.01, calls.append, "call_at")
        loop.call_later(0.02, calls.append, "call_later")
        loop.call_at(loop.time() + 0.03, loop.stop)
        # If the run loop read another clock, it would sleep for a day: stop it.
        watchdog = threading.Timer(5.0, loop.call_soon_threadsafe, args=(loop.stop,))
        watchdog.start()
        try:
            loop.run_forever()
        finally:
            watchdog.cancel()
            watchdog.join()
        assert calls == ["call_at", "call_later"]
        assert loop.run_until_complete(asyncio.wait_for(asyncio.sleep(0.01, "slept"), 5)) == (
            "slept"
        )
    finally:
        loop.close()


def test_a_patch_over_a_plugins_clock_drives_the_scheduler() -> None:
    loop = loopkit.new_event_loop(plugins=[_ShiftedClock()])
    try:
        fired: list[str] = []

        async def main() -> list[str]:
            loop.call_later(3600, fired.append, "an hour later")
            with mock.patch.object(loop, "time", return_value=loop.time() + 7200):
                for _ in range(3):
                    await asyncio.sleep(0)
            return list(fired)

        # If the patch were ignored, the timer would wait an hour: stop the loop.
        watchdog = threading.Timer(5.0, loop.call_soon_threadsafe, args=(loop.stop,))
        watchdog.start()
        try:
            assert loop.run_until_complete(main()) == ["an hour later"]
        finally:
            watchdog.cancel()
            watchdog.join()
        assert loop.time() > time.monotonic() + 86000
    finally:
        loop.close()


def test_timers_sharing_a_deadline_survive_a_compaction_in_order(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """A compaction keeps the live timers of a shared deadline, in scheduling order."""
    when = loop.time() + 0.02
    fired: list[int] = []
    shared = [loop.call_at(when, fired.append, i) for i in range(6)]
    # Enough cancelled timers elsewhere to force a compaction first.
    far = [loop.call_later(3600 + i, print) for i in range(300)]
    for timer in far:
        timer.cancel()
    shared[1].cancel()
    shared[4].cancel()
    loop.call_at(when + 0.01, loop.stop)
    loop.run_forever()
    assert fired == [0, 2, 3, 5]
    assert len(loop._scheduled) == 0  # type: ignore[attr-defined]


def test_a_shared_deadline_whose_timers_are_all_cancelled_is_dropped_from_the_head(
    loop: asyncio.AbstractEventLoop,
) -> None:
    when = loop.time() + 3600
    group = [loop.call_at(when, print) for _ in range(3)]
    later = loop.call_at(when + 1, print)
    for timer in group:
        timer.cancel()
    loop.call_soon(loop.stop)
    loop.run_forever()
    # Only the later timer is left, and it decides how long the loop sleeps.
    assert loop._scheduled == [later.when()]  # type: ignore[attr-defined]
    later.cancel()


def test_a_shared_deadline_with_one_live_timer_stays(loop: asyncio.AbstractEventLoop) -> None:
    when = loop.time() + 0.01
    fired: list[str] = []
    first = loop.call_at(when, fired.append, "first")
    loop.call_at(when, fired.append, "second")
    first.cancel()
    loop.call_at(when + 0.01, loop.stop)
    loop.run_forever()
    assert fired == ["second"]


def test_a_timer_cancelled_by_an_earlier_one_of_the_same_deadline_does_not_run(
    loop: asyncio.AbstractEventLoop,
) -> None:
    when = loop.time() + 0.01
    fired: list[str] = []
    handles: list[asyncio.TimerHandle] = []
    loop.call_at(when, lambda: handles[0].cancel())
    handles.append(loop.call_at(when, fired.append, "cancelled"))
    loop.call_at(when, fired.append, "third")
    loop.call_at(when + 0.01, loop.stop)
    loop.run_forever()
    assert fired == ["third"]


def _spy_on_the_bulk_move(loop: asyncio.AbstractEventLoop) -> Any:
    """Patch the loop's class so that a test can see the bulk move was taken."""
    bulk = type(loop)._move_due_in_bulk  # type: ignore[attr-defined]
    return mock.patch.object(type(loop), "_move_due_in_bulk", autospec=True, side_effect=bulk)


def test_a_burst_of_due_timers_fires_in_deadline_then_scheduling_order(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """When most of the heap is due at once the run loop sorts it instead of
    popping deadline by deadline; the order and what stays behind are the same."""
    now = 1000.0
    fired: list[tuple[float, int]] = []
    deadlines = [now + (i * 37 % 300) / 100 for i in range(300)]  # 0..3 s, shuffled
    with mock.patch.object(loop, "time", lambda: now):
        handles = [loop.call_at(when, fired.append, (when, i)) for i, when in enumerate(deadlines)]
        # Several timers on one deadline, one of them cancelled; a cancelled lone timer.
        group = [loop.call_at(now + 1.5, fired.append, (now + 1.5, 1000 + i)) for i in range(3)]
        group[1].cancel()
        handles[7].cancel()
        later = [
            loop.call_at(now + 60 + i, fired.append, (now + 60 + i, 2000 + i)) for i in range(50)
        ]
        now += 5  # everything but `later` is due
        with _spy_on_the_bulk_move(loop) as spy:
            loop.call_soon(loop.stop)
            loop.run_forever()
        assert spy.called
        expected = sorted(
            [(when, i) for i, when in enumerate(deadlines) if i != 7]
            + [(now - 5 + 1.5, 1000), (now - 5 + 1.5, 1002)]
        )
        assert fired == expected
        # What was not due is still a working heap.
        fired.clear()
        now += 200
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert fired == [(timer.when(), 2000 + i) for i, timer in enumerate(later)]
        assert loop._scheduled == [] and loop._timers == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize("due_share", [0.4, 0.9, 1.0])
def test_a_burst_moves_the_same_timers_in_the_same_order_whichever_side_is_looked_up(
    loop: asyncio.AbstractEventLoop, due_share: float
) -> None:
    """The bulk move looks up the due deadlines when fewer are due than stay
    (0.4: a sixteenth goes one by one first, then less than half of the rest
    is due), and otherwise the deadlines that stay, sorting the due timers by
    their own deadline (0.9, and 1.0: everything due). Either way the same
    timers fire, in deadline then scheduling order, and the rest stays."""
    now = 1000.0
    n = 400
    fired: list[int] = []
    entries: list[tuple[float, int]] = []  # (deadline, label); labels are in scheduling order

    def at(when: float, label: int) -> asyncio.TimerHandle:
        entries.append((when, label))
        return loop.call_at(when, fired.append, label)

    with mock.patch.object(loop, "time", lambda: now):
        handles = [at(now + (i * 37 % n) / 100, i) for i in range(n)]  # 0 .. 3.99 s, shuffled
        shared = [at(handles[3].when(), n + k) for k in range(3)]  # a deadline of four timers
        cancelled = {10, n + 1}
        handles[10].cancel()
        shared[1].cancel()
        cutoff = now + 4 * due_share + 0.005  # halfway between two deadlines
        now = cutoff
        with _spy_on_the_bulk_move(loop) as spy:
            loop.call_soon(loop.stop)
            loop.run_forever()
        assert spy.called
        live = [(when, label) for when, label in entries if label not in cancelled]
        assert fired == [label for when, label in sorted(live) if when < cutoff]
        fired.clear()
        now += 10
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert fired == [label for when, label in sorted(live) if when >= cutoff]
    assert loop._scheduled == [] and loop._timers == {}  # type: ignore[attr-defined]
    assert loop._timer_cancelled_count == 0  # type: ignore[attr-defined]
    assert not any(timer._scheduled for timer in handles + shared)  # type: ignore[attr-defined]
