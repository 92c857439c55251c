"""The TLS layer carrying data: construction, roundtrips, BufferedProtocol,
flow control in both directions, extra info, sendfile, application errors.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
from collections.abc import Callable
from typing import Any

import pytest
from tlshelpers import (
    HOST,
    BufferedRecorder,
    Recorder,
    TLSServer,
    open_tls,
    until,
)

from loopkit.transports.tls.apptransport import SSLAppTransport
from loopkit.transports.tls.layer import (
    SSL_HANDSHAKE_TIMEOUT,
    SSL_SHUTDOWN_TIMEOUT,
    TLSProtocol,
)


def test_defaults_match_asyncio() -> None:
    from asyncio import constants

    assert SSL_HANDSHAKE_TIMEOUT == constants.SSL_HANDSHAKE_TIMEOUT == 60.0
    assert SSL_SHUTDOWN_TIMEOUT == constants.SSL_SHUTDOWN_TIMEOUT == 30.0


@pytest.mark.parametrize("name", ["ssl_handshake_timeout", "ssl_shutdown_timeout"])
@pytest.mark.parametrize("value", [0, -1.5])
def test_timeouts_must_be_positive(
    run: Callable[..., Any], client_ctx: ssl.SSLContext, name: str, value: float
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        timeouts: dict[str, Any] = {name: value}
        with pytest.raises(ValueError, match=f"{name} should be a positive number"):
            TLSProtocol(loop, asyncio.Protocol(), client_ctx, None, **timeouts)

    run(main())


def test_server_side_needs_a_context(run: Callable[..., Any]) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError, match="Server side SSL needs a valid SSLContext"):
            TLSProtocol(loop, asyncio.Protocol(), None, None, server_side=True)

    run(main())


@pytest.mark.parametrize("debug", [False, True], ids=["", "debug"])
def test_client_and_server_roundtrip(
    tls_loop: asyncio.AbstractEventLoop,
    run: Callable[..., Any],
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    debug: bool,
) -> None:
    tls_loop.set_debug(debug)

    async def main() -> None:
        async with TLSServer(server_ctx, lambda: Recorder(echo=True)) as server:
            client = Recorder()
            transport, _ = await open_tls(client, client_ctx, server.port)
            assert client.made == 1 and client.transport is transport
            transport.write(b"hello ")
            transport.writelines([b"over ", bytearray(b"tls"), memoryview(b"")])
            assert await client.received(14) == b"hello over tls"
            served = await server.accepted()
            assert isinstance(served.transport, SSLAppTransport)
            assert served.made == 1
            transport.close()
            await client.closed
            await served.closed
            assert client.lost == [None]
            assert served.lost == [None]
            assert served.eof == 1  # the client's close_notify

    run(main())


def test_an_sslobject_subclass_of_the_context_is_used_for_reading(
    tls_loop: asyncio.AbstractEventLoop,
    run: Callable[..., Any],
    server_ctx: ssl.SSLContext,
    ca: Any,
) -> None:
    """Plain SSLObjects are read through their C object (a shortcut); a
    context's ``sslobject_class`` may override ``read``, and is honoured."""
    reads: list[int] = []

    class CountingSSLObject(ssl.SSLObject):
        def read(self, len: int = 1024, buffer: Any = None) -> Any:
            result = super().read(len, buffer)
            reads.append(result if isinstance(result, int) else len)
            return result

    client_ctx = ssl.create_default_context()  # its own: the fixture's is shared
    ca.configure_trust(client_ctx)
    client_ctx.sslobject_class = CountingSSLObject

    async def main() -> None:
        async with TLSServer(server_ctx, lambda: Recorder(echo=True)) as server:
            client = Recorder()
            transport, _ = await open_tls(client, client_ctx, server.port)
            transport.write(b"counted")
            assert await client.received(7) == b"counted"
            assert sum(reads) >= 7
            transport.close()
            await client.closed

    run(main())


def test_writes_before_the_handshake_are_sent_after_it(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with TLSServer(server_ctx, Recorder) as server:
            waiter: asyncio.Future[None] = loop.create_future()
            client = Recorder()
            layer = TLSProtocol(loop, client, client_ctx, waiter, server_hostname="localhost")
            early = layer.get_app_transport()
            buffer = bytearray(b"early bird")
            early.write(buffer)
            buffer[:] = b"overwritten"  # the layer kept a copy
            assert early.get_write_buffer_size() == len(b"early bird")
            plain, _ = await loop.create_connection(lambda: layer, HOST, server.port)
            await waiter
            served = await server.accepted()
            assert await served.received(10) == b"early bird"
            assert early.get_write_buffer_size() == 0
            early.close()
            await client.closed
            assert plain.is_closing()

    run(main())


def test_large_payloads_both_ways(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    payload = os.urandom(4 * 1024 * 1024)

    async def main() -> None:
        async with TLSServer(server_ctx, lambda: Recorder(echo=True)) as server:
            client = Recorder()
            transport, _ = await open_tls(client, client_ctx, server.port)
            for start in range(0, len(payload), 1024 * 1024):
                transport.write(payload[start : start + 1024 * 1024])
                await asyncio.sleep(0)
            echoed = await client.received(len(payload))
            served = await server.accepted()
            assert hashlib.sha256(served.data).digest() == hashlib.sha256(payload).digest()
            assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()
            transport.close()
            await client.closed

    run(main(), timeout=30)


def test_concurrent_connections_keep_their_own_data(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    payloads = [bytes([index]) * 700_000 + os.urandom(1000) for index in range(4)]

    async def main() -> None:
        async with TLSServer(server_ctx, lambda: Recorder(echo=True)) as server:

            async def one(payload: bytes) -> bytes:
                client = Recorder()
                transport, _ = await open_tls(client, client_ctx, server.port)
                for start in range(0, len(payload), 100_000):
                    transport.write(payload[start : start + 100_000])
                    await asyncio.sleep(0)
                echoed = await client.received(len(payload))
                transport.close()
                await client.closed
                return echoed

            echoed = await asyncio.gather(*(one(payload) for payload in payloads))
            assert echoed == payloads

    run(main(), timeout=30)


def test_buffered_protocol_apps_on_both_ends(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    payload = os.urandom(300_000)

    async def main() -> None:
        async with TLSServer(server_ctx, lambda: BufferedRecorder(1000, echo=True)) as server:
            client = BufferedRecorder(4096)
            transport, _ = await open_tls(client, client_ctx, server.port)
            transport.write(payload)
            await until(lambda: len(client.data) >= len(payload))
            served = await server.accepted()
            assert served.data == payload
            assert client.data == payload
            # A 1000-byte buffer takes many get_buffer calls per TLS record.
            assert served.get_buffer_calls >= len(payload) // 1000
            transport.close()
            await client.closed
            await served.closed
            assert client.lost == [None] and served.lost == [None]

    run(main())


def test_set_protocol_switches_between_plain_and_buffered(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with TLSServer(server_ctx, lambda: Recorder(echo=True)) as server:
            first = Recorder()
            transport, _ = await open_tls(first, client_ctx, server.port)
            transport.write(b"one")
            await first.received(3)
            second = BufferedRecorder(64)
            transport.set_protocol(second)
            assert transport.get_protocol() is second
            transport.write(b"two")
            await until(lambda: bytes(second.data) == b"two")
            transport.close()
            await second.closed
            assert first.lost == [] and second.lost == [None]

    run(main())


def test_get_extra_info(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with TLSServer(server_ctx, Recorder) as server:
            client = Recorder()
            transport, _ = await open_tls(client, client_ctx, server.port)
            ssl_object = transport.get_extra_info("ssl_object")
            assert isinstance(ssl_object, ssl.SSLObject)
            assert ssl_object.server_hostname == "localhost"
            peercert = transport.get_extra_info("peercert")
            assert ("DNS", "localhost") in peercert["subjectAltName"]
            cipher = transport.get_extra_info("cipher")
            assert cipher == ssl_object.cipher() and len(cipher) == 3
            assert transport.get_extra_info("compression") is None
            assert transport.get_extra_info("sslcontext") is client_ctx
            # The plain transport's keys pass through.
            assert transport.get_extra_info("socket").fileno() >= 0
            assert transport.get_extra_info("peername") == (HOST, server.port)
            assert transport.get_extra_info("sockname")[0] == HOST
            assert transport.get_extra_info("no such key", "dflt") == "dflt"
            served = await server.accepted()
            assert served.transport.get_extra_info("peercert") is None  # no client cert
            assert served.transport.get_extra_info("sslcontext") is server_ctx
            assert not transport.can_write_eof()
            with pytest.raises(NotImplementedError):
                transport.write_eof()
            with pytest.raises(TypeError, match="bytes-like"):
                transport.write("text")  # type: ignore[arg-type]
            transport.close()
            await client.closed
            assert transport.get_extra_info("peername") is None  # lost: nothing below

    run(main())


@pytest.mark.no_fault_injection(
    reason="expects the first pause to last until the peer reads; injected EAGAIN "
    "fills the buffer early and the pause ends at once"
)
def test_flow_control_pauses_and_resumes_a_writer(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    class NotReading(Recorder):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self.transport.pause_reading()

    async def main() -> None:
        async with TLSServer(server_ctx, NotReading) as server:
            client = Recorder()
            transport, _ = await open_tls(client, client_ctx, server.port)
            with pytest.raises(ValueError, match="must be >= low"):
                transport.set_write_buffer_limits(high=10, low=20)
            transport.set_write_buffer_limits(high=256 * 1024)
            assert transport.get_write_buffer_limits() == (64 * 1024, 256 * 1024)
            served = await server.accepted()
            assert not served.transport.is_reading()
            chunk = b"f" * 65536
            written = 0
            while not client.paused and written < 256 * 1024 * 1024:
                transport.write(chunk)
                written += len(chunk)
                await asyncio.sleep(0)
            assert client.paused == 1
            assert transport.get_write_buffer_size() >= 256 * 1024
            served.transport.resume_reading()
            assert served.transport.is_reading()
            await served.received(written)
            await until(lambda: client.resumed == 1)
            assert transport.get_write_buffer_size() == 0
            assert len(served.data) == written
            transport.close()
            await client.closed

    run(main(), timeout=30)


def test_sendfile_over_tls_uses_the_read_write_fallback(
    tmp_path: Any,
    run: Callable[..., Any],
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
) -> None:
    content = os.urandom(3_000_000)
    path = tmp_path / "payload.bin"
    path.write_bytes(content)

    async def main() -> None:
        async with TLSServer(server_ctx, Recorder) as server:
            client = Recorder()
            transport, _ = await open_tls(client, client_ctx, server.port)
            with open(path, "rb") as file:
                sent = await asyncio.get_running_loop().sendfile(transport, file, offset=1000)
                assert sent == len(content) - 1000
                assert file.tell() == len(content)
            served = await server.accepted()
            assert await served.received(sent) == content[1000:]
            assert transport.get_protocol() is client  # given back afterwards
            transport.close()
            await client.closed

    run(main())


def test_paused_reader_gets_data_and_eof_after_resuming(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with TLSServer(server_ctx, Recorder) as server:
            client = Recorder()
            transport, _ = await open_tls(client, client_ctx, server.port)
            transport.pause_reading()
            served = await server.accepted()
            served.transport.write(b"z" * 500_000)
            served.transport.close()
            await asyncio.sleep(0.1)
            assert len(client.data) == 0 and client.eof == 0
            transport.resume_reading()
            await client.closed
            assert len(client.data) == 500_000 and client.eof == 1
            assert client.lost == [None]
            await served.closed

    run(main())


def test_error_in_the_application_is_reported_and_ends_only_that_connection(
    tls_loop: asyncio.AbstractEventLoop,
    run: Callable[..., Any],
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
) -> None:
    class Broken(Recorder):
        def data_received(self, data: bytes) -> None:
            raise RuntimeError("application bug")

    async def main() -> None:
        async with TLSServer(server_ctx, Broken) as server:
            healthy = Recorder()
            healthy_transport, _ = await open_tls(healthy, client_ctx, server.port)
            victim = Recorder()
            victim_transport, _ = await open_tls(victim, client_ctx, server.port)
            victim_transport.write(b"boom")
            broken = server.apps[1]
            await broken.closed
            assert len(broken.lost) == 1 and isinstance(broken.lost[0], RuntimeError)
            await victim.closed
            assert not healthy_transport.is_closing()
            assert server.apps[0].lost == []
            healthy_transport.close()
            await healthy.closed

    run(main())
    errors = tls_loop.errors  # type: ignore[attr-defined]
    assert [str(context["exception"]) for context in errors] == ["application bug"]
    errors.clear()
