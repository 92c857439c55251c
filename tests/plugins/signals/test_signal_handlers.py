"""add_signal_handler: real signals, sent to this process, run loop callbacks."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from loopkit.plugins.signals import UncatchableSignalError
from loopkit.plugins.signals.table import table as signal_table


def send_later(sig: int, delay: float = 0.1) -> threading.Thread:
    """Send ``sig`` to this process from another thread after ``delay`` seconds."""

    def send() -> None:
        time.sleep(delay)
        os.kill(os.getpid(), sig)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def run_with_watchdog(loop: asyncio.AbstractEventLoop, seconds: float = 5.0) -> bool:
    """run_forever(); True if it was stopped by the test, False if by the watchdog.

    The watchdog is a thread, not a timer, so that the loop has no timer of
    its own and really sleeps in its poller with no timeout.
    """
    fired = threading.Event()
    finished = threading.Event()

    def watchdog() -> None:
        if not finished.wait(seconds):
            fired.set()
            loop.call_soon_threadsafe(loop.stop)

    thread = threading.Thread(target=watchdog)
    thread.start()
    try:
        loop.run_forever()
    finally:
        finished.set()
        thread.join()
    return not fired.is_set()


def test_signal_wakes_a_loop_sleeping_in_its_poller(
    poller_loop: asyncio.AbstractEventLoop,
) -> None:
    calls: list[str] = []

    def on_usr1() -> None:
        calls.append("usr1")
        poller_loop.stop()

    poller_loop.add_signal_handler(signal.SIGUSR1, on_usr1)
    sender = send_later(signal.SIGUSR1, 0.1)
    started = time.monotonic()
    stopped_by_handler = run_with_watchdog(poller_loop)
    sender.join()
    assert stopped_by_handler
    assert calls == ["usr1"]
    assert time.monotonic() - started >= 0.09


def test_handler_gets_its_arguments(loop: asyncio.AbstractEventLoop) -> None:
    received: list[tuple[Any, ...]] = []

    def handler(*args: Any) -> None:
        received.append(args)
        loop.stop()

    loop.add_signal_handler(signal.SIGUSR2, handler, "a", 2, None)
    loop.call_soon(os.kill, os.getpid(), signal.SIGUSR2)
    assert run_with_watchdog(loop)
    assert received == [("a", 2, None)]


def test_handler_runs_later_as_a_loop_callback_not_inside_the_signal_handler(
    loop: asyncio.AbstractEventLoop,
) -> None:
    order: list[str] = []
    running_loops: list[asyncio.AbstractEventLoop] = []

    def handler() -> None:
        order.append("handler")
        running_loops.append(asyncio.get_running_loop())
        loop.stop()

    def send() -> None:
        # The interpreter runs Python-level signal handlers right after
        # os.kill returns; a handler run there would come first.
        os.kill(os.getpid(), signal.SIGUSR1)
        order.append("after kill")

    loop.add_signal_handler(signal.SIGUSR1, handler)
    loop.call_soon(send)
    assert run_with_watchdog(loop)
    assert order == ["after kill", "handler"]
    assert running_loops == [loop]


def test_each_signal_runs_its_own_handler(loop: asyncio.AbstractEventLoop) -> None:
    seen: list[str] = []
    loop.add_signal_handler(signal.SIGUSR1, seen.append, "usr1")
    loop.add_signal_handler(signal.SIGHUP, seen.append, "hup")

    def on_alrm() -> None:
        seen.append("alrm")
        loop.stop()

    loop.add_signal_handler(signal.SIGALRM, on_alrm)

    def send_all() -> None:
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGALRM)

    loop.call_soon(send_all)
    assert run_with_watchdog(loop)
    assert sorted(seen) == ["alrm", "hup", "usr1"]


def test_second_add_replaces_the_handler(loop: asyncio.AbstractEventLoop) -> None:
    seen: list[str] = []
    loop.add_signal_handler(signal.SIGUSR1, seen.append, "first")

    def second() -> None:
        seen.append("second")
        loop.stop()

    loop.add_signal_handler(signal.SIGUSR1, second)
    loop.call_soon(os.kill, os.getpid(), signal.SIGUSR1)
    assert run_with_watchdog(loop)
    assert seen == ["second"]


def test_flood_of_signals_runs_the_handler_and_leaves_the_loop_working(
    loop: asyncio.AbstractEventLoop,
) -> None:
    count = 0

    def on_usr1() -> None:
        nonlocal count
        count += 1

    def flood() -> None:
        pid = os.getpid()
        for _ in range(200):
            os.kill(pid, signal.SIGUSR1)

    async def main() -> str:
        await asyncio.to_thread(flood)
        await asyncio.sleep(0.2)  # let the last numbers be read
        # The loop still does ordinary work, and still hears a later signal.
        heard = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR2, heard.set_result, "usr2")
        send_later(signal.SIGUSR2, 0.05).join()
        return await asyncio.wait_for(heard, 5)

    loop.add_signal_handler(signal.SIGUSR1, on_usr1)
    assert loop.run_until_complete(main()) == "usr2"
    # Pending signals of one kind coalesce (as with asyncio), so fewer than
    # 200 calls is correct; none at all is not.
    assert 1 <= count <= 200


def test_exception_in_handler_goes_to_the_exception_handler(
    loop: asyncio.AbstractEventLoop,
) -> None:
    contexts: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: contexts.append(context))

    def broken() -> None:
        raise ZeroDivisionError("in handler")

    loop.add_signal_handler(signal.SIGUSR1, broken)
    loop.call_soon(os.kill, os.getpid(), signal.SIGUSR1)
    loop.call_later(0.2, loop.stop)
    loop.run_forever()
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], ZeroDivisionError)


def test_handler_cancelled_through_its_handle_is_dropped(
    loop: asyncio.AbstractEventLoop,
) -> None:
    seen: list[str] = []
    loop.add_signal_handler(signal.SIGUSR1, seen.append, "usr1")
    signal_table(loop).handlers[signal.SIGUSR1].cancel()
    loop.call_soon(os.kill, os.getpid(), signal.SIGUSR1)
    loop.call_later(0.2, loop.stop)
    loop.run_forever()
    assert seen == []
    assert signal.SIGUSR1 not in signal_table(loop).handlers
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


# ----------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------


@pytest.mark.parametrize("sig", [0, -1, 1000, 65])
def test_invalid_signal_number_is_value_error(loop: asyncio.AbstractEventLoop, sig: int) -> None:
    with pytest.raises(ValueError, match=f"invalid signal number {sig}"):
        loop.add_signal_handler(sig, print)
    with pytest.raises(ValueError, match=f"invalid signal number {sig}"):
        loop.remove_signal_handler(sig)


def test_signal_that_is_not_an_int_is_type_error(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError, match="sig must be an int"):
        loop.add_signal_handler("SIGUSR1", print)  # type: ignore[arg-type]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP])
def test_uncatchable_signal_is_refused_and_nothing_is_left(
    loop: asyncio.AbstractEventLoop, sig: int
) -> None:
    with pytest.raises(UncatchableSignalError, match=f"sig {sig} cannot be caught") as info:
        loop.add_signal_handler(sig, print)
    # Both what asyncio documents and what asyncio raises.
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, RuntimeError)
    assert signal_table(loop).handlers == {}
    assert signal.set_wakeup_fd(-1) == -1


def test_uncatchable_signal_keeps_the_other_handlers(loop: asyncio.AbstractEventLoop) -> None:
    loop.add_signal_handler(signal.SIGUSR1, print)
    with pytest.raises(UncatchableSignalError):
        loop.add_signal_handler(signal.SIGKILL, print)
    assert list(signal_table(loop).handlers) == [signal.SIGUSR1]
    assert signal.getsignal(signal.SIGUSR1) not in (signal.SIG_DFL, signal.SIG_IGN)


async def _coroutine_function() -> None:
    pass


@pytest.mark.parametrize("make_callback", [lambda: _coroutine_function, _coroutine_function])
def test_coroutines_are_type_error(
    loop: asyncio.AbstractEventLoop, make_callback: Callable[[], Any]
) -> None:
    callback = make_callback()
    try:
        with pytest.raises(
            TypeError, match=r"coroutines cannot be used with add_signal_handler\(\)"
        ):
            loop.add_signal_handler(signal.SIGUSR1, callback)
    finally:
        if asyncio.iscoroutine(callback):
            callback.close()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_closed_loop_refuses(loop: asyncio.AbstractEventLoop) -> None:
    loop.close()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.add_signal_handler(signal.SIGUSR1, print)


def test_add_from_another_thread_is_runtime_error(loop: asyncio.AbstractEventLoop) -> None:
    errors: list[BaseException] = []

    def add() -> None:
        try:
            loop.add_signal_handler(signal.SIGUSR1, print)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=add)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert isinstance(errors[0], RuntimeError)
    assert "main thread" in str(errors[0])
    assert signal_table(loop).handlers == {}
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
