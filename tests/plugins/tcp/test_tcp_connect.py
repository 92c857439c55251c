"""create_connection and connect_accepted_socket over loopback.

Several tests give the loop a fixed list of addresses for a made-up host
name, by replacing ``getaddrinfo`` on that one loop object: the addresses
themselves are real loopback sockets (listening, refusing, or never
answering).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from noblocking import own_blocking_call
from tcphelpers import Echo, Recorder, closed_port, hang_up, serve

from loopkit.plugins.tcp.addresses import interleave


def info(port: int, host: str = "127.0.0.1") -> tuple[Any, ...]:
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))


def answer_with(loop: Any, infos: list[tuple[Any, ...]]) -> list[Any]:
    """Make ``loop.getaddrinfo`` answer ``infos`` for any name; returns the calls seen."""
    calls: list[Any] = []

    async def getaddrinfo(host: Any, port: Any, **kw: Any) -> list[tuple[Any, ...]]:
        calls.append((host, port, kw))
        return infos

    loop.getaddrinfo = getaddrinfo
    return calls


@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    """A loopback port where a connect attempt never completes.

    A listener with a backlog of 0 already holding one pending connection
    drops further SYNs, so connecting there hangs (locally, no traffic leaves).
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = own_blocking_call(socket.create_connection, listener.getsockname())
    try:
        yield listener.getsockname()[1]
    finally:
        filler.close()
        listener.close()


async def echo_round_trip(transport: Any, proto: Recorder) -> None:
    transport.write(b"ping")
    assert await proto.receive(4) == b"ping"


def test_connects_and_returns_transport_and_protocol(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve()
        transport, proto = await loop.create_connection(Recorder, "127.0.0.1", port)
        assert isinstance(proto, Recorder) and proto.transport is transport
        await echo_round_trip(transport, proto)
        await hang_up(transport, proto, server)

    run(main())


def test_connects_by_host_name(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve()
        transport, proto = await loop.create_connection(
            Recorder, "localhost", port, family=socket.AF_INET
        )
        await echo_round_trip(transport, proto)
        await hang_up(transport, proto, server)

    run(main())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"server_hostname": "x"}, "server_hostname is only meaningful with ssl"),
        ({"ssl_handshake_timeout": 1.0}, "ssl_handshake_timeout is only meaningful with ssl"),
        ({"ssl_shutdown_timeout": 1.0}, "ssl_shutdown_timeout is only meaningful with ssl"),
        ({"host": None, "port": None}, "host and port was not specified and no sock specified"),
        ({"sock": "tcp"}, "host/port and sock can not be specified at the same time"),
        ({"host": None, "port": None, "sock": "udp"}, "A Stream Socket was expected"),
        (
            {"host": None, "port": None, "sock": "tcp", "ssl": True},
            "You must set server_hostname when using ssl without a host",
        ),
    ],
)
def test_argument_checks(run: Any, kwargs: dict[str, Any], message: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        args = {"host": "127.0.0.1", "port": 1, **kwargs}
        with contextlib.ExitStack() as stack:
            if args.get("sock") == "tcp":
                args["sock"] = stack.enter_context(socket.socket())
            elif args.get("sock") == "udp":
                args["sock"] = stack.enter_context(socket.socket(type=socket.SOCK_DGRAM))
            with pytest.raises(ValueError, match=message):
                await loop.create_connection(asyncio.Protocol, **args)

    run(main())


def test_all_errors_exists_exactly_where_asyncio_has_it(loop: Any) -> None:
    ours = inspect.signature(loop.create_connection).parameters
    theirs = inspect.signature(asyncio.BaseEventLoop.create_connection).parameters
    assert ("all_errors" in ours) == (sys.version_info >= (3, 12))
    assert set(ours) - {"self"} == set(theirs) - {"self"}


def test_refused(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        port = closed_port()
        with pytest.raises(ConnectionRefusedError, match=str(port)):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)

    run(main())


def test_addresses_are_tried_in_order(loop: Any, run: Any) -> None:
    async def main() -> None:
        server, port = await serve()
        refused = closed_port()
        calls = answer_with(loop, [info(refused), info(port)])
        transport, proto = await loop.create_connection(Recorder, "two.example", 80)
        assert calls[0][:2] == ("two.example", 80)
        assert transport.get_extra_info("peername") == ("127.0.0.1", port)
        await echo_round_trip(transport, proto)
        await hang_up(transport, proto, server)

    run(main())


def test_errors_of_all_attempts_are_combined(loop: Any, run: Any) -> None:
    async def main() -> None:
        first, second = closed_port(), closed_port()
        answer_with(loop, [info(first), info(second)])
        with pytest.raises(OSError, match="Multiple exceptions: ") as caught:
            await loop.create_connection(asyncio.Protocol, "two.example", 80)
        assert str(first) in str(caught.value) and str(second) in str(caught.value)

        answer_with(loop, [info(first), info(first)])  # the same message twice: raised as is
        with pytest.raises(ConnectionRefusedError):
            await loop.create_connection(asyncio.Protocol, "two.example", 80)

    run(main())


@pytest.mark.skipif(sys.version_info < (3, 12), reason="all_errors is new in 3.12")
def test_all_errors_raises_an_exception_group(loop: Any, run: Any) -> None:
    async def main() -> None:
        first, second = closed_port(), closed_port()
        answer_with(loop, [info(first), info(second)])
        with pytest.raises(ExceptionGroup) as caught:
            await loop.create_connection(asyncio.Protocol, "two.example", 80, all_errors=True)
        assert caught.value.message == "create_connection failed"
        assert [type(e) for e in caught.value.exceptions] == [ConnectionRefusedError] * 2

    run(main())


def test_no_address_at_all(loop: Any, run: Any) -> None:
    async def main() -> None:
        answer_with(loop, [])
        with pytest.raises(OSError, match=r"getaddrinfo\(\) returned empty list"):
            await loop.create_connection(asyncio.Protocol, "nothing.example", 80)

    run(main())


def test_local_addr_binds_the_client_side(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve()
        local = ("127.0.0.1", closed_port())
        transport, proto = await loop.create_connection(
            Recorder, "127.0.0.1", port, local_addr=local
        )
        assert transport.get_extra_info("sockname") == local
        await hang_up(transport, proto, server)

    run(main())


def test_local_addr_that_cannot_be_bound(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve()
        taken = server.sockets[0].getsockname()
        with pytest.raises(OSError, match="error while attempting to bind on address"):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", port, local_addr=taken)
        server.close()
        await server.wait_closed()

    run(main())


def test_connect_over_a_given_socket(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve()
        sock = own_blocking_call(socket.create_connection, ("127.0.0.1", port))
        transport, proto = await loop.create_connection(Recorder, sock=sock)
        assert sock.gettimeout() == 0  # made non-blocking
        await echo_round_trip(transport, proto)
        transport.close()
        await proto.lost
        assert sock.fileno() == -1  # the transport closed it
        server.close()
        await server.wait_closed()

    run(main())


def test_a_failing_protocol_factory_leaves_no_socket(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve()

        def factory() -> asyncio.Protocol:
            raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            await loop.create_connection(factory, "127.0.0.1", port)
        server.close()
        await server.wait_closed()

    run(main())


def test_cancelling_a_pending_connect_closes_its_socket(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with black_hole() as port:
            task = loop.create_task(loop.create_connection(asyncio.Protocol, "127.0.0.1", port))
            await asyncio.sleep(0.05)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(main())


def test_happy_eyeballs_starts_the_next_attempt_after_the_delay(loop: Any, run: Any) -> None:
    async def main() -> None:
        server, port = await serve()
        with black_hole() as hole:
            answer_with(loop, [info(hole), info(port)])
            transport, proto = await asyncio.wait_for(
                loop.create_connection(Recorder, "race.example", 80, happy_eyeballs_delay=0.05),
                timeout=2,
            )
            assert transport.get_extra_info("peername") == ("127.0.0.1", port)
            await echo_round_trip(transport, proto)
            transport.close()
            await proto.lost
        server.close()
        await server.wait_closed()

    run(main())


def test_happy_eyeballs_moves_on_at_once_when_an_attempt_fails(loop: Any, run: Any) -> None:
    async def main() -> None:
        server, port = await serve()
        answer_with(loop, [info(closed_port()), info(port)])
        started = loop.time()
        transport, proto = await loop.create_connection(
            Recorder, "race.example", 80, happy_eyeballs_delay=5.0
        )
        assert loop.time() - started < 4.0  # did not sit out the delay
        await hang_up(transport, proto, server)

    run(main())


def test_happy_eyeballs_reports_every_failure(loop: Any, run: Any) -> None:
    async def main() -> None:
        first, second = closed_port(), closed_port()
        answer_with(loop, [info(first), info(second)])
        with pytest.raises(OSError, match="Multiple exceptions") as caught:
            await loop.create_connection(
                asyncio.Protocol, "race.example", 80, happy_eyeballs_delay=0.01
            )
        assert str(first) in str(caught.value) and str(second) in str(caught.value)

    run(main())


def test_happy_eyeballs_cancelled_while_racing(loop: Any, run: Any) -> None:
    async def main() -> None:
        with black_hole() as hole:
            answer_with(loop, [info(hole), info(hole)])
            task = loop.create_task(
                loop.create_connection(
                    asyncio.Protocol, "race.example", 80, happy_eyeballs_delay=0.01
                )
            )
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(main())


def test_interleave_alternates_families() -> None:
    v4 = [(socket.AF_INET, 1, 6, "", (f"10.0.0.{i}", 1)) for i in range(3)]
    v6 = [(socket.AF_INET6, 1, 6, "", (f"::{i}", 1, 0, 0)) for i in range(2)]
    infos = v6 + v4
    assert interleave(infos) == [v6[0], v4[0], v6[1], v4[1], v4[2]]
    assert interleave(infos, 2) == [v6[0], v6[1], v4[0], v4[1], v4[2]]


def test_connect_accepted_socket(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            client = own_blocking_call(socket.create_connection, listener.getsockname())
            accepted, _ = own_blocking_call(listener.accept)
        transport, _proto = await loop.connect_accepted_socket(Echo, accepted)
        client.setblocking(False)
        await loop.sock_sendall(client, b"echo me")
        echoed = b""
        while len(echoed) < 7:  # a stream may deliver it in pieces
            echoed += await loop.sock_recv(client, 100)
        assert echoed == b"echo me"
        transport.close()
        assert await loop.sock_recv(client, 100) == b""
        client.close()

    run(main())


def test_connect_accepted_socket_argument_checks(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        udp_socket = socket.socket(type=socket.SOCK_DGRAM)
        with udp_socket as udp, pytest.raises(ValueError, match="A Stream Socket was expected"):
            await loop.connect_accepted_socket(asyncio.Protocol, udp)
        tcp_socket = socket.socket()
        with tcp_socket as tcp, pytest.raises(ValueError, match="ssl_handshake_timeout is only"):
            await loop.connect_accepted_socket(asyncio.Protocol, tcp, ssl_handshake_timeout=1)

    run(main())
