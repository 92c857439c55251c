"""A refused connection's OSError is referenced by its catcher only.

A client library that catches the error of a failed connect and keeps it
must not keep the frames of the attempt alive in a reference cycle (error ->
traceback -> frame -> list of collected errors -> error) until the garbage
collector runs. asyncio clears those lists since python/cpython#124859;
loopkit does on every supported version. The garbage collector is off
during each test, so a cycle would show up in ``gc.get_referrers``.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from tcphelpers import closed_port


@pytest.fixture
def no_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def info(host: str, port: int) -> tuple[Any, ...]:
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))


async def caught(attempt: Coroutine[Any, Any, Any]) -> OSError:
    try:
        await attempt
    except OSError as exc:
        error = exc
    else:  # pragma: no cover
        raise AssertionError("the connect succeeded")
    # The callback that resumed this task holds the future that carried the
    # error until it returns: not a cycle, but let it go before looking.
    await asyncio.sleep(0)
    try:
        return error
    finally:
        del error  # this frame is in error's traceback: hold no reference here


def strangers(exc: BaseException) -> list[Any]:
    """What refers to ``exc`` besides the calling coroutine (or its frame:
    which of the two ``gc`` names depends on the Python version)."""
    caller = sys._getframe(1)
    return [
        ref
        for ref in gc.get_referrers(exc)
        if ref is not caller and getattr(ref, "cr_frame", None) is not caller
    ]


def refusals_alive() -> list[BaseException]:
    """Every ConnectionRefusedError still in memory (exceptions are tracked by gc)."""
    return [obj for obj in gc.get_objects() if isinstance(obj, ConnectionRefusedError)]


def _connect(loop: Any, hosts: list[str], **kwargs: Any) -> Coroutine[Any, Any, Any]:
    port = closed_port()
    if len(hosts) == 1:
        return loop.create_connection(asyncio.Protocol, hosts[0], port, **kwargs)

    async def getaddrinfo(*args: Any, **kw: Any) -> list[tuple[Any, ...]]:
        return [info(host, port) for host in hosts]

    loop.getaddrinfo = getaddrinfo
    return loop.create_connection(asyncio.Protocol, "refusing.example", port, **kwargs)


CONNECTS: dict[str, Callable[[Any], Coroutine[Any, Any, Any]]] = {
    "one-address": lambda loop: _connect(loop, ["127.0.0.1"]),
    "two-addresses": lambda loop: _connect(loop, ["127.0.0.1", "127.0.0.2"]),
    "two-addresses-happy-eyeballs": lambda loop: _connect(
        loop, ["127.0.0.1", "127.0.0.2"], happy_eyeballs_delay=0.25
    ),
    "local-addr": lambda loop: _connect(loop, ["127.0.0.1"], local_addr=("127.0.0.1", 0)),
}


@pytest.mark.usefixtures("no_gc")
@pytest.mark.parametrize("connect", list(CONNECTS.values()), ids=list(CONNECTS))
def test_a_refused_create_connection_leaves_no_cycle(run: Any, loop: Any, connect: Any) -> None:
    async def main() -> None:
        exc = await caught(connect(loop))
        assert isinstance(exc, ConnectionRefusedError) or "Multiple exceptions" in str(exc)
        assert strangers(exc) == []
        # Dropped by its catcher, the error goes at once, and so does every
        # error of every attempt (with the gc off, a cycle would keep them).
        del exc
        assert refusals_alive() == []

    run(main())


@pytest.mark.skipif(sys.version_info < (3, 12), reason="all_errors is new in Python 3.12")
@pytest.mark.usefixtures("no_gc")
def test_a_refused_create_connection_with_all_errors_leaves_no_cycle(run: Any, loop: Any) -> None:
    async def main() -> None:
        try:
            await _connect(loop, ["127.0.0.1", "127.0.0.2"], all_errors=True)
        except ExceptionGroup as group:
            await asyncio.sleep(0)  # as in caught()
            errors = list(group.exceptions)
            assert len(errors) == 2
            assert strangers(group) == []
            for exc in errors:
                # The group holds each error, and nothing else does.
                assert [ref for ref in strangers(exc) if ref is not errors] == [group.exceptions]
            del exc, errors
        assert refusals_alive() == []

    run(main())


@pytest.mark.usefixtures("no_gc")
def test_a_refused_sock_connect_leaves_no_cycle(run: Any, loop: Any) -> None:
    async def main() -> None:
        with socket.socket() as sock:
            sock.setblocking(False)
            exc = await caught(loop.sock_connect(sock, ("127.0.0.1", closed_port())))
        assert isinstance(exc, ConnectionRefusedError)
        assert strangers(exc) == []
        del exc
        assert refusals_alive() == []

    run(main())
