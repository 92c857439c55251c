"""TLS through the tcp family: ssl= of create_connection, create_server and
connect_accepted_socket, and loop.start_tls.

These tests check the wiring (the TLS layer placed between the stream
transport and the user's protocol, errors reaching the caller, nothing left
open); the TLS layer's own behaviour is tested with the layer itself.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from noblocking import own_blocking_call
from tcphelpers import Echo, Recorder, hang_up, serve

pytest.importorskip("loopkit.transports.tls.layer")
trustme = pytest.importorskip("trustme")


@pytest.fixture
def data_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data.bin"
    path.write_bytes(b"0123456789" * 10_000)
    yield path


async def echo_round_trip(transport: Any, proto: Recorder, data: bytes = b"secret") -> None:
    transport.write(data)
    assert (await proto.receive(len(data)))[-len(data) :] == data


def test_client_and_server_over_tls(run: Any, server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve(Echo, ssl=server_ctx, ssl_handshake_timeout=5)
        transport, proto = await loop.create_connection(
            Recorder, "localhost", port, ssl=client_ctx, family=socket.AF_INET
        )
        assert transport.get_extra_info("ssl_object") is not None
        assert transport.get_extra_info("peername")[1] == port  # from the stream below
        await echo_round_trip(transport, proto)
        await echo_round_trip(transport, proto, b"x" * 300_000)
        await hang_up(transport, proto, server)

    run(main())


def test_wrong_hostname_fails_the_handshake_only(
    run: Any, server_ctx: Any, client_ctx: Any
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve(Echo, ssl=server_ctx)
        with pytest.raises(ssl.SSLCertVerificationError):
            await loop.create_connection(
                Recorder, "127.0.0.1", port, ssl=client_ctx, server_hostname="wrong.example"
            )
        # The server goes on serving the next client.
        transport, proto = await loop.create_connection(
            Recorder, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
        await echo_round_trip(transport, proto)
        await hang_up(transport, proto, server)

    run(main())


def test_untrusted_server_certificate(run: Any, server_ctx: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve(Echo, ssl=server_ctx)
        stranger = ssl.create_default_context()  # does not trust our test CA
        with pytest.raises(ssl.SSLCertVerificationError):
            await loop.create_connection(
                Recorder, "127.0.0.1", port, ssl=stranger, server_hostname="localhost"
            )
        server.close()
        await server.wait_closed()

    run(main())


def test_a_client_that_never_starts_the_handshake(run: Any, server_ctx: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve(Echo, ssl=server_ctx, ssl_handshake_timeout=0.2)
        silent = own_blocking_call(socket.create_connection, ("127.0.0.1", port))
        silent.setblocking(False)
        # The server gives up on it after the handshake timeout and closes it.
        assert await asyncio.wait_for(loop.sock_recv(silent, 100), 3) == b""
        silent.close()
        server.close()
        await server.wait_closed()

    run(main())


def test_client_handshake_timeout(run: Any, client_ctx: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve(Recorder)  # plain TCP: never answers the ClientHello
        with pytest.raises((ConnectionAbortedError, TimeoutError)):
            await loop.create_connection(
                Recorder,
                "127.0.0.1",
                port,
                ssl=client_ctx,
                server_hostname="localhost",
                ssl_handshake_timeout=0.2,
            )
        server.close()
        await server.wait_closed()

    run(main())


@pytest.mark.no_fault_injection(reason="expects one write to arrive as one data_received call")
def test_start_tls_on_both_sides(run: Any, server_ctx: Any, client_ctx: Any) -> None:
    upgraded: list[Any] = []

    class StartTlsServer(asyncio.Protocol):
        """Plain text until "STARTTLS", then an echo over TLS."""

        secure = False

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            if self.secure:
                self.transport.write(data)
                return
            assert data == b"STARTTLS\n"
            self.transport.write(b"GO\n")
            self.transport.pause_reading()  # no TLS bytes may reach us as plain data
            upgraded.append(asyncio.get_running_loop().create_task(self.upgrade()))

        async def upgrade(self) -> None:
            loop = asyncio.get_running_loop()
            self.secure = True
            tls = await loop.start_tls(self.transport, self, server_ctx, server_side=True)
            self.transport = tls

    async def main() -> None:
        server, port = await serve(StartTlsServer)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"STARTTLS\n")
        assert await reader.readline() == b"GO\n"
        await writer.start_tls(client_ctx, server_hostname="localhost")
        assert writer.get_extra_info("ssl_object") is not None
        await upgraded[0]
        writer.write(b"over tls\n")
        assert await reader.readline() == b"over tls\n"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())


def test_start_tls_argument_checks(run: Any, client_ctx: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve()
        transport, proto = await loop.create_connection(Recorder, "127.0.0.1", port)
        with pytest.raises(TypeError, match="sslcontext is expected to be an instance"):
            await loop.start_tls(transport, proto, object())
        with pytest.raises(TypeError, match="is not supported by start_tls"):
            await loop.start_tls(asyncio.Transport(), proto, client_ctx)
        await hang_up(transport, proto, server)

    run(main())


def test_connect_accepted_socket_with_tls(run: Any, server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        connecting = loop.create_task(
            loop.create_connection(
                Recorder, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
        )
        accepted, _ = await loop.sock_accept(listener)
        listener.close()
        server_transport, _ = await loop.connect_accepted_socket(Echo, accepted, ssl=server_ctx)
        transport, proto = await connecting
        await echo_round_trip(transport, proto)
        transport.close()
        await proto.lost
        server_transport.close()

    run(main())


def test_sendfile_over_tls_uses_the_fallback(
    run: Any, server_ctx: Any, client_ctx: Any, data_file: Path
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, port = await serve(Echo, ssl=server_ctx)
        transport, proto = await loop.create_connection(
            Recorder, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
        with data_file.open("rb") as f:
            assert await loop.sendfile(transport, f) == 100_000
        assert await proto.receive(100_000) == own_blocking_call(data_file.read_bytes)
        await hang_up(transport, proto, server)

    run(main())
