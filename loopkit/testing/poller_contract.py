"""The poller contract: what every poller backend must do, as tests to subclass.

A poller author writes::

    from loopkit.testing import PollerContract
    import my_poller

    class TestMyPoller(PollerContract):
        poller_info = my_poller.INFO        # the PollerInfo the plugin offers

and pytest runs every ``test_*`` method below against real file descriptors
(socketpairs, a refused TCP connect over loopback) and, at the end, a real
TCP echo on a loop that polls through the backend. A backend that is not
available here (``is_available()`` is false) is skipped with a reason.

The rules checked are the kernel's (see :mod:`loopkit.plugin`): masks are
poll(2) bits (EVENT_READ = POLLIN = 1, EVENT_WRITE = POLLOUT = 4, the
EVENT_ERROR bits for error and hang-up), an error or hang-up must wake the
reader or the writer of the fd, ``unregister`` of a closed fd is not an
error, ``close`` is idempotent. This module never patches the backend: it
only calls the five methods of :class:`loopkit.plugin.Poller`.
"""

from __future__ import annotations

import asyncio
import errno
import os
import resource
import socket
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

import loopkit
from loopkit.core.kernel import KernelLoop
from loopkit.plugin import (
    EVENT_ERROR,
    EVENT_READ,
    EVENT_WRITE,
    MAX_POLL_TIMEOUT,
    Poller,
    PollerInfo,
)

#: What ``selectors`` uses for "writable"; a backend reporting it has
#: mistaken the convention.
_SELECTORS_EVENT_WRITE = 2

_CONVENTION = (
    "loopkit's pollers speak poll(2) bits: EVENT_READ = select.POLLIN = 1, "
    "EVENT_WRITE = select.POLLOUT = 4, EVENT_ERROR = POLLERR|POLLHUP|POLLNVAL "
    f"= {EVENT_ERROR:#x} (import them from loopkit.plugin); not the selectors "
    "module's EVENT_READ = 1, EVENT_WRITE = 2"
)


def merge(result: list[tuple[int, int]]) -> dict[int, int]:
    """A poll result as fd -> mask (a backend may report an fd twice)."""
    merged: dict[int, int] = {}
    for fd, mask in result:
        merged[fd] = merged.get(fd, 0) | mask
    return merged


class PollerContract:
    """Subclass and set ``poller_info``; pytest runs the contract.

    Class attributes a subclass may set:

    * ``poller_info`` (required): the :class:`~loopkit.PollerInfo`.
    * ``fd_limit``: the highest fd number the backend can watch
      (``select`` stops below FD_SETSIZE); None for no limit. Above it,
      ``register`` must fail at once with ValueError or OSError.
    """

    poller_info: ClassVar[PollerInfo]
    fd_limit: ClassVar[int | None] = None
    #: How many socketpairs the "many fds" test watches at once.
    many_fds: ClassVar[int] = 200

    # -- fixtures ---------------------------------------------------------

    @pytest.fixture
    def poller(self, no_leaks: None) -> Iterator[Poller]:
        """A fresh backend from ``poller_info.create()``, closed afterwards."""
        info = self._info()
        if not info.is_available():
            pytest.skip(f"poller {info.name!r} is not available here ({info.description})")
        backend = info.create()
        try:
            yield backend
        finally:
            backend.close()

    @pytest.fixture
    def pair(self, poller: Poller) -> Iterator[tuple[socket.socket, socket.socket]]:
        """A connected socketpair, closed afterwards."""
        a, b = socket.socketpair()
        try:
            yield a, b
        finally:
            a.close()
            b.close()

    def _info(self) -> PollerInfo:
        info = getattr(type(self), "poller_info", None)
        if not isinstance(info, PollerInfo):
            raise TypeError(
                f"{type(self).__name__} must set poller_info to the PollerInfo of the "
                f"backend under test, not {info!r}"
            )
        return info

    def _poll_for(self, poller: Poller, fd: int, timeout: float = 2.0) -> int:
        """Poll until ``fd`` is reported (or ``timeout``); its merged mask or 0."""
        deadline = time.monotonic() + timeout
        while True:
            mask = merge(list(poller.poll(0.05))).get(fd, 0)
            if mask or time.monotonic() >= deadline:
                return mask

    # -- identity ---------------------------------------------------------

    def test_the_backend_names_itself_as_its_info(self, poller: Poller) -> None:
        assert poller.name == self._info().name, (
            "the poller's name attribute must equal its PollerInfo.name "
            "(python -m loopkit and error messages show it)"
        )

    # -- masks and readiness ----------------------------------------------

    def test_the_write_bit_is_accepted_at_register(
        self, poller: Poller, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        a, _ = pair
        try:
            poller.register(a.fileno(), EVENT_READ | EVENT_WRITE)
        except ValueError as exc:
            pytest.fail(f"register(fd, EVENT_READ | EVENT_WRITE) raised {exc!r}: {_CONVENTION}")

    def test_a_writable_fd_is_reported_with_the_pollout_bit(
        self, poller: Poller, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        a, _ = pair
        poller.register(a.fileno(), EVENT_WRITE)
        mask = self._poll_for(poller, a.fileno())
        assert mask, "a connected, empty socket registered for EVENT_WRITE was not reported"
        if mask & _SELECTORS_EVENT_WRITE and not mask & EVENT_WRITE:
            pytest.fail(f"a writable fd was reported with mask {mask:#x}: {_CONVENTION}")
        assert mask & EVENT_WRITE, f"writable fd reported with mask {mask:#x}: {_CONVENTION}"
        assert not mask & EVENT_READ, "an fd with nothing to read was reported readable"

    def test_a_readable_fd_is_reported_with_the_pollin_bit(
        self, poller: Poller, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        a, b = pair
        poller.register(a.fileno(), EVENT_READ)
        assert merge(list(poller.poll(0))).get(a.fileno(), 0) == 0, "reported before any data"
        b.send(b"x")
        mask = self._poll_for(poller, a.fileno())
        assert mask & EVENT_READ, f"readable fd reported with mask {mask:#x}: {_CONVENTION}"
        assert not mask & EVENT_WRITE, "an fd registered for EVENT_READ only came back writable"

    def test_readiness_is_level_triggered(
        self, poller: Poller, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        a, b = pair
        poller.register(a.fileno(), EVENT_READ)
        b.send(b"x")
        assert self._poll_for(poller, a.fileno()) & EVENT_READ
        assert merge(list(poller.poll(0.5))).get(a.fileno(), 0) & EVENT_READ, (
            "data not read yet must be reported again on the next poll (level-triggered): "
            "the kernel calls a reader once per poll and relies on it"
        )

    def test_modify_changes_the_watched_events(
        self, poller: Poller, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        a, b = pair
        b.send(b"x")  # a is readable and writable
        both = EVENT_READ | EVENT_WRITE
        poller.register(a.fileno(), EVENT_READ)
        assert self._poll_for(poller, a.fileno()) & both == EVENT_READ
        poller.modify(a.fileno(), EVENT_WRITE)
        assert self._poll_for(poller, a.fileno()) & both == EVENT_WRITE
        poller.modify(a.fileno(), both)
        assert self._poll_for(poller, a.fileno()) & both == both

    def test_an_unregistered_fd_is_no_longer_reported(
        self, poller: Poller, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        a, b = pair
        b.send(b"x")
        poller.register(a.fileno(), EVENT_READ)
        assert self._poll_for(poller, a.fileno())
        poller.unregister(a.fileno())
        assert a.fileno() not in merge(list(poller.poll(0)))

    def test_unregistering_a_closed_fd_is_not_an_error(self, poller: Poller) -> None:
        a, b = socket.socketpair()
        fd = a.fileno()
        poller.register(fd, EVENT_READ)
        a.close()
        b.close()
        poller.unregister(fd)  # the kernel does this when a transport closes its socket
        assert list(poller.poll(0)) == [], "a closed, unregistered fd was still reported"

    def test_registering_an_fd_that_is_not_open_raises_os_error_or_value_error(
        self, poller: Poller
    ) -> None:
        a, b = socket.socketpair()
        fd = a.detach()
        os.close(fd)
        b.close()
        with pytest.raises((OSError, ValueError)):
            poller.register(fd, EVENT_READ)
            poller.poll(0)  # a backend may only find out here

    # -- errors and hang-ups ----------------------------------------------

    def test_a_peer_hang_up_wakes_the_reader(
        self, poller: Poller, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        a, b = pair
        poller.register(a.fileno(), EVENT_READ)
        b.close()
        mask = self._poll_for(poller, a.fileno())
        assert mask & (EVENT_READ | EVENT_ERROR), (
            f"after the peer closed, the reader must be woken (EVENT_READ or an "
            f"EVENT_ERROR bit) so that its recv() sees EOF; got {mask:#x}"
        )

    def test_a_refused_connect_wakes_the_writer(self, poller: Poller) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        address = listener.getsockname()
        listener.close()  # nobody listens on that port any more
        sock = socket.socket()
        try:
            sock.setblocking(False)
            code = sock.connect_ex(address)
            if code == errno.ECONNREFUSED:  # pragma: no cover - refused at once
                pytest.skip("this system refuses a loopback connect synchronously")
            assert code in (errno.EINPROGRESS, errno.EWOULDBLOCK, 0), os.strerror(code)
            poller.register(sock.fileno(), EVENT_WRITE)
            mask = self._poll_for(poller, sock.fileno())
            assert mask & (EVENT_WRITE | EVENT_ERROR), (
                "a failed connect must wake the writer (EVENT_WRITE or an EVENT_ERROR "
                f"bit) so that SO_ERROR is read; got {mask:#x}"
            )
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED
        finally:
            sock.close()

    # -- timeouts -----------------------------------------------------------

    def test_a_zero_timeout_returns_at_once(self, poller: Poller) -> None:
        started = time.monotonic()
        assert list(poller.poll(0)) == []
        assert time.monotonic() - started < 0.5

    def test_a_positive_timeout_waits_about_that_long(self, poller: Poller) -> None:
        started = time.monotonic()
        assert list(poller.poll(0.05)) == []
        waited = time.monotonic() - started
        assert 0.04 <= waited < 2.0, f"poll(0.05) returned after {waited:.3f}s"

    def test_the_longest_timeout_is_accepted(
        self, poller: Poller, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        a, b = pair
        b.send(b"x")
        poller.register(a.fileno(), EVENT_READ)
        assert a.fileno() in merge(list(poller.poll(MAX_POLL_TIMEOUT)))

    def test_no_timeout_waits_until_an_fd_is_ready(
        self, poller: Poller, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        a, b = pair
        poller.register(a.fileno(), EVENT_READ)
        waker = threading.Timer(0.05, b.send, args=(b"!",))
        waker.start()
        try:
            result: list[tuple[int, int]] = []
            while not result:  # a spurious empty return is allowed
                result = list(poller.poll(None))
            assert merge(result).get(a.fileno(), 0) & EVENT_READ
        finally:
            waker.cancel()
            waker.join()

    # -- many and large fds -------------------------------------------------

    def test_many_fds_are_reported_together(self, poller: Poller) -> None:
        pairs = [socket.socketpair() for _ in range(self.many_fds)]
        try:
            for a, b in pairs:
                poller.register(a.fileno(), EVENT_READ)
                b.send(b"x")
            wanted = {a.fileno() for a, _ in pairs}
            seen: set[int] = set()
            deadline = time.monotonic() + 5.0
            while seen != wanted and time.monotonic() < deadline:
                seen.update(fd for fd, mask in poller.poll(0.1) if mask & EVENT_READ)
            assert seen == wanted, f"{len(wanted - seen)} of {len(wanted)} ready fds never came"
        finally:
            for a, b in pairs:
                a.close()
                b.close()

    def test_a_large_fd_number_works_or_is_refused_at_register(self, poller: Poller) -> None:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = self._free_fd_above(min(soft - 1, 4095), floor=1100)
        if target is None:
            pytest.skip(f"no free fd number above 1100 under RLIMIT_NOFILE={soft}")
        a, b = socket.socketpair()
        high = -1
        try:
            high = os.dup2(a.fileno(), target)
            if self.fd_limit is not None and high > self.fd_limit:
                with pytest.raises((ValueError, OSError)):
                    poller.register(high, EVENT_READ)
                return
            poller.register(high, EVENT_READ)
            b.send(b"x")
            assert self._poll_for(poller, high) & EVENT_READ, (
                f"fd {high} (above select's FD_SETSIZE) was not reported; a backend "
                "with a limit must say so with fd_limit and refuse at register"
            )
            poller.unregister(high)
        finally:
            if high >= 0:
                os.close(high)
            a.close()
            b.close()

    @staticmethod
    def _free_fd_above(top: int, floor: int) -> int | None:
        for fd in range(top, floor, -1):
            try:
                os.fstat(fd)
            except OSError:
                return fd
        return None

    # -- lifetime -----------------------------------------------------------

    def test_close_is_idempotent(self) -> None:
        info = self._info()
        if not info.is_available():
            pytest.skip(f"poller {info.name!r} is not available here")
        backend = info.create()
        backend.close()
        backend.close()

    # -- in a loop ----------------------------------------------------------

    def test_a_loop_polling_through_it_runs_a_tcp_echo(self, poller: Poller) -> None:
        # The loop gets its own backend instance: the kernel owns and closes it.
        loop = loopkit.assemble().loop_class(self._info().create())
        try:
            loop.run_until_complete(asyncio.wait_for(_tcp_echo(loop), 5.0))
        finally:
            loop.close()

    def test_a_loop_polling_through_it_wakes_for_a_thread_and_a_timer(self, poller: Poller) -> None:
        loop: KernelLoop = loopkit.assemble().loop_class(self._info().create())
        try:
            done = loop.create_future()
            waker = threading.Timer(0.05, loop.call_soon_threadsafe, args=(done.set_result, 1))
            waker.start()
            try:
                assert loop.run_until_complete(asyncio.wait_for(done, 5.0)) == 1
            finally:
                waker.join()
            started = loop.time()
            loop.run_until_complete(asyncio.sleep(0.05))
            assert loop.time() - started >= 0.04
        finally:
            loop.close()


async def _tcp_echo(loop: asyncio.AbstractEventLoop) -> None:
    """A server that echoes; 64 KiB each way through it, on ``loop``."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        host, port = server.sockets[0].getsockname()[:2]
        reader, writer = await asyncio.open_connection(host, port)
        payload = bytes(range(256)) * 256
        writer.write(payload)
        writer.write_eof()
        received = await reader.read()
        writer.close()
        await writer.wait_closed()
        assert received == payload, "the echo came back different"
    finally:
        server.close()
        await server.wait_closed()


__all__ = ["PollerContract", "merge"]
