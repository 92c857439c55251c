"""Fixtures for the udp tests.

* Leaks (file descriptors included) are checked for every test by
  ``tests/conftest.py``.
* ``any_loop`` / ``run_any`` (from ``tests/conftest.py``) run a test on
  asyncio's own loop and on loopkit's: the asyncio run shows the test is
  right, the loopkit run is the claim.
* ``Recorder`` (through the ``recorder`` fixture) is a datagram protocol that
  writes down everything its transport tells it.

Helpers are handed out by fixtures, so that the tests work under any of
pytest's import modes.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, TypeVar

import pytest

_T = TypeVar("_T")


def _has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


HAS_IPV6 = _has_ipv6_loopback()


@pytest.fixture
def ipv6() -> None:
    """Skip the test where the IPv6 loopback address ::1 cannot be bound."""
    if not HAS_IPV6:
        pytest.skip("::1 is not available here")


class Recorder(asyncio.DatagramProtocol):
    """A datagram protocol that records what its transport tells it.

    ``received`` and ``errors`` are queues a test awaits; ``events`` keeps
    the order of the callbacks; ``lost`` resolves on connection_lost.
    """

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.transport: Any = None
        self.events: list[str] = []
        self.received: asyncio.Queue[tuple[bytes, Any]] = asyncio.Queue()
        self.errors: asyncio.Queue[Exception] = asyncio.Queue()
        self.lost: asyncio.Future[BaseException | None] = loop.create_future()
        self.lost_calls = 0
        self.paused = 0
        self.resumed = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.events.append("made")

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.events.append("datagram")
        self.received.put_nowait((data, addr))

    def error_received(self, exc: Exception) -> None:
        self.events.append("error")
        self.errors.put_nowait(exc)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append("lost")
        self.lost_calls += 1
        if not self.lost.done():
            self.lost.set_result(exc)

    def pause_writing(self) -> None:
        self.events.append("pause")
        self.paused += 1

    def resume_writing(self) -> None:
        self.events.append("resume")
        self.resumed += 1

    async def next_datagram(self, timeout: float = 5.0) -> tuple[bytes, Any]:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def next_error(self, timeout: float = 5.0) -> Exception:
        return await asyncio.wait_for(self.errors.get(), timeout)


class Echo(asyncio.DatagramProtocol):
    """Sends every datagram back where it came from."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


@pytest.fixture
def recorder() -> type[Recorder]:
    return Recorder


@pytest.fixture
def echo() -> type[Echo]:
    return Echo


@pytest.fixture
def closed_udp_port() -> tuple[str, int]:
    """A loopback UDP address nothing listens on (it was bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        address: tuple[str, int] = sock.getsockname()
    return address
