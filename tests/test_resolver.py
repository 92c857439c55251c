"""getaddrinfo / getnameinfo: answers equal to the socket module's, never blocking the loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading

import pytest
from executorhelpers import default_pool

from loopkit.plugins.resolver import threaded


@pytest.mark.parametrize(
    ("host", "port"),
    [("127.0.0.1", 80), ("::1", "443"), (None, 8080), (b"127.0.0.1", b"22"), ("0.0.0.0", 0)],
)
def test_numeric_hosts_are_answered_on_the_loop_without_a_thread(
    loop: asyncio.AbstractEventLoop, host: str | bytes | None, port: int | str | bytes
) -> None:
    threads_before = threading.active_count()
    result = loop.run_until_complete(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    assert result == socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    assert default_pool(loop) is None  # type: ignore[attr-defined]
    assert threading.active_count() <= threads_before  # no thread was started


def test_numeric_getnameinfo_is_answered_on_the_loop(loop: asyncio.AbstractEventLoop) -> None:
    flags = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
    result = loop.run_until_complete(loop.getnameinfo(("127.0.0.1", 8080), flags))
    assert result == ("127.0.0.1", "8080")
    assert default_pool(loop) is None  # type: ignore[attr-defined]


def test_a_name_lookup_goes_through_the_default_executor(
    loop: asyncio.AbstractEventLoop,
) -> None:
    result = loop.run_until_complete(loop.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM))
    assert result == socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
    assert isinstance(default_pool(loop), concurrent.futures.ThreadPoolExecutor)  # type: ignore[attr-defined]


def test_a_service_name_is_not_numeric_and_goes_through_the_executor(
    loop: asyncio.AbstractEventLoop,
) -> None:
    result = loop.run_until_complete(loop.getaddrinfo("127.0.0.1", "http", type=socket.SOCK_STREAM))
    assert result == socket.getaddrinfo("127.0.0.1", "http", type=socket.SOCK_STREAM)
    assert default_pool(loop) is not None  # type: ignore[attr-defined]


def test_a_reverse_lookup_goes_through_the_default_executor(
    loop: asyncio.AbstractEventLoop,
) -> None:
    result = loop.run_until_complete(loop.getnameinfo(("127.0.0.1", 80)))
    assert result == socket.getnameinfo(("127.0.0.1", 80), 0)
    assert default_pool(loop) is not None  # type: ignore[attr-defined]


def test_the_loop_keeps_running_while_a_name_lookup_waits(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Hold the only worker thread busy: the lookup waits, the loop does not."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(pool)
    release = threading.Event()
    ticks: list[int] = []

    async def main() -> list[tuple[object, ...]]:
        blocker = loop.run_in_executor(None, release.wait, 5)
        lookup = asyncio.ensure_future(loop.getaddrinfo("localhost", 80))
        for i in range(3):
            await asyncio.sleep(0.005)
            ticks.append(i)
        assert not lookup.done()
        release.set()
        await blocker
        return await lookup

    try:
        assert loop.run_until_complete(main())
    finally:
        release.set()
        pool.shutdown(wait=True)
    assert ticks == [0, 1, 2]


def test_a_bad_numeric_lookup_raises_gaierror(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(socket.gaierror):
        loop.run_until_complete(
            loop.getaddrinfo("127.0.0.1", 80, family=socket.AF_INET6, flags=socket.AI_NUMERICHOST)
        )


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", None])
@pytest.mark.parametrize("port", [65536, 70000, -1, "70000", b"70000", " -1", "+65536"])
def test_a_numeric_port_out_of_range_is_refused_not_wrapped(
    loop: asyncio.AbstractEventLoop, host: str | None, port: int | str | bytes
) -> None:
    """The C library would answer port 70000 with 4464: loopkit raises instead."""
    with pytest.raises(OverflowError, match=r"port must be 0-65535, got"):
        loop.run_until_complete(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))


@pytest.mark.parametrize("port", [0, 65535, "65535", b"0", "http"])
def test_ports_in_range_and_service_names_are_answered(
    loop: asyncio.AbstractEventLoop, port: int | str | bytes
) -> None:
    result = loop.run_until_complete(loop.getaddrinfo("127.0.0.1", port, type=socket.SOCK_STREAM))
    assert result == socket.getaddrinfo("127.0.0.1", port, type=socket.SOCK_STREAM)


@pytest.mark.parametrize(
    ("text", "numeric"),
    [
        ("80", True),
        ("+80", True),
        ("-1", True),
        (" \t\n\v\f\r80", True),
        ("80 ", False),
        ("8_0", False),
        ("", False),
        ("+", False),
        ("++1", False),
        ("http", False),
        ("\u0663", False),  # a non-ASCII digit: a service name to the C library
        ("0x10", False),
    ],
)
def test_a_port_is_numeric_exactly_when_strtoul_reads_it_as_one(text: str, numeric: bool) -> None:
    assert threaded._is_numeric_service(text) is numeric
