"""The aiodns resolver backend answers like the socket module, without the network.

Only ``localhost`` (which c-ares answers from /etc/hosts, or by RFC 6761)
and numeric hosts are looked up. Skipped where aiodns is not installed; the
test extra installs it, so CI runs these.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

aiodns = pytest.importorskip("aiodns")
pycares = pytest.importorskip("pycares")

from executorhelpers import default_pool  # noqa: E402

import loopkit  # noqa: E402
from loopkit.plugins.resolver import aiodns as backend  # noqa: E402

# (pycares' process-wide channel-destroying thread is started by conftest.py.)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    new_loop = loopkit.new_event_loop(resolver="aiodns")
    try:
        yield new_loop
    finally:
        new_loop.close()


def run(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
    return loop.run_until_complete(asyncio.wait_for(coro, 10))


def test_the_backend_is_built_into_the_loop(loop: asyncio.AbstractEventLoop) -> None:
    assert type(loop).__dict__["getaddrinfo"] is backend.getaddrinfo
    assert type(loop).__dict__["getnameinfo"] is backend.getnameinfo


@pytest.mark.parametrize(
    ("host", "port", "kwargs"),
    [
        ("127.0.0.1", 80, {"type": socket.SOCK_STREAM}),
        ("::1", "443", {}),
        (None, 8080, {"flags": socket.AI_PASSIVE}),
        (None, 0, {"family": socket.AF_INET, "type": socket.SOCK_DGRAM}),
        (b"127.0.0.1", b"22", {}),
    ],
)
def test_numeric_hosts_take_the_fast_path_and_equal_the_socket_module(
    loop: asyncio.AbstractEventLoop, host: Any, port: Any, kwargs: dict[str, int]
) -> None:
    result = run(loop, loop.getaddrinfo(host, port, **kwargs))
    assert result == socket.getaddrinfo(host, port, **kwargs)
    assert backend.services(loop).peek_state(backend.STATE_KEY) is None  # no channel made


@pytest.mark.parametrize(
    ("type_", "proto"),
    [(socket.SOCK_STREAM, socket.IPPROTO_TCP), (socket.SOCK_DGRAM, socket.IPPROTO_UDP)],
)
def test_localhost_in_the_shape_of_socket_getaddrinfo(
    loop: asyncio.AbstractEventLoop, type_: int, proto: int
) -> None:
    result = run(loop, loop.getaddrinfo("localhost", 80, family=socket.AF_INET, type=type_))
    assert result == [(socket.AF_INET, type_, proto, "", ("127.0.0.1", 80))]
    family, kind, _, _, _ = result[0]
    assert isinstance(family, socket.AddressFamily) and isinstance(kind, socket.SocketKind)


def test_no_type_gives_every_socket_kind_like_the_c_library(
    loop: asyncio.AbstractEventLoop,
) -> None:
    result = run(loop, loop.getaddrinfo("localhost", 80, family=socket.AF_INET))
    assert result == socket.getaddrinfo("localhost", 80, family=socket.AF_INET)


def test_ipv6_addresses_have_four_part_sockaddrs(loop: asyncio.AbstractEventLoop) -> None:
    result = run(loop, loop.getaddrinfo("localhost", 443, type=socket.SOCK_STREAM))
    addresses = {entry[4] for entry in result}
    assert ("127.0.0.1", 443) in addresses
    for family, _, _, _, sockaddr in result:
        assert len(sockaddr) == (4 if family == socket.AF_INET6 else 2)


def test_canonname_is_on_the_first_entry_only(loop: asyncio.AbstractEventLoop) -> None:
    result = run(
        loop,
        loop.getaddrinfo(
            "localhost", 80, family=socket.AF_INET, type=socket.SOCK_STREAM,
            flags=socket.AI_CANONNAME,
        ),
    )  # fmt: skip
    assert result[0][3] == "localhost"
    assert all(entry[3] == "" for entry in result[1:])


def test_a_service_name_resolves_like_socket(loop: asyncio.AbstractEventLoop) -> None:
    result = run(loop, loop.getaddrinfo("127.0.0.1", "http", type=socket.SOCK_STREAM))
    assert result == socket.getaddrinfo("127.0.0.1", "http", type=socket.SOCK_STREAM)


def test_an_unknown_name_is_gaierror_with_the_c_librarys_errno(
    loop: asyncio.AbstractEventLoop,
) -> None:
    # .invalid never resolves (RFC 6761): c-ares refuses it without a query.
    with pytest.raises(socket.gaierror) as info:
        run(loop, loop.getaddrinfo("no-such-host.invalid", 80))
    assert info.value.errno == socket.EAI_NONAME
    assert info.value.strerror == "Name or service not known"


def test_an_unsupported_family_is_gaierror_eai_family(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(socket.gaierror) as info:
        run(loop, loop.getaddrinfo("localhost", 80, family=socket.AF_UNIX))
    assert info.value.errno == socket.EAI_FAMILY


def test_a_bad_numeric_lookup_raises_like_socket(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(socket.gaierror):
        run(
            loop,
            loop.getaddrinfo("127.0.0.1", 80, family=socket.AF_INET6, flags=socket.AI_NUMERICHOST),
        )


@pytest.mark.parametrize(
    "flags", [0, socket.NI_NUMERICSERV, socket.NI_NUMERICHOST, socket.NI_NAMEREQD]
)
def test_getnameinfo_equals_the_socket_module(loop: asyncio.AbstractEventLoop, flags: int) -> None:
    result = run(loop, loop.getnameinfo(("127.0.0.1", 80), flags))
    assert result == socket.getnameinfo(("127.0.0.1", 80), flags)


def test_no_thread_per_lookup_and_the_channel_closes_with_the_loop() -> None:
    loop = loopkit.new_event_loop(resolver="aiodns")
    try:
        threads_before = threading.active_count()

        async def many() -> list[Any]:
            return await asyncio.gather(
                *(loop.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM) for _ in range(20))
            )

        assert all(run(loop, many()))
        assert default_pool(loop) is None  # type: ignore[attr-defined]
        assert threading.active_count() == threads_before
        resolver = backend.services(loop).peek_state(backend.STATE_KEY)
        assert resolver is not None
    finally:
        loop.close()
    assert resolver._closed
