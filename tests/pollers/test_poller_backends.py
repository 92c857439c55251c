"""The poller backends on their own: the contract the kernel relies on.

Every backend takes (fd, EVENT_READ | EVENT_WRITE) registrations and answers
``poll(timeout)`` with (fd, mask) pairs in the kernel's bit values. Each test
runs once per backend; kqueue exists only on the BSDs and macOS.
"""

from __future__ import annotations

import os
import select
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import loopkit
from loopkit.core.poller import EVENT_READ, EVENT_WRITE, MAX_POLL_TIMEOUT, WAKES_READER
from loopkit.plugins.pollers import epoll, kqueue, poll
from loopkit.plugins.pollers import select as select_backend

_ASSEMBLY = loopkit.assemble()
_ALL = ["epoll", "kqueue", "poll", "select"]


def _params() -> list[Any]:
    params = []
    for name in _ALL:
        info = _ASSEMBLY.pollers[name][0] if name in _ASSEMBLY.pollers else None
        if info is None or not info.is_available():
            reason = f"{name} is not available on {sys.platform}"
            if name == "kqueue":
                reason = f"kqueue exists only on the BSDs and macOS, not on {sys.platform}"
            if name == "epoll":
                reason = f"epoll exists only on Linux, not on {sys.platform}"
            params.append(pytest.param(name, marks=pytest.mark.skip(reason=reason)))
        else:
            params.append(name)
    return params


@pytest.fixture(params=_params())
def poller(request: pytest.FixtureRequest) -> Iterator[Any]:
    backend = _ASSEMBLY.poller_info(request.param).create()
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _masks(result: list[tuple[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for fd, mask in result:
        merged[fd] = merged.get(fd, 0) | mask
    return merged


def test_kernel_bits_are_the_operating_systems_poll_bits() -> None:
    # epoll and poll hand their native result lists to the kernel untouched.
    assert select.POLLIN == EVENT_READ
    assert select.POLLOUT == EVENT_WRITE
    if hasattr(select, "EPOLLIN"):
        assert select.EPOLLIN == EVENT_READ
        assert select.EPOLLOUT == EVENT_WRITE


def test_nothing_ready_returns_an_empty_list_after_the_timeout(poller: Any) -> None:
    assert list(poller.poll(0)) == []
    assert list(poller.poll(0.01)) == []


def test_a_negative_timeout_does_not_block(poller: Any) -> None:
    assert list(poller.poll(-1.0 if poller.name != "epoll" else 0)) == []


def test_readable_fd_is_reported_with_the_read_bit(
    poller: Any, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    poller.register(a.fileno(), EVENT_READ)
    assert _masks(poller.poll(0)).get(a.fileno(), 0) == 0
    b.send(b"x")
    masks = _masks(poller.poll(1.0))
    assert masks[a.fileno()] & EVENT_READ
    assert not masks[a.fileno()] & EVENT_WRITE


def test_writable_fd_is_reported_with_the_write_bit(
    poller: Any, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, _ = pair
    poller.register(a.fileno(), EVENT_WRITE)
    masks = _masks(poller.poll(1.0))
    assert masks[a.fileno()] & EVENT_WRITE
    assert not masks[a.fileno()] & EVENT_READ


def test_modify_changes_the_watched_events(
    poller: Any, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    b.send(b"x")  # a is readable and writable
    poller.register(a.fileno(), EVENT_READ)
    assert _masks(poller.poll(1.0))[a.fileno()] & (EVENT_READ | EVENT_WRITE) == EVENT_READ
    poller.modify(a.fileno(), EVENT_WRITE)
    assert _masks(poller.poll(1.0))[a.fileno()] & (EVENT_READ | EVENT_WRITE) == EVENT_WRITE
    poller.modify(a.fileno(), EVENT_READ | EVENT_WRITE)
    assert _masks(poller.poll(1.0))[a.fileno()] & (EVENT_READ | EVENT_WRITE) == (
        EVENT_READ | EVENT_WRITE
    )


def test_unregistered_fd_is_no_longer_reported(
    poller: Any, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    b.send(b"x")
    poller.register(a.fileno(), EVENT_READ)
    assert a.fileno() in _masks(poller.poll(1.0))
    poller.unregister(a.fileno())
    assert a.fileno() not in _masks(poller.poll(0))
    poller.unregister(a.fileno())  # twice is not an error


def test_unregistering_a_closed_fd_is_not_an_error(poller: Any) -> None:
    a, b = socket.socketpair()
    fd = a.fileno()
    poller.register(fd, EVENT_READ)
    a.close()
    b.close()
    poller.unregister(fd)


def test_registering_a_closed_fd_is_an_os_error(poller: Any) -> None:
    a, b = socket.socketpair()
    fd = a.detach()
    os.close(fd)
    b.close()
    with pytest.raises(OSError):
        poller.register(fd, EVENT_READ)


def test_peer_hang_up_wakes_the_reader(
    poller: Any, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    poller.register(a.fileno(), EVENT_READ)
    b.close()
    masks = _masks(poller.poll(1.0))
    assert masks[a.fileno()] & WAKES_READER


def test_the_longest_timeout_is_accepted(
    poller: Any, pair: tuple[socket.socket, socket.socket]
) -> None:
    """The kernel never passes more than MAX_POLL_TIMEOUT; every backend takes it."""
    a, b = pair
    b.send(b"x")
    poller.register(a.fileno(), EVENT_READ)
    assert a.fileno() in _masks(poller.poll(MAX_POLL_TIMEOUT))


def test_close_is_idempotent(poller: Any) -> None:
    poller.close()
    poller.close()


def test_the_plugins_declare_their_platforms() -> None:
    assert epoll._available() is hasattr(select, "epoll")
    assert kqueue._available() is hasattr(select, "kqueue")
    assert poll._available() is hasattr(select, "poll")
    names = {info.name for info in select_backend.loopkit_pollers()}
    assert names == {"select"}


def test_the_best_available_poller_is_the_default() -> None:
    best = _ASSEMBLY.available_pollers()[0]
    expected = "epoll" if hasattr(select, "epoll") else "kqueue"
    assert best == expected
    loop = loopkit.new_event_loop()
    try:
        assert loop._poller.name == best  # type: ignore[attr-defined]
    finally:
        loop.close()


@pytest.mark.skipif(not hasattr(select, "epoll"), reason="epoll exists only on Linux")
def test_epoll_registers_a_new_file_that_reused_a_forgotten_fd_number() -> None:
    backend = epoll.EpollPoller()
    try:
        a, b = socket.socketpair()
        fd = a.fileno()
        backend.register(fd, EVENT_READ)
        a.close()
        b.close()
        c, d = socket.socketpair()
        try:
            if c.fileno() != fd:  # pragma: no cover - depends on fd allocation
                pytest.skip("the fd number was not reused")
            d.send(b"x")
            backend.modify(fd, EVENT_READ)  # epoll forgot fd: this registers c
            assert _masks(backend.poll(1.0))[fd] & EVENT_READ
        finally:
            c.close()
            d.close()
    finally:
        backend.close()
