"""call_soon and call_soon_threadsafe: order, context, and waking a sleeping loop."""

from __future__ import annotations

import asyncio
import contextvars
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import loopkit

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


def test_call_soon_runs_callbacks_once_each_in_fifo_order(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    calls: list[int] = []
    for i in range(100):
        any_loop.call_soon(calls.append, i)
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert calls == list(range(100))
    # Nothing runs twice on the next iteration.
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert calls == list(range(100))


def test_call_soon_returns_a_cancellable_handle(any_loop: asyncio.AbstractEventLoop) -> None:
    calls: list[str] = []
    handle = any_loop.call_soon(calls.append, "cancelled")
    any_loop.call_soon(calls.append, "kept")
    assert type(handle) is asyncio.Handle
    assert not handle.cancelled()
    handle.cancel()
    assert handle.cancelled()
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert calls == ["kept"]


def test_call_soon_runs_the_callback_in_the_given_context(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    seen: list[str] = []
    context = contextvars.copy_context()
    context.run(request_id.set, "from-context")
    any_loop.call_soon(lambda: seen.append(request_id.get()), context=context)
    any_loop.call_soon(lambda: seen.append(request_id.get()))
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert seen == ["from-context", "unset"]


def test_callbacks_scheduled_by_a_callback_run_on_the_next_iteration(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    calls: list[str] = []

    def outer() -> None:
        calls.append("outer")
        any_loop.call_soon(calls.append, "inner")

    any_loop.call_soon(outer)
    any_loop.call_soon(calls.append, "second")
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    # "inner" was queued after stop() was requested: it waits for the next run.
    assert calls == ["outer", "second"]
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert calls == ["outer", "second", "inner"]


def test_call_soon_threadsafe_returns_a_handle_and_honours_context(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    seen: list[str] = []
    context = contextvars.copy_context()
    context.run(request_id.set, "threadsafe")
    handle = any_loop.call_soon_threadsafe(lambda: seen.append(request_id.get()), context=context)
    assert isinstance(handle, asyncio.Handle)
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert seen == ["threadsafe"]


# ----------------------------------------------------------------------
# Waking a loop that sleeps in its poller
# ----------------------------------------------------------------------


class _Rescue:
    """A way to wake a loop that did *not* wake up, so a failing test ends quickly.

    A socket pair watched by the loop: after ``deadline`` seconds a watchdog
    thread writes to it, the loop wakes through plain I/O, records that it
    had to be rescued and stops.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self.rescued = False
        self._loop = loop
        self._done = threading.Event()
        self._a, self._b = socket.socketpair()
        loop.add_reader(self._a, self._wake)
        self._thread = threading.Thread(target=self._watch, args=(deadline,))
        self._thread.start()

    def _wake(self) -> None:
        self._a.recv(1)
        self.rescued = True
        self._loop.stop()

    def _watch(self, deadline: float) -> None:
        if not self._done.wait(deadline):
            self._b.send(b"x")

    def close(self) -> None:
        self._done.set()
        self._thread.join()
        self._loop.remove_reader(self._a)
        self._a.close()
        self._b.close()


@pytest.fixture
def rescue() -> Iterator[Callable[[asyncio.AbstractEventLoop, float], _Rescue]]:
    made: list[_Rescue] = []

    def make(loop: asyncio.AbstractEventLoop, deadline: float) -> _Rescue:
        made.append(_Rescue(loop, deadline))
        return made[-1]

    yield make
    for item in made:
        item.close()


def test_call_soon_threadsafe_wakes_a_loop_blocked_in_its_poller(
    poller_loop: asyncio.AbstractEventLoop,
    rescue: Callable[[asyncio.AbstractEventLoop, float], _Rescue],
) -> None:
    loop = poller_loop
    timeouts: list[float | None] = []
    native_poll = loop._poll  # type: ignore[attr-defined]

    def recording_poll(timeout: float | None) -> Any:
        timeouts.append(timeout)
        return native_poll(timeout)

    loop._poll = recording_poll  # type: ignore[attr-defined]
    watchdog = rescue(loop, 5.0)
    calls: list[str] = []

    def from_thread() -> None:
        time.sleep(0.2)
        loop.call_soon_threadsafe(calls.append, "woken")
        loop.call_soon_threadsafe(loop.stop)

    thread = threading.Thread(target=from_thread)
    thread.start()
    loop.run_forever()
    thread.join()
    assert not watchdog.rescued
    assert calls == ["woken"]
    # The loop had nothing to do: it waited with no timeout at all.
    assert None in timeouts


def test_many_threads_each_call_runs_exactly_once_in_per_thread_order(
    loop: asyncio.AbstractEventLoop,
    rescue: Callable[[asyncio.AbstractEventLoop, float], _Rescue],
) -> None:
    threads_count, per_thread = 8, 2000
    total = threads_count * per_thread
    received: list[tuple[int, int]] = []
    watchdog = rescue(loop, 20.0)

    def record(item: tuple[int, int]) -> None:
        received.append(item)
        if len(received) == total:
            loop.stop()

    start = threading.Barrier(threads_count)

    def producer(worker: int) -> None:
        start.wait()
        for i in range(per_thread):
            loop.call_soon_threadsafe(record, (worker, i))
            if i % 97 == 0:
                time.sleep(0.0005)  # let the loop fall asleep between bursts

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: the races get a chance
    threads = [threading.Thread(target=producer, args=(n,)) for n in range(threads_count)]
    try:
        for thread in threads:
            thread.start()
        loop.run_forever()
    finally:
        for thread in threads:
            thread.join()
        sys.setswitchinterval(old_interval)
    assert not watchdog.rescued, f"lost wake-up: {len(received)} of {total} calls ran"
    assert len(received) == total
    assert len(set(received)) == total
    for worker in range(threads_count):
        assert [i for w, i in received if w == worker] == list(range(per_thread))


def test_lost_wakeups_cannot_happen_across_many_sleeps(
    loop: asyncio.AbstractEventLoop,
    rescue: Callable[[asyncio.AbstractEventLoop, float], _Rescue],
) -> None:
    """One thread calls in while the loop repeatedly goes back to sleep."""
    rounds = 300
    done: list[int] = []
    watchdog = rescue(loop, 20.0)

    def record(i: int) -> None:
        done.append(i)
        if len(done) == rounds:
            loop.stop()

    def producer() -> None:
        for i in range(rounds):
            loop.call_soon_threadsafe(record, i)
            loop.call_soon_threadsafe(lambda: None)
            time.sleep(0.0002)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=producer)
    try:
        thread.start()
        loop.run_forever()
    finally:
        thread.join()
        sys.setswitchinterval(old_interval)
    assert not watchdog.rescued, f"lost wake-up after {len(done)} of {rounds} rounds"
    assert done == list(range(rounds))


def test_call_soon_threadsafe_before_the_loop_runs_is_kept() -> None:
    loop = loopkit.new_event_loop()
    try:
        calls: list[str] = []
        thread = threading.Thread(target=loop.call_soon_threadsafe, args=(calls.append, "early"))
        thread.start()
        thread.join()
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert calls == ["early"]
    finally:
        loop.close()
