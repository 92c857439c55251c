"""Process-level faults: a loop and os.fork(), a loop in a non-main thread.

A child made by ``os.fork()`` inherits its parent's loops: their poller,
wake-up fd, timers and callbacks. None of that is the child's work, so every
use of such a loop in the child raises RuntimeError saying so, and the child
makes its own loop instead. The parent's loop is untouched by anything the
child does.

Each child reports through its exit status and always leaves with
``os._exit()``, so no pytest machinery runs twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable

import pytest

import loopkit

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")

#: Exit statuses of the children: every check passed / something else happened.
OK, WRONG = 0, 1


def in_child(check: Callable[[], bool]) -> int:
    """Fork; the child runs ``check`` and exits OK if it returned True. Returns the status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = WRONG
        try:
            if check():
                status = OK
        except BaseException as exc:
            print(f"child failed: {exc!r}", file=sys.stderr, flush=True)
        finally:
            os._exit(status)
    return wait_for(pid)


def wait_for(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def raises_fork_error(action: Callable[[], object]) -> bool:
    try:
        action()
    except RuntimeError as exc:
        return "fork()" in str(exc) and f"process {os.getppid()}" in str(exc)
    return False


async def answer() -> int:
    await asyncio.sleep(0.01)
    return 42


def a_new_loop_works() -> bool:
    fresh = loopkit.new_event_loop()
    try:
        return fresh.run_until_complete(answer()) == 42
    finally:
        fresh.close()


def test_a_parents_loop_refuses_every_use_in_the_child(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(answer())  # a loop that has really run

    def check() -> bool:
        uses: list[Callable[[], object]] = [
            loop.run_forever,
            lambda: loop.run_until_complete(asyncio.sleep(0)),
            lambda: loop.call_soon(print),
            lambda: loop.call_later(1, print),
            lambda: loop.call_at(loop.time(), print),
            lambda: loop.call_soon_threadsafe(print),
            lambda: loop.add_reader(0, print),
        ]
        return all(raises_fork_error(use) for use in uses) and loop.is_closed()

    assert in_child(check) == OK


def test_the_child_can_make_and_run_a_new_loop(loop: asyncio.AbstractEventLoop) -> None:
    assert in_child(a_new_loop_works) == OK


def test_closing_the_parents_loop_in_the_child_leaves_the_parents_loop_working(
    loop: asyncio.AbstractEventLoop,
) -> None:
    def check() -> bool:
        fds_before = len(os.listdir("/proc/self/fd"))
        loop.close()
        released = fds_before - len(os.listdir("/proc/self/fd"))
        # The child's copies of the poller and the wake-up fd are gone.
        return released >= 2 and raises_fork_error(lambda: loop.call_soon(print))

    assert in_child(check) == OK
    assert loop.run_until_complete(answer()) == 42


def test_a_child_forked_from_a_callback_does_not_keep_running_the_parents_loop(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """fork() inside a callback: the child is inside run_forever, and must leave it."""
    forked: list[int] = []
    later_ran: list[str] = []

    def fork_here() -> None:
        forked.append(os.fork())

    loop.call_soon(fork_here)
    loop.call_soon(later_ran.append, "queued after the fork")
    try:
        result = loop.run_until_complete(answer())
    except RuntimeError as exc:
        if forked == [0]:  # pragma: no cover - the child
            ok = "fork()" in str(exc) and not later_ran and a_new_loop_works()
            os._exit(OK if ok else WRONG)
        raise
    finally:
        if forked == [0]:  # pragma: no cover - the child, on any other path
            os._exit(WRONG)
    assert result == 42
    assert later_ran == ["queued after the fork"]
    assert wait_for(forked[0]) == OK


def test_signals_reach_the_right_process_after_fork(loop: asyncio.AbstractEventLoop) -> None:
    """The child's signals go to the child's own loop; the parent's keep going to it."""
    got: list[str] = []
    loop.add_signal_handler(signal.SIGUSR1, got.append, "parent")
    try:

        def check() -> bool:
            # The parent's channel is gone: no wake-up fd, default disposition.
            if signal.set_wakeup_fd(-1) != -1:
                return False
            child_loop = loopkit.new_event_loop()
            child_got: list[str] = []
            try:
                child_loop.add_signal_handler(signal.SIGUSR1, child_got.append, "child")
                child_loop.call_later(0.01, os.kill, os.getpid(), signal.SIGUSR1)
                child_loop.run_until_complete(asyncio.sleep(0.2))
                child_loop.remove_signal_handler(signal.SIGUSR1)
            finally:
                child_loop.close()
            return child_got == ["child"]

        assert in_child(check) == OK
        assert got == []  # the child's signal did not reach the parent's handler
        loop.call_later(0.01, os.kill, os.getpid(), signal.SIGUSR1)
        loop.run_until_complete(asyncio.sleep(0.2))
        assert got == ["parent"]
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)


# ----------------------------------------------------------------------
# A loop in a thread other than the main one
# ----------------------------------------------------------------------


def run_in_thread(work: Callable[[asyncio.AbstractEventLoop], object]) -> object:
    """Run ``work(loop)`` on a new loop in a new thread; return its result or raise."""
    outcome: dict[str, object] = {}

    def body() -> None:
        thread_loop = loopkit.new_event_loop()
        try:
            outcome["result"] = work(thread_loop)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            thread_loop.close()

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(30)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]


def test_a_loop_in_another_thread_runs_callbacks_timers_tasks_and_executor_jobs() -> None:
    async def everything() -> list[object]:
        running = asyncio.get_running_loop()
        done: asyncio.Future[str] = running.create_future()
        running.call_soon(done.set_result, "callback")
        results: list[object] = [await done]
        await asyncio.sleep(0.01)
        results.append("timer")
        results.append(await running.run_in_executor(None, sum, [1, 2, 3]))
        results.append(await asyncio.create_task(answer()))
        return results

    def work(thread_loop: asyncio.AbstractEventLoop) -> object:
        return thread_loop.run_until_complete(everything())

    assert run_in_thread(work) == ["callback", "timer", 6, 42]


def test_a_loop_in_another_thread_serves_tcp() -> None:
    async def echo_once() -> bytes:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.readexactly(5))
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"hello")
            data = await reader.read()
            writer.close()
            await writer.wait_closed()
        return data

    def work(thread_loop: asyncio.AbstractEventLoop) -> object:
        return thread_loop.run_until_complete(echo_once())

    assert run_in_thread(work) == b"hello"


def test_a_loop_in_another_thread_refuses_signal_handlers_clearly() -> None:
    def work(thread_loop: asyncio.AbstractEventLoop) -> object:
        with pytest.raises(RuntimeError, match="main thread"):
            thread_loop.add_signal_handler(signal.SIGUSR1, print)
        return "refused"

    assert run_in_thread(work) == "refused"
