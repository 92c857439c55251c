"""create_server and the Server object."""

from __future__ import annotations

import asyncio
import errno
import inspect
import os
import resource
import socket
import sys
from asyncio import trsock
from typing import Any

import pytest
import serverclose
from noblocking import own_blocking_call
from tcphelpers import Echo, Recorder, closed_port, serve

from loopkit.transports import server as server_module


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")


async def talk(port: int, host: str = "127.0.0.1", data: bytes = b"hi") -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(data)
    reply = await reader.readexactly(len(data))
    writer.close()
    await writer.wait_closed()
    return reply


def test_serves_connections(run: Any) -> None:
    async def main() -> None:
        server, port = await serve()
        assert await talk(port) == b"hi"
        assert await talk(port, data=b"again") == b"again"
        server.close()
        await server.wait_closed()

    run(main())


def test_server_object_api(run: Any, loop: Any) -> None:
    async def main() -> None:
        server, port = await serve()
        assert isinstance(server, asyncio.AbstractServer)
        assert server.get_loop() is loop
        assert server.is_serving()
        (sock,) = server.sockets
        assert isinstance(sock, trsock.TransportSocket)
        assert sock.getsockname() == ("127.0.0.1", port)
        assert str(port) in repr(server)
        server.close()
        assert not server.is_serving()
        assert server.sockets == ()
        server.close()  # a second close is harmless
        await server.wait_closed()
        with pytest.raises(ConnectionRefusedError):
            await talk(port)

    run(main())


def test_host_none_and_empty_string_listen_on_every_family(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        for host in (None, ""):
            server = await loop.create_server(Echo, host, 0)
            families = {sock.family for sock in server.sockets}
            assert socket.AF_INET in families
            assert len(families) == len(server.sockets)  # one socket per address
            (v4,) = [sock for sock in server.sockets if sock.family == socket.AF_INET]
            assert v4.getsockname()[0] == "0.0.0.0"
            assert await talk(v4.getsockname()[1]) == b"hi"
            server.close()
            await server.wait_closed()

    run(main())


def test_family_restricts_the_addresses(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, None, 0, family=socket.AF_INET)
        assert {sock.family for sock in server.sockets} == {socket.AF_INET}
        server.close()
        await server.wait_closed()

    run(main())


def test_host_by_name(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "localhost", 0, family=socket.AF_INET)
        assert server.sockets[0].getsockname()[0] == "127.0.0.1"
        server.close()
        await server.wait_closed()

    run(main())


@needs_ipv6
def test_a_sequence_of_hosts_gets_one_socket_each_ipv6_only(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        port = closed_port()
        server = await loop.create_server(Echo, ["127.0.0.1", "::1", "127.0.0.1"], port)
        by_family = {sock.family: sock for sock in server.sockets}
        assert len(server.sockets) == 2 and set(by_family) == {socket.AF_INET, socket.AF_INET6}
        v6 = by_family[socket.AF_INET6]
        assert v6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        assert await talk(port, "127.0.0.1") == b"hi"
        assert await talk(port, "::1") == b"hi"
        server.close()
        await server.wait_closed()

    run(main())


def test_socket_options(run: Any) -> None:
    async def main() -> None:
        server, _ = await serve(reuse_port=True)
        sock = server.sockets[0]
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) != 0
        server.close()
        await server.wait_closed()
        server, _ = await serve(reuse_address=False)
        assert server.sockets[0].getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
        server.close()
        await server.wait_closed()

    run(main())


def test_keep_alive_exists_exactly_where_asyncio_has_it(loop: Any) -> None:
    params = inspect.signature(loop.create_server).parameters
    assert ("keep_alive" in params) == (sys.version_info >= (3, 13))
    theirs = inspect.signature(asyncio.BaseEventLoop.create_server).parameters
    assert set(params) == set(theirs) - {"self"}


@pytest.mark.skipif(sys.version_info < (3, 13), reason="keep_alive is new in 3.13")
def test_keep_alive(run: Any) -> None:
    async def main() -> None:
        server, _ = await serve(keep_alive=True)
        assert server.sockets[0].getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
        server.close()
        await server.wait_closed()

    run(main())


def test_bind_failure_names_the_address_and_leaves_nothing_open(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve(reuse_address=False)
        with pytest.raises(OSError, match="error while attempting to bind on address") as caught:
            await loop.create_server(Echo, "127.0.0.1", port, reuse_address=False)
        assert caught.value.errno == errno.EADDRINUSE
        server.close()
        await server.wait_closed()

    run(main())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ssl": True}, TypeError, "ssl argument must be an SSLContext or None"),
        ({"ssl_handshake_timeout": 1}, ValueError, "ssl_handshake_timeout is only meaningful"),
        ({"ssl_shutdown_timeout": 1}, ValueError, "ssl_shutdown_timeout is only meaningful"),
        ({"sock": "tcp"}, ValueError, "host/port and sock can not be specified"),
        ({"host": None, "port": None}, ValueError, "Neither host/port nor sock were specified"),
        ({"host": None, "port": None, "sock": "udp"}, ValueError, "A Stream Socket was expected"),
    ],
)
def test_argument_checks(run: Any, kwargs: dict[str, Any], error: type, message: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        args = {"host": "127.0.0.1", "port": 0, **kwargs}
        kinds = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}
        sock = None
        if args.get("sock") in kinds:
            sock = args["sock"] = socket.socket(type=kinds[args["sock"]])
        try:
            with pytest.raises(error, match=message):
                await loop.create_server(Echo, **args)
        finally:
            if sock is not None:
                sock.close()

    run(main())


def test_serving_an_existing_socket(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = await loop.create_server(Echo, sock=sock, backlog=5)
        assert sock.gettimeout() == 0
        assert await talk(sock.getsockname()[1]) == b"hi"
        server.close()
        await server.wait_closed()
        assert sock.fileno() == -1

    run(main())


def test_start_serving_later(run: Any) -> None:
    async def main() -> None:
        server, port = await serve(start_serving=False)
        assert not server.is_serving()
        with pytest.raises(ConnectionRefusedError):  # not even listening yet
            await talk(port)
        await server.start_serving()
        await server.start_serving()  # a no-op the second time
        assert server.is_serving()
        assert await talk(port) == b"hi"
        server.close()
        await server.wait_closed()

    run(main())


def test_wait_closed_waits_for_close_and_for_every_connection(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        protocols: list[Recorder] = []

        def factory() -> Recorder:
            protocols.append(Recorder())
            return protocols[-1]

        server, port = await serve(factory)
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not protocols:  # the client is connected before the server accepts
            await asyncio.sleep(0.001)
        await protocols[0].made
        # Waiting from before close, with a client: every version waits (3.12.0
        # would return at once if no client were connected yet).
        waiter = loop.create_task(server.wait_closed())
        await asyncio.sleep(0.01)
        assert not waiter.done()  # still serving
        server.close()
        await asyncio.sleep(0.01)
        assert not waiter.done()  # closed, but a connection is still open
        protocols[0].transport.close()
        await asyncio.wait_for(waiter, 2)
        await server.wait_closed()  # and returns at once from now on
        writer.close()
        await writer.wait_closed()

    run(main())


async def start_tcp_server(factory: Any) -> asyncio.AbstractServer:
    return await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)


async def connect_tcp(server: asyncio.AbstractServer) -> tuple[Any, asyncio.StreamWriter]:
    return await asyncio.open_connection(*server.sockets[0].getsockname())


def test_wait_closed_after_close_with_a_client_connected(run_any: Any) -> None:
    """Returns at once on 3.11, waits for the client from 3.12 on: as asyncio."""
    run_any(serverclose.close_with_a_client_connected(start_tcp_server, connect_tcp))


def test_wait_closed_on_an_idle_server_waits_for_close(run_any: Any) -> None:
    run_any(serverclose.wait_on_an_idle_server(start_tcp_server))


def test_serve_forever_until_cancelled(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve(start_serving=False)
        task = loop.create_task(server.serve_forever())
        await asyncio.sleep(0)
        assert server.is_serving()
        with pytest.raises(RuntimeError, match="already being awaited"):
            await server.serve_forever()
        assert await talk(port) == b"hi"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not server.is_serving() and server.sockets == ()
        with pytest.raises(RuntimeError, match="is closed"):
            await server.serve_forever()

    run(main())


def test_close_ends_serve_forever(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, _ = await serve()
        task = loop.create_task(server.serve_forever())
        await asyncio.sleep(0)
        server.close()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())


def test_async_with_closes_the_server(run: Any) -> None:
    async def main() -> None:
        server, port = await serve()
        async with server as same:
            assert same is server
            assert await talk(port) == b"hi"
        assert server.sockets == ()

    run(main())


@pytest.mark.skipif(sys.version_info < (3, 13), reason="close_clients/abort_clients: 3.13+")
def test_close_clients_and_abort_clients(run: Any) -> None:
    async def main() -> None:
        protocols: list[Recorder] = []

        def factory() -> Recorder:
            protocols.append(Recorder())
            return protocols[-1]

        server, port = await serve(factory)
        clients = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.gather(*(p.made for p in protocols))
        server.close()
        server.close_clients()
        assert [await p.lost for p in protocols] == [None, None]
        await asyncio.wait_for(server.wait_closed(), 2)
        for _, writer in clients:
            writer.close()
            await writer.wait_closed()

        protocols.clear()
        server, port = await serve(factory)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await protocols[0].made
        server.abort_clients()
        assert await protocols[0].lost is None
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())


def test_close_clients_is_absent_before_313(loop: Any, run: Any) -> None:
    async def main() -> None:
        server, _ = await serve()
        assert hasattr(server, "close_clients") == (sys.version_info >= (3, 13))
        assert hasattr(server, "abort_clients") == (sys.version_info >= (3, 13))
        server.close()
        await server.wait_closed()

    run(main())


def test_a_burst_of_clients_is_accepted(run: Any) -> None:
    async def main() -> None:
        server, port = await serve(backlog=64)
        replies = await asyncio.gather(*(talk(port, data=b"%d" % i) for i in range(40)))
        assert replies == [b"%d" % i for i in range(40)]
        server.close()
        await server.wait_closed()

    run(main())


def test_a_failing_protocol_factory_spares_the_server(run: Any) -> None:
    async def main() -> None:
        calls = []

        def factory() -> asyncio.Protocol:
            calls.append(1)
            if len(calls) == 1:
                raise ZeroDivisionError
            return Echo()

        server, port = await serve(factory)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await reader.read() == b""  # that one is dropped
        writer.close()
        await writer.wait_closed()
        assert await talk(port) == b"hi"  # the next one is served
        server.close()
        await server.wait_closed()

    run(main())


def lowest_free_fd() -> int:
    fd = os.dup(0)
    os.close(fd)
    return fd


def test_out_of_file_descriptors_pauses_accepting_then_recovers(
    loop: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "ACCEPT_RETRY_DELAY", 0.5)
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))

    async def main() -> None:
        server, port = await serve(Recorder)
        client = own_blocking_call(
            socket.create_connection, ("127.0.0.1", port)
        )  # queued in the backlog
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free_fd(), hard))
        try:
            await asyncio.sleep(0.05)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert errors and errors[0]["message"] == "socket.accept() out of system resource"
        assert errors[0]["exception"].errno == errno.EMFILE
        assert len(errors) == 1  # paused: no spinning on the failing accept
        # After the pause the waiting client is accepted.
        client.setblocking(False)
        loop_ = asyncio.get_running_loop()
        await loop_.sock_sendall(client, b"x")
        for _ in range(50):
            if server._clients():  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.05)
        assert len(server._clients()) == 1  # type: ignore[attr-defined]
        client.close()
        server.close()
        await server.wait_closed()

    run(main())
