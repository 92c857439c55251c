"""add_reader / add_writer / remove_reader / remove_writer, under every poller.

Real socket pairs throughout; ``poller_loop`` runs each test once per poller
backend available on this platform.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _run_until(
    loop: asyncio.AbstractEventLoop, condition: Callable[[], object], timeout: float = 2.0
) -> None:
    """Run ``loop`` until ``condition()`` is true (TimeoutError after ``timeout``)."""

    async def waiter() -> None:
        while not condition():
            await asyncio.sleep(0.001)

    loop.run_until_complete(asyncio.wait_for(waiter(), timeout))


@pytest.mark.parametrize("as_object", [False, True], ids=["int-fd", "fileno-object"])
def test_reader_runs_when_data_arrives(
    poller_loop: asyncio.AbstractEventLoop,
    pair: tuple[socket.socket, socket.socket],
    as_object: bool,
) -> None:
    a, b = pair
    received: list[bytes] = []
    poller_loop.add_reader(a if as_object else a.fileno(), lambda: received.append(a.recv(100)))
    b.send(b"ping")
    _run_until(poller_loop, lambda: received)
    assert received == [b"ping"]
    assert poller_loop.remove_reader(a if as_object else a.fileno()) is True


def test_reader_is_called_with_its_arguments_until_removed(
    poller_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    calls: list[tuple[str, bytes]] = []

    def on_readable(label: str) -> None:
        calls.append((label, a.recv(1)))
        if len(calls) == 3:
            poller_loop.remove_reader(a)

    poller_loop.add_reader(a, on_readable, "label")
    b.send(b"abcdef")
    _run_until(poller_loop, lambda: calls)
    poller_loop.run_until_complete(asyncio.sleep(0.02))
    # Level-triggered: called once per readable iteration, until removed.
    assert calls == [("label", b"a"), ("label", b"b"), ("label", b"c")]


@pytest.mark.parametrize("as_object", [False, True], ids=["int-fd", "fileno-object"])
def test_writer_runs_when_the_fd_is_writable(
    poller_loop: asyncio.AbstractEventLoop,
    pair: tuple[socket.socket, socket.socket],
    as_object: bool,
) -> None:
    a, b = pair
    calls: list[str] = []

    def on_writable() -> None:
        calls.append("writable")
        a.send(b"x")
        poller_loop.remove_writer(a)

    poller_loop.add_writer(a if as_object else a.fileno(), on_writable)
    _run_until(poller_loop, lambda: calls)
    assert calls == ["writable"]
    assert b.recv(10) == b"x"


def test_remove_answers_whether_something_was_watched(
    poller_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, _ = pair
    assert poller_loop.remove_reader(a) is False
    assert poller_loop.remove_writer(a) is False
    poller_loop.add_reader(a, print)
    poller_loop.add_writer(a, print)
    assert poller_loop.remove_reader(a) is True
    assert poller_loop.remove_reader(a) is False
    assert poller_loop.remove_writer(a.fileno()) is True
    assert poller_loop.remove_writer(a.fileno()) is False


def test_reader_and_writer_on_one_fd_are_independent(
    poller_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    events: list[str] = []

    def on_writable() -> None:
        events.append("w")
        poller_loop.remove_writer(a)

    poller_loop.add_reader(a, lambda: events.append(f"r:{a.recv(10)!r}"))
    poller_loop.add_writer(a, on_writable)
    _run_until(poller_loop, lambda: events)
    assert events == ["w"]
    # The reader survived the writer's removal.
    b.send(b"hi")
    _run_until(poller_loop, lambda: len(events) == 2)
    assert events == ["w", "r:b'hi'"]
    assert poller_loop.remove_reader(a) is True


def test_removing_the_reader_keeps_the_writer(
    poller_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    events: list[str] = []
    poller_loop.add_reader(a, events.append, "reader")
    poller_loop.add_writer(a, lambda: (events.append("writer"), poller_loop.remove_writer(a)))
    assert poller_loop.remove_reader(a) is True
    b.send(b"data")  # would wake the reader if it were still registered
    _run_until(poller_loop, lambda: events)
    poller_loop.run_until_complete(asyncio.sleep(0.01))
    assert events == ["writer"]


def test_a_second_add_reader_replaces_and_cancels_the_first(
    poller_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    calls: list[str] = []
    first = poller_loop._add_reader(a, calls.append, "first")  # type: ignore[attr-defined]
    poller_loop.add_reader(a, lambda: (calls.append("second"), a.recv(10)))
    assert first.cancelled()
    b.send(b"x")
    _run_until(poller_loop, lambda: calls)
    assert calls == ["second"]
    poller_loop.remove_reader(a)


def test_replacing_a_writer_cancels_the_old_one(
    poller_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, _ = pair
    first = poller_loop._add_writer(a, print)  # type: ignore[attr-defined]
    second = poller_loop._add_writer(a, print)  # type: ignore[attr-defined]
    assert first.cancelled() and not second.cancelled()
    assert poller_loop.remove_writer(a) is True
    assert second.cancelled()


def test_peer_closing_wakes_the_reader(
    poller_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    received: list[bytes] = []

    def on_readable() -> None:
        received.append(a.recv(10))
        poller_loop.remove_reader(a)

    poller_loop.add_reader(a, on_readable)
    b.close()
    _run_until(poller_loop, lambda: received)
    assert received == [b""]


# ----------------------------------------------------------------------
# Bad file descriptors: asyncio's exceptions, and nothing left registered
# ----------------------------------------------------------------------


class _NoFileno:
    pass


class _BadFileno:
    def fileno(self) -> str:
        return "not a number"


@pytest.mark.parametrize(
    "bad",
    [-1, _NoFileno(), _BadFileno(), "3"],
    ids=["negative", "no-fileno", "bad-fileno", "string"],
)
@pytest.mark.parametrize("method", ["add_reader", "add_writer", "remove_reader", "remove_writer"])
def test_invalid_fd_is_a_value_error(
    poller_loop: asyncio.AbstractEventLoop, bad: Any, method: str
) -> None:
    with pytest.raises(ValueError, match="Invalid file"):
        getattr(poller_loop, method)(bad, *([print] if method.startswith("add") else []))


@pytest.mark.parametrize("method", ["add_reader", "add_writer"])
def test_closed_socket_object_is_a_value_error(
    poller_loop: asyncio.AbstractEventLoop, method: str
) -> None:
    a, b = socket.socketpair()
    a.close()
    b.close()
    with pytest.raises(ValueError, match="Invalid file descriptor: -1"):
        getattr(poller_loop, method)(a, print)


@pytest.mark.parametrize("method", ["add_reader", "add_writer"])
def test_closed_fd_is_an_os_error_and_leaves_nothing_registered(
    poller_loop: asyncio.AbstractEventLoop, method: str
) -> None:
    a, b = socket.socketpair()
    fd = a.detach()
    os.close(fd)
    try:
        with pytest.raises(OSError):
            getattr(poller_loop, method)(fd, print)
        assert poller_loop.remove_reader(fd) is False
        assert poller_loop.remove_writer(fd) is False
        assert fd not in poller_loop._readers  # type: ignore[attr-defined]
        assert fd not in poller_loop._writers  # type: ignore[attr-defined]
        # The loop still runs.
        assert poller_loop.run_until_complete(asyncio.sleep(0.001, "ok")) == "ok"
    finally:
        b.close()


@pytest.mark.parametrize("method", ["add_reader", "add_writer"])
def test_closed_fd_raises_os_error_on_asyncio_too(
    any_loop: asyncio.AbstractEventLoop, method: str
) -> None:
    a, b = socket.socketpair()
    fd = a.detach()
    os.close(fd)
    try:
        with pytest.raises(OSError):
            getattr(any_loop, method)(fd, print)
        assert any_loop.remove_reader(fd) is False
        assert any_loop.remove_writer(fd) is False
    finally:
        b.close()


def test_an_fd_number_reused_after_close_can_be_watched_again(
    poller_loop: asyncio.AbstractEventLoop,
) -> None:
    """A watcher left on a closed fd must not break a new fd with the same number.

    (epoll forgets a closed fd by itself; the loop's own table does not.)
    """
    a, b = socket.socketpair()
    old_fd = a.fileno()
    poller_loop.add_reader(a, print)
    a.close()
    b.close()
    c, d = socket.socketpair()
    try:
        if c.fileno() != old_fd:  # pragma: no cover - depends on fd allocation
            pytest.skip("the fd number was not reused")
        received: list[bytes] = []
        poller_loop.add_reader(c, lambda: received.append(c.recv(10)))
        d.send(b"new")
        _run_until(poller_loop, lambda: received)
        assert received == [b"new"]
        assert poller_loop.remove_reader(c) is True
    finally:
        c.close()
        d.close()


def test_removing_a_watcher_of_a_closed_fd_succeeds(
    poller_loop: asyncio.AbstractEventLoop,
) -> None:
    a, b = socket.socketpair()
    fd = a.fileno()
    poller_loop.add_reader(fd, print)
    poller_loop.add_writer(fd, print)
    a.close()
    b.close()
    assert poller_loop.remove_reader(fd) is True
    assert poller_loop.remove_writer(fd) is True
    assert poller_loop.run_until_complete(asyncio.sleep(0.001, "ok")) == "ok"


class _Transport:
    """The one thing a transport plugin registers: an object with is_closing()."""

    def __init__(self) -> None:
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing


def test_fd_owned_by_a_live_transport_is_refused(
    poller_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, _ = pair
    transport = _Transport()
    poller_loop._fd_owners[a.fileno()] = transport  # type: ignore[attr-defined]
    for method in ("add_reader", "add_writer"):
        with pytest.raises(RuntimeError, match="is used by transport"):
            getattr(poller_loop, method)(a, print)
    for method in ("remove_reader", "remove_writer"):
        with pytest.raises(RuntimeError, match="is used by transport"):
            getattr(poller_loop, method)(a)
    transport.closing = True
    poller_loop.add_reader(a, print)
    assert poller_loop.remove_reader(a) is True


@pytest.mark.parametrize("method", ["add_reader", "add_writer", "remove_reader", "remove_writer"])
def test_an_invalid_file_object_is_a_value_error_even_on_a_closed_loop(
    any_loop: asyncio.AbstractEventLoop, method: str
) -> None:
    any_loop.close()
    with pytest.raises(ValueError, match="Invalid file object"):
        getattr(any_loop, method)(_NoFileno(), *([print] if method.startswith("add") else []))


def test_a_cancelled_reader_handle_never_runs_and_is_dropped_on_its_next_event(
    poller_loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    calls: list[str] = []
    handle = poller_loop._add_reader(a, calls.append, "reader")  # type: ignore[attr-defined]
    handle.cancel()
    b.send(b"x")
    poller_loop.run_until_complete(asyncio.sleep(0.02))
    assert calls == []
    assert a.fileno() not in poller_loop._readers  # type: ignore[attr-defined]
    assert poller_loop.remove_reader(a) is False


# ----------------------------------------------------------------------
# A socket object closed while watched (its fileno() is -1 by then)
# ----------------------------------------------------------------------


def _watched_fds(loop: asyncio.AbstractEventLoop) -> set[int]:
    """The fds ``loop`` watches besides its own wake-up fd (asyncio's or loopkit's)."""
    selector = getattr(loop, "_selector", None)
    if selector is not None:  # asyncio: its self-pipe is the one key it keeps
        return {key.fd for key in selector.get_map().values()} - {loop._ssock.fileno()}  # type: ignore[attr-defined]
    kernel: Any = loop
    return (set(kernel._readers) | set(kernel._writers)) - {kernel._wakeup.fileno()}


@pytest.mark.parametrize("family", [socket.SOCK_STREAM, socket.SOCK_DGRAM], ids=["stream", "dgram"])
@pytest.mark.parametrize("watch", ["reader", "writer"])
def test_a_socket_closed_while_watched_is_unwatched_by_the_same_object(
    any_loop: asyncio.AbstractEventLoop, family: int, watch: str
) -> None:
    """anyio's Unix sockets close the socket, then remove their watcher with
    it: asyncio finds the watcher by identity; so does loopkit."""
    a, b = socket.socketpair(socket.AF_UNIX, family)
    other = "writer" if watch == "reader" else "reader"
    getattr(any_loop, f"add_{watch}")(a, print)
    a.close()
    b.close()
    assert getattr(any_loop, f"remove_{other}")(a) is False
    assert getattr(any_loop, f"remove_{watch}")(a) is True
    assert _watched_fds(any_loop) == set()
    # Gone now: like any closed socket nobody watches, a ValueError.
    with pytest.raises(ValueError, match="Invalid file descriptor: -1"):
        getattr(any_loop, f"remove_{watch}")(a)
    assert any_loop.run_until_complete(asyncio.sleep(0.001, "ok")) == "ok"


def test_a_socket_closed_while_watched_both_ways_is_unwatched_under_every_poller(
    poller_loop: asyncio.AbstractEventLoop,
) -> None:
    """Both watchers go, one after the other, and the loop runs on. (asyncio's
    epoll loop raises OSError at the first removal here: it asks epoll to
    modify the closed fd.)"""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    poller_loop.add_reader(a, print)
    poller_loop.add_writer(a, print)
    a.close()
    b.close()
    assert poller_loop.remove_reader(a) is True
    assert poller_loop.remove_writer(a) is True
    assert _watched_fds(poller_loop) == set()
    assert poller_loop.run_until_complete(asyncio.sleep(0.001, "ok")) == "ok"


def test_a_closed_socket_that_was_watched_by_number_is_a_value_error(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    a, b = socket.socketpair()
    fd = a.fileno()
    any_loop.add_reader(fd, print)
    a.close()
    b.close()
    with pytest.raises(ValueError, match="Invalid file descriptor: -1"):
        any_loop.remove_reader(a)
    assert any_loop.remove_reader(fd) is True


@pytest.mark.parametrize("newer", ["add_reader", "sock_recv"])
def test_a_closed_socket_never_removes_a_newer_watcher_on_its_fd_number(
    poller_loop: asyncio.AbstractEventLoop, newer: str
) -> None:
    a, b = socket.socketpair()
    old_fd = a.fileno()
    poller_loop.add_reader(a, print)
    a.close()
    b.close()
    c, d = socket.socketpair()
    c.setblocking(False)
    try:
        if c.fileno() != old_fd:  # pragma: no cover - depends on fd allocation
            pytest.skip("the fd number was not reused")

        async def main() -> bytes:
            if newer == "add_reader":
                got: asyncio.Future[bytes] = poller_loop.create_future()
                poller_loop.add_reader(c, lambda: got.done() or got.set_result(c.recv(10)))
            else:
                got = asyncio.ensure_future(poller_loop.sock_recv(c, 10))  # type: ignore[arg-type]
                await asyncio.sleep(0.01)
            # The old object reaches no watcher now: asyncio's "not watched".
            with pytest.raises(ValueError, match="Invalid file descriptor: -1"):
                poller_loop.remove_reader(a)
            d.send(b"new")
            return await asyncio.wait_for(got, 2)

        assert poller_loop.run_until_complete(main()) == b"new"
        if newer == "add_reader":
            assert poller_loop.remove_reader(c) is True
        assert _watched_fds(poller_loop) == set()
    finally:
        c.close()
        d.close()
