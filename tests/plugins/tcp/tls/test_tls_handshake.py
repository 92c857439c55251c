"""The TLS handshake: start_tls on an open connection, timeouts, peers that
hang up or speak plain text, certificate and host name checking.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import pytest
from noblocking import own_blocking_call
from tlshelpers import (
    HOST,
    Recorder,
    TLSServer,
    open_tls,
    until,
)

from loopkit.transports.tls.apptransport import SSLAppTransport
from loopkit.transports.tls.layer import (
    default_client_context,
)
from loopkit.transports.tls.start import start_tls


@pytest.mark.no_fault_injection(reason="expects one write to arrive as one data_received call")
def test_start_tls_upgrades_an_open_connection_on_both_sides(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    class Upgrading(Recorder):
        """Plain text until STARTTLS, then echo under TLS with a prefix."""

        def __init__(self) -> None:
            super().__init__()
            self.tls_transport: asyncio.Future[asyncio.Transport] = (
                asyncio.get_running_loop().create_future()
            )

        def data_received(self, data: bytes) -> None:
            if data == b"STARTTLS\n":
                self.transport.write(b"GO\n")
                asyncio.get_running_loop().create_task(self.upgrade())
            else:
                # start_tls() returned before any data arrived over TLS.
                self.tls_transport.result().write(b"tls:" + data)

        async def upgrade(self) -> None:
            loop = asyncio.get_running_loop()
            upgraded = await start_tls(loop, self.transport, self, server_ctx, server_side=True)
            self.tls_transport.set_result(upgraded)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server_app: list[Upgrading] = []

        def factory() -> Upgrading:
            server_app.append(Upgrading())
            return server_app[0]

        server = await loop.create_server(factory, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        client = Recorder()
        plain, _ = await loop.create_connection(lambda: client, HOST, port)
        plain.write(b"STARTTLS\n")
        assert await client.received(3) == b"GO\n"
        client.data.clear()
        upgraded = await start_tls(loop, plain, client, client_ctx, server_hostname="localhost")
        assert isinstance(upgraded, SSLAppTransport)
        assert upgraded.get_extra_info("ssl_object") is not None
        assert upgraded.get_protocol() is client
        upgraded.write(b"ping")
        assert await client.received(8) == b"tls:ping"
        served_transport = await server_app[0].tls_transport
        assert served_transport.get_extra_info("peername") == plain.get_extra_info("sockname")
        upgraded.close()
        await client.closed
        await server_app[0].closed
        # connection_made came once, from the plain transport; connection_lost
        # once, from the TLS layer.
        assert client.made == 1 and client.lost == [None]
        assert server_app[0].made == 1 and server_app[0].lost == [None]
        server.close()
        await server.wait_closed()

    run(main())


def test_start_tls_rejects_what_asyncio_rejects(
    run: Callable[..., Any], server_ctx: ssl.SSLContext
) -> None:
    class NotStartTLSCapable(asyncio.Transport):
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(TypeError, match="sslcontext is expected to be an instance"):
            await start_tls(loop, NotStartTLSCapable(), asyncio.Protocol(), True)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="is not supported by start_tls"):
            await start_tls(loop, NotStartTLSCapable(), asyncio.Protocol(), server_ctx)

    run(main())


def test_start_tls_handshake_failure_closes_the_transport(
    run: Callable[..., Any], server_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(asyncio.Protocol, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        client = Recorder()
        plain, _ = await loop.create_connection(lambda: client, HOST, port)
        # The server never speaks TLS: the handshake times out.
        with pytest.raises(ConnectionAbortedError):
            await start_tls(
                loop,
                plain,
                client,
                ssl.create_default_context(),
                server_hostname="localhost",
                ssl_handshake_timeout=0.2,
            )
        await until(plain.is_closing)
        server.close()
        await server.wait_closed()

    run(main())


def test_client_that_sends_nothing_is_dropped_at_the_handshake_timeout(
    run: Callable[..., Any], server_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with TLSServer(server_ctx, Recorder, ssl_handshake_timeout=0.3) as server:
            with own_blocking_call(socket.create_connection, (HOST, server.port)) as silent:
                started = time.monotonic()
                while not server.waiters:
                    await asyncio.sleep(0.005)
                with pytest.raises(ConnectionAbortedError, match="SSL handshake is taking longer"):
                    await server.waiters[0]
                assert time.monotonic() - started >= 0.25
                await asyncio.sleep(0.05)
                silent.settimeout(2)
                try:
                    assert own_blocking_call(silent.recv, 100) == b""  # the server hung up
                except ConnectionResetError:
                    pass
            assert server.apps[0].made == 0 and server.apps[0].lost == []

    run(main())


def test_server_that_never_answers_fails_the_client_handshake(
    run: Callable[..., Any], client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        with socket.create_server((HOST, 0)) as mute:  # accepts in the backlog only
            client = Recorder()
            with pytest.raises(ConnectionAbortedError):
                await open_tls(client, client_ctx, mute.getsockname()[1], ssl_handshake_timeout=0.2)
            assert client.made == 0 and client.lost == []
            await asyncio.sleep(0.01)

    run(main())


def test_peer_hanging_up_during_the_handshake_is_a_connection_reset(
    run: Callable[..., Any], client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        class HangUp(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                transport.close()

        server = await loop.create_server(HangUp, HOST, 0)
        client = Recorder()
        with pytest.raises((ConnectionResetError, ssl.SSLError)):
            await open_tls(client, client_ctx, server.sockets[0].getsockname()[1])
        assert client.made == 0 and client.lost == []
        server.close()
        await server.wait_closed()

    run(main())


def test_client_speaking_plain_text_fails_the_server_handshake(
    run: Callable[..., Any], server_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with TLSServer(server_ctx, Recorder) as server:
            with own_blocking_call(socket.create_connection, (HOST, server.port)) as plain:
                own_blocking_call(plain.sendall, b"GET / HTTP/1.0\r\n\r\n")
                await until(lambda: bool(server.waiters) and server.waiters[0].done())
                with pytest.raises(ssl.SSLError):
                    server.waiters[0].result()
                plain.settimeout(2)
                received = b""
                while chunk := own_blocking_call(
                    plain.recv, 4096
                ):  # hung up, perhaps after an alert
                    received += chunk
                assert received[:1] in (b"", b"\x15")  # content type 21: alert
            assert server.apps[0].made == 0

    run(main())


def test_untrusted_certificate_fails_both_handshakes(
    run: Callable[..., Any], server_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with TLSServer(server_ctx, Recorder) as server:
            client = Recorder()
            untrusting = ssl.create_default_context()  # does not know the trustme CA
            with pytest.raises(ssl.SSLCertVerificationError) as info:
                await open_tls(client, untrusting, server.port)
            assert info.value.verify_code == 20  # unable to get local issuer certificate
            assert client.made == 0 and client.lost == []
            # The client's alert reaches the server, whose handshake fails too.
            await until(lambda: bool(server.waiters) and server.waiters[0].done())
            with pytest.raises(ssl.SSLError, match=r"ALERT_UNKNOWN_CA|alert unknown ca"):
                server.waiters[0].result()
            assert server.apps[0].made == 0

    run(main())


def test_wrong_host_name_fails_the_handshake(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with TLSServer(server_ctx, Recorder) as server:
            client = Recorder()
            with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
                await open_tls(client, client_ctx, server.port, server_hostname="example.org")
            await until(lambda: bool(server.waiters) and server.waiters[0].done())
            server.waiters[0].exception()  # retrieved: the server's side of it
            assert client.made == 0

    run(main())


def test_empty_server_hostname_turns_host_name_checking_off(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        assert client_ctx.check_hostname
        async with TLSServer(server_ctx, Recorder) as server:
            # No name to match: the certificate chain is still verified...
            client = Recorder()
            transport, _ = await open_tls(client, client_ctx, server.port, server_hostname="")
            assert client.made == 1
            assert transport.get_extra_info("ssl_object").server_hostname is None
            transport.close()
            await client.closed
            # ...so an untrusted certificate still fails.
            with pytest.raises(ssl.SSLCertVerificationError):
                await open_tls(Recorder(), ssl.create_default_context(), server.port, "")
            await until(lambda: len(server.waiters) == 2 and server.waiters[1].done())
            server.waiters[1].exception()
        # ssl=True (no context) builds one that skips the name only when asked to.
        assert default_client_context(False, "").check_hostname is False
        assert default_client_context(False, "localhost").check_hostname is True

    run(main())
