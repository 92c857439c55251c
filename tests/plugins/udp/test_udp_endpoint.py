"""create_datagram_endpoint: addresses, socket options and argument checks.

Tests taking ``run_any`` run on asyncio's loop and on loopkit's and expect
the same outcome from both; tests taking ``run`` are about loopkit alone.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sys
from typing import Any

import pytest
from executorhelpers import default_pool


async def _open(factory: Any, **kwargs: Any) -> tuple[Any, Any]:
    loop = asyncio.get_running_loop()
    return await loop.create_datagram_endpoint(factory, **kwargs)


# ----------------------------------------------------------------------
# Addresses
# ----------------------------------------------------------------------


def test_ipv4_endpoints_exchange_datagrams(run_any: Any, recorder: Any, echo: Any) -> None:
    async def main() -> None:
        server, _ = await _open(echo, local_addr=("127.0.0.1", 0))
        address = server.get_extra_info("sockname")
        client, proto = await _open(recorder, remote_addr=address)
        try:
            assert client.get_extra_info("peername") == address
            assert client.get_extra_info("sockname")[0] == "127.0.0.1"
            assert client.get_extra_info("socket").family == socket.AF_INET
            client.sendto(b"ping")
            data, source = await proto.next_datagram()
            assert (data, source) == (b"ping", address)
        finally:
            client.close()
            server.close()
        assert await proto.lost is None

    run_any(main())


def test_ipv6_endpoints_exchange_datagrams(
    ipv6: None, run_any: Any, recorder: Any, echo: Any
) -> None:
    async def main() -> None:
        server, _ = await _open(echo, local_addr=("::1", 0), family=socket.AF_INET6)
        port = server.get_extra_info("sockname")[1]
        client, proto = await _open(recorder, remote_addr=("::1", port))
        try:
            assert client.get_extra_info("socket").family == socket.AF_INET6
            # The remote address is kept as getaddrinfo gives it: a 4-tuple.
            assert client.get_extra_info("peername") == ("::1", port, 0, 0)
            client.sendto(b"ping")
            assert await proto.next_datagram() == (b"ping", ("::1", port, 0, 0))
            client.sendto(b"pong", ("::1", port, 0, 0))
            assert (await proto.next_datagram())[0] == b"pong"
        finally:
            client.close()
            server.close()

    run_any(main())


def test_host_names_are_resolved_by_loop_getaddrinfo(run: Any, loop: Any, echo: Any) -> None:
    asked: list[tuple[Any, ...]] = []
    real_getaddrinfo = loop.getaddrinfo

    async def spying_getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        asked.append((host, port, kwargs["type"]))
        return await real_getaddrinfo(host, port, **kwargs)

    loop.getaddrinfo = spying_getaddrinfo

    async def main() -> None:
        transport, _ = await _open(echo, local_addr=("localhost", 0), family=socket.AF_INET)
        try:
            assert transport.get_extra_info("sockname")[0] == "127.0.0.1"
        finally:
            transport.close()

    run(main())
    assert asked == [("localhost", 0, socket.SOCK_DGRAM)]


def test_numeric_addresses_need_no_name_service(run: Any, loop: Any, echo: Any) -> None:
    """An IP literal is answered at once; no lookup thread is started."""

    async def main() -> None:
        transport, _ = await _open(echo, local_addr=("127.0.0.1", 0))
        transport.close()

    run(main())
    assert default_pool(loop) is None


def test_family_alone_gives_an_unbound_socket(run_any: Any, recorder: Any, echo: Any) -> None:
    async def main() -> None:
        server, _ = await _open(echo, local_addr=("127.0.0.1", 0))
        client, proto = await _open(recorder, family=socket.AF_INET)
        try:
            assert client.get_extra_info("peername") is None
            client.sendto(b"hello", server.get_extra_info("sockname"))
            assert (await proto.next_datagram())[0] == b"hello"
        finally:
            client.close()
            server.close()

    run_any(main())


def test_a_ready_socket_is_wrapped_and_made_non_blocking(run_any: Any, recorder: Any) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    assert sock.gettimeout() is None

    async def main() -> None:
        transport, proto = await _open(recorder, sock=sock)
        assert sock.gettimeout() == 0
        assert transport.get_extra_info("sockname") == sock.getsockname()
        transport.close()
        assert await proto.lost is None

    run_any(main())
    assert sock.fileno() == -1  # the transport owned it and closed it


def test_connection_made_has_run_when_the_call_returns(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        transport, proto = await _open(recorder, local_addr=("127.0.0.1", 0))
        assert proto.events == ["made"]
        assert proto.transport is transport
        transport.close()
        await proto.lost

    run_any(main())


# ----------------------------------------------------------------------
# Socket options
# ----------------------------------------------------------------------


def _flag(transport: Any, option: int) -> bool:
    return bool(transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, option))


def test_no_socket_option_is_set_unless_asked(run_any: Any, echo: Any) -> None:
    async def main() -> None:
        transport, _ = await _open(echo, local_addr=("127.0.0.1", 0))
        try:
            assert not _flag(transport, socket.SO_REUSEADDR)
            assert not _flag(transport, socket.SO_REUSEPORT)
            assert not _flag(transport, socket.SO_BROADCAST)
        finally:
            transport.close()

    run_any(main())


def test_reuse_port_and_allow_broadcast_set_their_options(run_any: Any, echo: Any) -> None:
    async def main() -> None:
        first, _ = await _open(
            echo, local_addr=("127.0.0.1", 0), reuse_port=True, allow_broadcast=True
        )
        port = first.get_extra_info("sockname")[1]
        # SO_REUSEPORT on both: a second endpoint may bind the same port.
        second, _ = await _open(echo, local_addr=("127.0.0.1", port), reuse_port=True)
        try:
            assert _flag(first, socket.SO_REUSEPORT)
            assert _flag(first, socket.SO_BROADCAST)
            assert not _flag(first, socket.SO_REUSEADDR)
            assert second.get_extra_info("sockname")[1] == port
        finally:
            first.close()
            second.close()

    run_any(main())


def test_broadcast_endpoint_remembers_remote_addr_without_connecting(
    run_any: Any, recorder: Any
) -> None:
    async def main() -> None:
        receiver, rproto = await _open(recorder, local_addr=("127.0.0.1", 0))
        address = receiver.get_extra_info("sockname")
        sender, _ = await _open(recorder, remote_addr=address, allow_broadcast=True)
        try:
            assert sender.get_extra_info("peername") is None
            sender.sendto(b"to the remembered address")
            assert (await rproto.next_datagram())[0] == b"to the remembered address"
        finally:
            sender.close()
            receiver.close()

    run_any(main())


# ----------------------------------------------------------------------
# Argument checks
# ----------------------------------------------------------------------


def test_reuse_address_is_not_a_parameter(run_any: Any, echo: Any) -> None:
    """asyncio 3.11+ removed it (SO_REUSEADDR is unsafe for UDP): a TypeError."""
    with pytest.raises(TypeError, match="reuse_address"):
        run_any(_open(echo, local_addr=("127.0.0.1", 0), reuse_address=True))


def test_no_address_and_no_family_is_refused(run_any: Any, echo: Any) -> None:
    with pytest.raises(ValueError, match="unexpected address family"):
        run_any(_open(echo))


@pytest.mark.parametrize("address", ["localhost", ("127.0.0.1", 0, 0, 0), ["127.0.0.1", 0]])
def test_inet_addresses_must_be_pairs(run_any: Any, echo: Any, address: Any) -> None:
    with pytest.raises(TypeError, match="2-tuple is expected"):
        run_any(_open(echo, local_addr=address))


@pytest.mark.parametrize(
    ("modifier", "shown"),
    [
        ({"local_addr": ("127.0.0.1", 0)}, "local_addr=('127.0.0.1', 0)"),
        ({"remote_addr": ("127.0.0.1", 9)}, "remote_addr=('127.0.0.1', 9)"),
        ({"family": socket.AF_INET}, "family="),
        ({"proto": 17}, "proto=17"),
        ({"flags": 1}, "flags=1"),
        ({"reuse_port": True}, "reuse_port=True"),
        ({"allow_broadcast": True}, "allow_broadcast=True"),
    ],
)
def test_sock_excludes_every_socket_modifier(
    run_any: Any, echo: Any, modifier: dict[str, Any], shown: str
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(ValueError, match="can not be used when sock is specified") as info:
            run_any(_open(echo, sock=sock, **modifier))
        assert shown in str(info.value)
        assert sock.fileno() != -1  # refused before touching it


def test_a_stream_socket_is_refused(run_any: Any, echo: Any) -> None:
    expected = (
        "A datagram socket was expected"
        if sys.version_info >= (3, 13)
        else "A UDP Socket was expected"
    )
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(ValueError, match=expected),
    ):
        run_any(_open(echo, sock=sock))


def test_addresses_of_different_families_cannot_pair(ipv6: None, run_any: Any, echo: Any) -> None:
    with pytest.raises(ValueError, match="can not get address information"):
        run_any(_open(echo, local_addr=("::1", 0), remote_addr=("127.0.0.1", 9)))


def test_a_busy_address_is_an_oserror_and_leaves_nothing_open(run_any: Any, echo: Any) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        with pytest.raises(OSError) as info:
            run_any(_open(echo, local_addr=taken.getsockname()))
        assert info.value.errno == errno.EADDRINUSE


def test_a_failing_protocol_factory_leaves_no_socket_open(run: Any) -> None:
    """asyncio leaks the socket here; loopkit closes it (the suite's leak check sees to it)."""

    def factory() -> asyncio.DatagramProtocol:
        raise RuntimeError("no protocol today")

    with pytest.raises(RuntimeError, match="no protocol today"):
        run(_open(factory, local_addr=("127.0.0.1", 0)))


# ----------------------------------------------------------------------
# AF_UNIX datagram endpoints
# ----------------------------------------------------------------------


def test_unix_endpoints_exchange_datagrams_by_path(
    run_any: Any, recorder: Any, echo: Any, tmp_path: Any
) -> None:
    server_path = str(tmp_path / "server.sock")
    client_path = str(tmp_path / "client.sock")

    async def main() -> None:
        server, _ = await _open(echo, local_addr=server_path, family=socket.AF_UNIX)
        client, proto = await _open(
            recorder, local_addr=client_path, remote_addr=server_path, family=socket.AF_UNIX
        )
        try:
            assert server.get_extra_info("sockname") == server_path
            assert client.get_extra_info("peername") == server_path
            client.sendto(b"over a path")
            assert await proto.next_datagram() == (b"over a path", server_path)
        finally:
            client.close()
            server.close()
        await proto.lost

    run_any(main())
    # As in asyncio, closing a datagram endpoint leaves its socket file.
    assert os.path.exists(server_path)


def test_a_stale_unix_socket_file_is_replaced(run_any: Any, echo: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "stale.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as old:
        old.bind(path)

    async def main() -> None:
        transport, _ = await _open(echo, local_addr=path, family=socket.AF_UNIX)
        assert transport.get_extra_info("sockname") == path
        transport.close()

    run_any(main())


def test_a_regular_file_at_the_path_is_left_alone(run_any: Any, echo: Any, tmp_path: Any) -> None:
    path = tmp_path / "not-a-socket"
    path.write_bytes(b"precious")
    with pytest.raises(OSError) as info:
        run_any(_open(echo, local_addr=str(path), family=socket.AF_UNIX))
    assert info.value.errno == errno.EADDRINUSE
    assert path.read_bytes() == b"precious"


def test_unix_addresses_must_be_str(run_any: Any, echo: Any, tmp_path: Any) -> None:
    with pytest.raises(TypeError, match="string is expected"):
        run_any(_open(echo, local_addr=os.fsencode(tmp_path / "x.sock"), family=socket.AF_UNIX))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux abstract namespace")
def test_abstract_unix_addresses_work(run_any: Any, recorder: Any, echo: Any) -> None:
    name = f"\0loopkit-udp-test-{os.getpid()}-{id(run_any)}"

    async def main() -> None:
        server, _ = await _open(echo, local_addr=name, family=socket.AF_UNIX)
        client, proto = await _open(
            recorder, local_addr=name + "-client", remote_addr=name, family=socket.AF_UNIX
        )
        try:
            assert client.get_extra_info("peername") == name.encode()
            client.sendto(b"abstract")
            assert await proto.next_datagram() == (b"abstract", name.encode())
        finally:
            client.close()
            server.close()

    run_any(main())


def test_family_unix_alone_gives_an_unbound_unix_socket(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        transport, proto = await _open(recorder, family=socket.AF_UNIX)
        assert transport.get_extra_info("socket").family == socket.AF_UNIX
        transport.close()
        assert await proto.lost is None

    run_any(main())


def test_connecting_to_a_missing_unix_path_fails(run_any: Any, echo: Any, tmp_path: Any) -> None:
    with pytest.raises(FileNotFoundError):
        run_any(_open(echo, remote_addr=str(tmp_path / "nobody"), family=socket.AF_UNIX))


# ----------------------------------------------------------------------
# Ports out of range (the C library would reduce them modulo 65536)
# ----------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize("side", ["remote_addr", "local_addr"])
def test_a_port_above_65535_is_refused_not_wrapped(
    run: Any, echo: Any, host: str, side: str
) -> None:
    async def main() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as target:
            target.bind(("127.0.0.1", 0))
            target.setblocking(False)
            port = target.getsockname()[1] + 65536
            with pytest.raises(OverflowError, match="port must be 0-65535"):
                await _open(echo, family=socket.AF_INET, **{side: (host, port)})
            with pytest.raises(OverflowError, match="port must be 0-65535"):
                await _open(echo, family=socket.AF_INET, **{side: (host, -1)})

    run(main())
