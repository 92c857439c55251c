"""remove_signal_handler, close(), and several loops: what comes back, and who owns what."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
from collections.abc import Iterator

import pytest

import loopkit
from loopkit.plugins.signals import channel
from loopkit.plugins.signals.table import table as signal_table


def open_fd_count() -> int:
    """How many fds this process has open (to check that nothing leaks)."""
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def foreign_wakeup() -> Iterator[socket.socket]:
    """A wake-up fd installed by "another library" before loopkit's."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    reader.setblocking(False)
    previous = signal.set_wakeup_fd(writer.fileno())
    try:
        yield writer
    finally:
        signal.set_wakeup_fd(previous)
        reader.close()
        writer.close()


def test_remove_answers_whether_a_handler_was_removed(loop: asyncio.AbstractEventLoop) -> None:
    assert loop.remove_signal_handler(signal.SIGUSR1) is False
    loop.add_signal_handler(signal.SIGUSR1, print)
    assert loop.remove_signal_handler(signal.SIGUSR1) is True
    assert loop.remove_signal_handler(signal.SIGUSR1) is False


def test_remove_brings_back_the_default_disposition(loop: asyncio.AbstractEventLoop) -> None:
    loop.add_signal_handler(signal.SIGUSR1, print)
    assert signal.getsignal(signal.SIGUSR1) not in (signal.SIG_DFL, signal.SIG_IGN)
    loop.remove_signal_handler(signal.SIGUSR1)
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_remove_gives_sigint_back_to_keyboard_interrupt(loop: asyncio.AbstractEventLoop) -> None:
    loop.add_signal_handler(signal.SIGINT, print)
    loop.remove_signal_handler(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        signal.sigtimedwait([], 0)  # a syscall, so the handler surely ran


def test_removed_handler_does_not_run_even_if_already_queued(
    loop: asyncio.AbstractEventLoop,
) -> None:
    seen: list[str] = []
    loop.add_signal_handler(signal.SIGUSR1, seen.append, "usr1")

    def send_then_remove() -> None:
        loop.add_signal_handler(signal.SIGUSR2, print)  # keeps the channel open
        os.kill(os.getpid(), signal.SIGUSR1)
        loop.remove_signal_handler(signal.SIGUSR1)

    loop.call_soon(send_then_remove)
    loop.call_later(0.2, loop.stop)
    loop.run_forever()
    assert seen == []


def test_last_remove_restores_the_previous_wakeup_fd(
    loop: asyncio.AbstractEventLoop, foreign_wakeup: socket.socket
) -> None:
    loop.add_signal_handler(signal.SIGUSR1, print)
    loop.add_signal_handler(signal.SIGUSR2, print)
    assert signal.set_wakeup_fd(-1) not in (-1, foreign_wakeup.fileno())  # loopkit's own
    loop.add_signal_handler(signal.SIGUSR2, print)  # takes it back
    loop.remove_signal_handler(signal.SIGUSR1)
    assert signal.set_wakeup_fd(foreign_wakeup.fileno()) not in (-1, foreign_wakeup.fileno())
    loop.remove_signal_handler(signal.SIGUSR2)
    assert signal.set_wakeup_fd(-1) == foreign_wakeup.fileno()


def test_close_removes_handlers_and_restores_the_previous_wakeup_fd(
    foreign_wakeup: socket.socket,
) -> None:
    fds_before = open_fd_count()
    loop = loopkit.new_event_loop()
    loop.add_signal_handler(signal.SIGUSR1, print)
    loop.add_signal_handler(signal.SIGINT, print)
    loop.close()
    assert signal_table(loop).handlers == {}
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.set_wakeup_fd(-1) == foreign_wakeup.fileno()
    assert open_fd_count() == fds_before


def test_close_without_a_previous_wakeup_fd_leaves_none() -> None:
    fds_before = open_fd_count()
    loop = loopkit.new_event_loop()
    loop.add_signal_handler(signal.SIGHUP, print)
    loop.close()
    assert signal.set_wakeup_fd(-1) == -1
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    assert open_fd_count() == fds_before


def test_wakeup_fd_installed_after_loopkits_is_left_in_place(
    foreign_wakeup: socket.socket,
) -> None:
    later_reader, later_writer = socket.socketpair()
    later_writer.setblocking(False)
    try:
        loop = loopkit.new_event_loop()
        loop.add_signal_handler(signal.SIGUSR1, print)
        signal.set_wakeup_fd(later_writer.fileno())  # another library takes over
        loop.close()
        assert signal.set_wakeup_fd(foreign_wakeup.fileno()) == later_writer.fileno()
    finally:
        later_reader.close()
        later_writer.close()


def test_saved_wakeup_fd_closed_meanwhile_falls_back_to_none() -> None:
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    loop = loopkit.new_event_loop()
    loop.add_signal_handler(signal.SIGUSR1, print)
    reader.close()
    writer.close()
    loop.close()
    assert signal.set_wakeup_fd(-1) == -1


def test_close_from_another_thread_keeps_the_channel_safe() -> None:
    """The interpreter refuses dispositions off the main thread: report, don't corrupt."""
    loop = loopkit.new_event_loop()
    contexts: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: contexts.append(context))
    loop.add_signal_handler(signal.SIGUSR1, print)
    thread = threading.Thread(target=loop.close)
    thread.start()
    thread.join()
    assert loop.is_closed()
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], ValueError)
    # The wake-up fd could not be restored from there, so loopkit's channel
    # stays open (never a dangling fd) until a main-thread user lets go.
    assert channel._pair is not None
    assert signal.set_wakeup_fd(-1) == channel._pair.writer.fileno()
    channel._pair.close()
    channel._pair = None


# ----------------------------------------------------------------------
# Several loops in one process
# ----------------------------------------------------------------------


def test_each_loop_runs_only_its_own_handlers() -> None:
    first = loopkit.new_event_loop()
    second = loopkit.new_event_loop()
    seen: list[str] = []
    try:
        first.add_signal_handler(signal.SIGUSR1, seen.append, "first:usr1")
        second.add_signal_handler(signal.SIGUSR2, seen.append, "second:usr2")

        async def send_both() -> None:
            os.kill(os.getpid(), signal.SIGUSR1)
            os.kill(os.getpid(), signal.SIGUSR2)
            await asyncio.sleep(0.2)

        # Only the second loop runs: its own handler runs there, and the
        # first loop's signal is kept for the first loop.
        second.run_until_complete(send_both())
        assert seen == ["second:usr2"]
        first.run_until_complete(asyncio.sleep(0.05))
        assert seen == ["second:usr2", "first:usr1"]
    finally:
        first.close()
        second.close()
    assert signal.set_wakeup_fd(-1) == -1


def test_newest_handler_for_a_signal_owns_it_until_removed() -> None:
    first = loopkit.new_event_loop()
    second = loopkit.new_event_loop()
    seen: list[str] = []

    async def send(sig: int) -> None:
        os.kill(os.getpid(), sig)
        await asyncio.sleep(0.1)

    try:
        first.add_signal_handler(signal.SIGHUP, seen.append, "first")
        second.add_signal_handler(signal.SIGHUP, seen.append, "second")
        first.run_until_complete(send(signal.SIGHUP))
        second.run_until_complete(asyncio.sleep(0.05))
        assert seen == ["second"]

        # Removing the newest gives the signal back to the older handler;
        # the disposition stays caught (SIGHUP's default would end pytest).
        assert second.remove_signal_handler(signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) != signal.SIG_DFL
        first.run_until_complete(send(signal.SIGHUP))
        assert seen == ["second", "first"]
    finally:
        second.close()
        assert signal.getsignal(signal.SIGHUP) != signal.SIG_DFL
        first.close()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL


def test_closing_one_loop_leaves_the_other_loops_handlers_working() -> None:
    first = loopkit.new_event_loop()
    second = loopkit.new_event_loop()
    try:
        first.add_signal_handler(signal.SIGUSR1, print)
        second.add_signal_handler(signal.SIGUSR2, second.stop)
        first.close()
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
        second.call_soon(os.kill, os.getpid(), signal.SIGUSR2)
        second.call_later(5, second.stop)
        started = second.time()
        second.run_forever()
        assert second.time() - started < 4
    finally:
        first.close()
        second.close()
