"""Running, stopping and closing a loop: run_forever, run_until_complete, stop, close.

Most tests run against asyncio's own loop too (fixture ``any_loop``): the
behaviour asserted is asyncio's documented behaviour, and loopkit must match.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from typing import Any

import pytest
from executorhelpers import default_pool

import loopkit


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


# ----------------------------------------------------------------------
# run_until_complete
# ----------------------------------------------------------------------


def test_run_until_complete_wraps_a_coroutine_in_a_task(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    seen: list[asyncio.Task[Any] | None] = []

    async def main() -> str:
        seen.append(asyncio.current_task())
        return "done"

    assert any_loop.run_until_complete(main()) == "done"
    assert isinstance(seen[0], asyncio.Task)
    assert seen[0].get_loop() is any_loop


def test_run_until_complete_raises_the_exception(any_loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        any_loop.run_until_complete(main())


def test_run_until_complete_accepts_a_future(any_loop: asyncio.AbstractEventLoop) -> None:
    future = any_loop.create_future()
    any_loop.call_soon(future.set_result, 7)
    assert any_loop.run_until_complete(future) == 7


def test_loop_stopped_before_the_future_completes(any_loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        any_loop.stop()
        await asyncio.sleep(10)

    with pytest.raises(RuntimeError, match=r"^Event loop stopped before Future completed\.$"):
        any_loop.run_until_complete(main())
    # The unfinished task is still pending; cancel it so the loop can close cleanly.
    for task in asyncio.all_tasks(any_loop):
        task.cancel()
    any_loop.run_until_complete(asyncio.sleep(0))


def test_run_until_complete_refuses_a_future_of_another_loop() -> None:
    first = loopkit.new_event_loop()
    second = loopkit.new_event_loop()
    try:
        with pytest.raises(ValueError):
            second.run_until_complete(first.create_future())
    finally:
        first.close()
        second.close()


# ----------------------------------------------------------------------
# run_forever, stop, is_running
# ----------------------------------------------------------------------


def test_is_running_only_inside_run_forever(any_loop: asyncio.AbstractEventLoop) -> None:
    states: list[bool] = []
    any_loop.call_soon(lambda: states.append(any_loop.is_running()))
    any_loop.call_soon(any_loop.stop)
    assert not any_loop.is_running()
    any_loop.run_forever()
    assert states == [True]
    assert not any_loop.is_running()


def test_stop_runs_callbacks_queued_before_it_and_defers_later_ones(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    calls: list[str] = []

    def first() -> None:
        calls.append("first")
        any_loop.stop()
        # Scheduled after stop(): must wait for the next run_forever().
        any_loop.call_soon(calls.append, "after-stop")

    any_loop.call_soon(first)
    any_loop.call_soon(calls.append, "queued-before-stop")
    any_loop.run_forever()
    assert calls == ["first", "queued-before-stop"]

    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert calls == ["first", "queued-before-stop", "after-stop"]


def test_stop_before_run_forever_runs_one_iteration(any_loop: asyncio.AbstractEventLoop) -> None:
    calls: list[int] = []
    any_loop.call_soon(calls.append, 1)
    any_loop.stop()
    any_loop.run_forever()
    assert calls == [1]
    assert not any_loop.is_running()


def test_stop_does_not_wait_for_timers(any_loop: asyncio.AbstractEventLoop) -> None:
    calls: list[str] = []
    any_loop.call_later(60, calls.append, "timer")
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert calls == []


def test_run_forever_twice_in_a_row_is_fine(any_loop: asyncio.AbstractEventLoop) -> None:
    for _ in range(3):
        any_loop.call_soon(any_loop.stop)
        any_loop.run_forever()


def test_running_loop_cannot_be_run_again(any_loop: asyncio.AbstractEventLoop) -> None:
    errors: list[str] = []

    def nested() -> None:
        try:
            any_loop.run_forever()
        except RuntimeError as exc:
            errors.append(str(exc))
        any_loop.stop()

    any_loop.call_soon(nested)
    any_loop.run_forever()
    assert errors == ["This event loop is already running"]


def test_another_loop_cannot_run_while_one_runs_in_this_thread(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    other = loopkit.new_event_loop()
    errors: list[str] = []

    def nested() -> None:
        for attempt in (other.run_forever, lambda: other.run_until_complete(other.create_future())):
            try:
                attempt()
            except RuntimeError as exc:
                errors.append(str(exc))
        any_loop.stop()

    try:
        any_loop.call_soon(nested)
        any_loop.run_forever()
    finally:
        other.close()
    assert errors == ["Cannot run the event loop while another loop is running"] * 2


def test_running_loop_is_the_current_loop_only_while_running() -> None:
    loop = loopkit.new_event_loop()
    try:
        inside = loop.run_until_complete(_running_loop())
        assert inside is loop
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()
    finally:
        loop.close()


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_keyboard_interrupt_from_a_callback_propagates_and_loop_is_reusable(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    any_loop.call_soon(interrupt)
    with pytest.raises(KeyboardInterrupt):
        any_loop.run_forever()
    assert not any_loop.is_running()
    assert any_loop.run_until_complete(asyncio.sleep(0, "again")) == "again"


# ----------------------------------------------------------------------
# close
# ----------------------------------------------------------------------


def test_close_is_refused_while_running(any_loop: asyncio.AbstractEventLoop) -> None:
    errors: list[str] = []

    def try_close() -> None:
        try:
            any_loop.close()
        except RuntimeError as exc:
            errors.append(str(exc))
        any_loop.stop()

    any_loop.call_soon(try_close)
    any_loop.run_forever()
    assert errors == ["Cannot close a running event loop"]
    assert not any_loop.is_closed()


def test_close_is_idempotent_and_final(any_loop: asyncio.AbstractEventLoop) -> None:
    assert not any_loop.is_closed()
    any_loop.close()
    assert any_loop.is_closed()
    any_loop.close()
    assert any_loop.is_closed()


def test_close_drops_pending_callbacks_and_timers(any_loop: asyncio.AbstractEventLoop) -> None:
    calls: list[str] = []
    any_loop.call_soon(calls.append, "soon")
    any_loop.call_later(0, calls.append, "later")
    any_loop.close()
    assert len(any_loop._ready) == 0  # type: ignore[attr-defined]
    assert len(any_loop._scheduled) == 0  # type: ignore[attr-defined]
    assert calls == []


def _on_closed_loop(loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    """Every loop call that must refuse a closed loop, by name."""

    async def coro() -> None:
        pass

    def run_until_complete() -> None:
        c = coro()
        try:
            loop.run_until_complete(c)
        finally:
            c.close()

    def create_task() -> None:
        c = coro()
        try:
            loop.create_task(c)
        finally:
            c.close()

    a, b = _socketpair()
    try:
        return {
            "run_forever": loop.run_forever,
            "run_until_complete": run_until_complete,
            "call_soon": lambda: loop.call_soon(print),
            "call_soon_threadsafe": lambda: loop.call_soon_threadsafe(print),
            "call_later": lambda: loop.call_later(1, print),
            "call_at": lambda: loop.call_at(loop.time() + 1, print),
            "create_task": create_task,
            "add_reader": lambda: loop.add_reader(a.fileno(), print),
            "add_writer": lambda: loop.add_writer(a.fileno(), print),
            "run_in_executor": lambda: loop.run_in_executor(None, print),
        }
    finally:
        a.close()
        b.close()


def _socketpair() -> tuple[Any, Any]:
    import socket

    return socket.socketpair()


@pytest.mark.parametrize(
    "call",
    [
        "run_forever",
        "run_until_complete",
        "call_soon",
        "call_soon_threadsafe",
        "call_later",
        "call_at",
        "create_task",
        "add_reader",
        "add_writer",
        "run_in_executor",
    ],
)
def test_every_call_on_a_closed_loop_raises(any_loop: asyncio.AbstractEventLoop, call: str) -> None:
    calls = _on_closed_loop(any_loop)
    any_loop.close()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        calls[call]()


def test_remove_watchers_on_a_closed_loop_answer_false(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    # asyncio answers False here rather than raising; loopkit does the same.
    any_loop.close()
    assert any_loop.remove_reader(0) is False
    assert any_loop.remove_writer(0) is False


def test_close_shuts_the_default_executor_down_without_waiting(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    release = threading.Event()
    started = threading.Event()

    def blocker() -> None:
        started.set()
        release.wait(5)

    any_loop.run_in_executor(None, blocker)
    assert started.wait(5)
    executor: concurrent.futures.ThreadPoolExecutor = default_pool(any_loop)
    try:
        any_loop.close()  # returns although blocker() is still running
        assert not release.is_set()
        assert executor._shutdown  # type: ignore[attr-defined]
        assert default_pool(any_loop) is None  # type: ignore[attr-defined]
    finally:
        release.set()
        executor.shutdown(wait=True)


def test_closing_loops_leaks_no_file_descriptors() -> None:
    before = _fd_count()
    for _ in range(20):
        loop = loopkit.new_event_loop()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
    assert _fd_count() == before


@pytest.mark.leaks_allowed("drops a loop unclosed on purpose, to see it warn when collected")
def test_unclosed_loop_warns_when_collected() -> None:
    import gc

    loop = loopkit.new_event_loop()
    with pytest.warns(ResourceWarning, match="unclosed event loop"):
        del loop
        gc.collect()


class _FailsWhenALoopIsMade:
    """A plugin whose loop-created hook fails (say, a resource it needs is missing)."""

    def __init__(self) -> None:
        self.closing_calls = 0

    @loopkit.hookimpl
    def loopkit_loop_created(self, loop: asyncio.AbstractEventLoop) -> None:
        raise OSError("the plugin could not start")

    @loopkit.hookimpl
    def loopkit_loop_closing(self, loop: asyncio.AbstractEventLoop) -> None:
        self.closing_calls += 1


def test_a_loop_that_fails_to_be_made_releases_its_fds_at_once() -> None:
    import gc
    import warnings

    plugin = _FailsWhenALoopIsMade()
    before = _fd_count()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # no "unclosed event loop" later
        for _ in range(3):
            with pytest.raises(OSError, match="the plugin could not start"):
                loopkit.new_event_loop(plugins=[plugin])
        gc.collect()
    assert _fd_count() == before
    # The plugins were told the half-made loop is closing.
    assert plugin.closing_calls == 3


def test_a_run_once_replaced_on_the_loop_is_called_every_iteration() -> None:
    """run_forever runs the kernel's iterations in one frame, unless told otherwise.

    A plugin overrides ``_run_once`` on its class (the instruments plugin
    does); a test may replace it on one loop. Either way that function runs
    once per iteration, wrapping the kernel's.
    """
    loop = loopkit.new_event_loop()
    try:
        kernel_run_once = loop._run_once  # type: ignore[attr-defined]
        iterations: list[int] = []

        def counting_run_once() -> None:
            iterations.append(1)
            kernel_run_once()

        loop._run_once = counting_run_once  # type: ignore[attr-defined]
        left = [3]

        def again() -> None:
            left[0] -= 1
            if left[0]:
                loop.call_soon(again)
            else:
                loop.stop()

        loop.call_soon(again)
        loop.run_forever()
        assert len(iterations) >= 3
    finally:
        loop.close()
