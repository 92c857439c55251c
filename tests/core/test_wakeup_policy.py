"""When call_soon_threadsafe writes the wake-up fd, and that no wake-up is lost.

The kernel writes the wake-up fd only while the loop sleeps (or is about to)
in its poller; a loop that is running callbacks finds new handles on its own.
These tests pin that policy down and hammer the hand-over between "about to
sleep" and "a thread just appended" from several angles: with no fd watched
(the loop then skips its non-blocking poll), with timers deciding the sleep,
and with many threads at once. A lost wake-up does not hang a test: a
watchdog thread writes the wake-up fd unconditionally after a deadline and
the test then fails, saying it had to be rescued.
"""

from __future__ import annotations

import asyncio
import select
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import loopkit


def _wakeup_readable(loop: Any) -> bool:
    readable, _, _ = select.select([loop._wakeup.fileno()], [], [], 0)
    return bool(readable)


class _Watchdog:
    """After ``deadline`` seconds, wake the loop the old way and remember it."""

    def __init__(self, loop: Any, deadline: float) -> None:
        self.rescued = False
        self._loop = loop
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(deadline,))
        self._thread.start()

    def _watch(self, deadline: float) -> None:
        while not self._done.wait(deadline):
            self.rescued = True
            # Unconditional: writes the fd whatever the loop is doing.
            self._loop._write_to_self()

    def close(self) -> None:
        self._done.set()
        self._thread.join()


def _run_while_producing(loop: Any, *producers: threading.Thread, watchdog: Any = None) -> None:
    """Start ``producers``, run ``loop`` until stopped, then join them (and
    disarm ``watchdog``) whatever happened."""
    try:
        for producer in producers:
            producer.start()
        loop.run_forever()
    finally:
        for producer in producers:
            producer.join()
        if watchdog is not None:
            watchdog.close()


@pytest.fixture
def bare_loop() -> Iterator[Any]:
    """A loop with no fd watched but its own wake-up fd."""
    loop = loopkit.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads very often, so the races get their chance."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def test_a_call_from_a_running_callback_writes_no_wakeup(bare_loop: Any) -> None:
    """The loop is awake while it runs callbacks: nothing to wake, no system call."""
    loop = bare_loop
    seen: list[tuple[bool, bool]] = []

    def from_the_loop_itself() -> None:
        loop.call_soon_threadsafe(loop.stop)
        seen.append((loop._wakeup_pending, _wakeup_readable(loop)))

    loop.call_soon(from_the_loop_itself)
    loop.run_forever()
    assert seen == [(False, False)]


def test_a_call_from_a_thread_while_the_loop_runs_callbacks_writes_no_wakeup(
    bare_loop: Any,
) -> None:
    """A foreign thread calling in while a callback holds the loop busy."""
    loop = bare_loop
    seen: list[tuple[bool, bool]] = []
    ran: list[str] = []

    def busy() -> None:
        thread = threading.Thread(target=loop.call_soon_threadsafe, args=(ran.append, "t"))
        thread.start()
        thread.join()
        seen.append((loop._wakeup_pending, _wakeup_readable(loop)))
        loop.call_soon(loop.stop)

    loop.call_soon(busy)
    loop.run_forever()
    assert seen == [(False, False)]
    assert ran == ["t"]


def test_a_sleeping_loop_is_woken_and_the_wakeup_drained(bare_loop: Any) -> None:
    loop = bare_loop
    watchdog = _Watchdog(loop, 10.0)
    ran: list[str] = []

    def later() -> None:
        # Wait until the loop is really asleep in its poller.
        while not loop._sleeping:
            time.sleep(0.001)
        loop.call_soon_threadsafe(ran.append, "woken")
        loop.call_soon_threadsafe(loop.stop)

    _run_while_producing(loop, threading.Thread(target=later), watchdog=watchdog)
    assert not watchdog.rescued
    assert ran == ["woken"]
    # A second run must not return at once because of a left-over wake-up
    # that would then never be written again.
    assert not loop._wakeup_pending or _wakeup_readable(loop)


def test_a_call_while_the_loop_decides_how_long_to_sleep_still_wakes_it(
    bare_loop: Any,
) -> None:
    """The hand-over window, made wide on purpose.

    Between deciding to sleep and entering the poller the loop reads its
    clock (a timer is pending). Here that read lets other threads run for a
    millisecond, and a thread calls in each time the loop is back in that
    window. The loop must have announced that it is about to sleep *before*
    it last looked at its queue, or that call is never seen.
    """
    loop = bare_loop
    monotonic = time.monotonic

    def slow_clock() -> float:
        time.sleep(0.001)  # releases the GIL: the producer runs now
        return monotonic()

    loop._clock = slow_clock  # the kernel reads the time only through _clock
    loop.call_later(3600, lambda: None)  # so the loop sleeps with a timeout
    lost: list[int] = []
    finished = threading.Event()

    def producer() -> None:
        try:
            for i in range(40):
                ran = threading.Event()
                loop.call_soon_threadsafe(ran.set)
                if not ran.wait(2.0):
                    lost.append(i)
                    break
        finally:
            finished.set()
            loop.call_soon_threadsafe(loop.stop)
            loop._write_to_self()

    _run_while_producing(loop, threading.Thread(target=producer))
    assert finished.is_set()
    assert lost == []


@pytest.mark.usefixtures("fast_switching")
def test_no_wakeup_is_lost_with_no_fd_watched(bare_loop: Any) -> None:
    """The loop alternates between skipping its poll (work queued) and sleeping."""
    loop = bare_loop
    rounds = 400
    done: list[int] = []
    watchdog = _Watchdog(loop, 15.0)

    def record(i: int) -> None:
        done.append(i)
        # Some follow-up work, so the loop sometimes has callbacks queued
        # (and then does not poll at all) when the next call arrives.
        if i % 3 == 0:
            loop.call_soon(lambda: None)
        if len(done) == rounds:
            loop.stop()

    def producer() -> None:
        for i in range(rounds):
            loop.call_soon_threadsafe(record, i)
            if i % 4 == 0:
                time.sleep(0.0002)

    _run_while_producing(loop, threading.Thread(target=producer), watchdog=watchdog)
    assert not watchdog.rescued, f"lost wake-up after {len(done)} of {rounds} calls"
    assert done == list(range(rounds))


@pytest.mark.usefixtures("fast_switching")
def test_no_wakeup_is_lost_while_timers_decide_how_long_the_loop_sleeps(
    bare_loop: Any,
) -> None:
    loop = bare_loop
    rounds = 300
    done: list[int] = []
    timers_fired: list[int] = []
    watchdog = _Watchdog(loop, 15.0)

    def tick() -> None:
        timers_fired.append(1)
        if len(done) < rounds:
            loop.call_later(0.0005, tick)

    def record(i: int) -> None:
        done.append(i)
        if len(done) == rounds:
            loop.stop()

    def producer() -> None:
        for i in range(rounds):
            loop.call_soon_threadsafe(record, i)
            time.sleep(0.0003)

    loop.call_soon(tick)
    _run_while_producing(loop, threading.Thread(target=producer), watchdog=watchdog)
    assert not watchdog.rescued, f"lost wake-up after {len(done)} of {rounds} calls"
    assert done == list(range(rounds))
    assert timers_fired


@pytest.mark.usefixtures("fast_switching")
def test_many_threads_into_a_loop_with_no_fd_watched_lose_nothing(bare_loop: Any) -> None:
    loop = bare_loop
    threads_count, per_thread = 6, 1500
    total = threads_count * per_thread
    received: list[tuple[int, int]] = []
    watchdog = _Watchdog(loop, 20.0)

    def record(item: tuple[int, int]) -> None:
        received.append(item)
        if len(received) == total:
            loop.stop()

    start = threading.Barrier(threads_count)

    def producer(worker: int) -> None:
        start.wait()
        for i in range(per_thread):
            loop.call_soon_threadsafe(record, (worker, i))
            if i % 50 == 0:
                time.sleep(0.0003)  # let the loop fall asleep between bursts

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(threads_count)]
    _run_while_producing(loop, *threads, watchdog=watchdog)
    assert not watchdog.rescued, f"lost wake-up: {len(received)} of {total} calls ran"
    assert len(set(received)) == total
    for worker in range(threads_count):
        assert [i for w, i in received if w == worker] == list(range(per_thread))


def test_a_thread_wakes_a_loop_awaiting_a_future(bare_loop: Any) -> None:
    """The everyday form: run_in_executor-style hand-back of a result."""
    loop = bare_loop

    async def main() -> int:
        fut: asyncio.Future[int] = loop.create_future()
        threading.Timer(0.01, loop.call_soon_threadsafe, args=(fut.set_result, 7)).start()
        return await fut

    watchdog = _Watchdog(loop, 10.0)
    try:
        assert loop.run_until_complete(main()) == 7
    finally:
        watchdog.close()
    assert not watchdog.rescued
