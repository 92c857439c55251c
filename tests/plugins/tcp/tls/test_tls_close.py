"""Ending a TLS connection: close_notify both ways, EOF without one, the
shutdown timeout, nothing lost on the way out, connection_lost exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import pytest
from tlshelpers import (
    RawThreadPeer,
    Recorder,
    ThreadPeer,
    TLSServer,
    open_tls,
)


def test_close_sends_close_notify_and_waits_for_the_peers(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    def script(sock: ssl.SSLSocket) -> bytes:
        received = b""
        while chunk := sock.recv(65536):  # b"" only on close_notify here
            received += chunk
        sock.unwrap()  # answer with our close_notify
        return received

    async def main() -> None:
        peer = ThreadPeer(server_ctx, script)
        client = Recorder()
        transport, _ = await open_tls(client, client_ctx, peer.port)
        transport.write(b"x" * 1_000_000)
        transport.close()  # buffered data is flushed before close_notify
        assert transport.is_closing()
        transport.write(b"ignored after close")
        await client.closed
        assert await peer.finish() == b"x" * 1_000_000
        assert client.lost == [None]

    run(main())


def test_peer_close_notify_is_an_eof_and_is_answered(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    def script(sock: ssl.SSLSocket) -> str:
        sock.sendall(b"bye")
        sock.unwrap()  # returns only once our close_notify came back
        return "unwrapped"

    async def main() -> None:
        peer = ThreadPeer(server_ctx, script)
        client = Recorder()
        transport, _ = await open_tls(client, client_ctx, peer.port)
        await client.closed
        assert bytes(client.data) == b"bye"
        assert client.eof == 1
        assert client.lost == [None]
        assert transport.is_closing()
        assert await peer.finish() == "unwrapped"

    run(main())


def test_peer_eof_without_close_notify_still_delivers_data_then_eof(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    def script(sock: ssl.SSLSocket) -> None:
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_RDWR)  # TCP FIN, no close_notify

    async def main() -> None:
        peer = ThreadPeer(server_ctx, script)
        client = Recorder()
        await open_tls(client, client_ctx, peer.port)
        await client.closed
        assert bytes(client.data) == b"last words"
        assert client.eof == 1 and client.lost == [None]
        await peer.finish()

    run(main())


def test_peer_that_never_answers_close_notify_is_dropped_at_the_shutdown_timeout(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        peer = ThreadPeer(server_ctx, lambda sock: peer.release.wait(5))
        client = Recorder()
        transport, _ = await open_tls(client, client_ctx, peer.port, ssl_shutdown_timeout=0.3)
        started = time.monotonic()
        transport.close()
        await client.closed
        assert time.monotonic() - started >= 0.25
        assert len(client.lost) == 1
        assert isinstance(client.lost[0], TimeoutError)
        await peer.finish()

    run(main())


def test_close_does_not_wait_forever_for_a_peer_that_stopped_reading(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    def script(plain: socket.socket) -> None:
        # TLS driven by hand: send close_notify right after the handshake,
        # then never read again.
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = server_ctx.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                plain.sendall(outgoing.read())
                incoming.write(plain.recv(65536))
        with pytest.raises(ssl.SSLWantReadError):
            tls.unwrap()
        plain.sendall(outgoing.read())
        peer.release.wait(5)

    class FloodOnEOF(Recorder):
        def eof_received(self) -> bool | None:
            # The close_notify is answered after this: 32 MiB that the
            # peer will never read are in the way.
            self.transport.write(b"f" * (32 * 1024 * 1024))
            return super().eof_received()

    peer = RawThreadPeer(script)

    async def main() -> None:
        client = FloodOnEOF()
        await open_tls(client, client_ctx, peer.port, ssl_shutdown_timeout=0.3)
        await client.closed
        assert client.eof == 1
        assert len(client.lost) == 1 and isinstance(client.lost[0], TimeoutError)
        await peer.finish()

    run(main())


def test_peer_close_notify_while_output_is_held_back_loses_nothing(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    def script(plain: socket.socket) -> tuple[int, bool]:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = server_ctx.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                plain.sendall(outgoing.read())
                incoming.write(plain.recv(65536))
        plain.sendall(outgoing.read())
        time.sleep(0.3)  # the client fills every buffer meanwhile
        received = 0
        # Application data that came with the handshake's last flight must
        # be read first: OpenSSL refuses unwrap() while it is pending.
        with contextlib.suppress(ssl.SSLWantReadError):
            while True:
                received += len(tls.read(65536))
        with pytest.raises(ssl.SSLWantReadError):
            tls.unwrap()  # our close_notify first...
        plain.sendall(outgoing.read())
        while True:  # ...then read everything the client still sends
            try:
                received += len(tls.read(65536))
            except ssl.SSLWantReadError:
                chunk = plain.recv(1 << 20)
                if not chunk:
                    return received, False  # EOF without close_notify
                incoming.write(chunk)
            except ssl.SSLZeroReturnError:
                return received, True

    async def main() -> None:
        peer = RawThreadPeer(script)
        client = Recorder()
        transport, _ = await open_tls(client, client_ctx, peer.port)
        written = 0
        while not client.paused:  # until the layer itself holds ciphertext
            transport.write(b"w" * 65536)
            written += 65536
            await asyncio.sleep(0)
        await client.closed
        assert client.eof == 1 and client.lost == [None]
        assert await peer.finish() == (written, True)

    run(main())


@pytest.mark.no_fault_injection(
    reason="aborts right after the client handshake: a Finished still queued is dropped, "
    "so the server app may never connect"
)
def test_connection_lost_exactly_once_however_it_ends(
    run: Callable[..., Any], server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with TLSServer(server_ctx, Recorder) as server:
            # close, then close and abort again
            client = Recorder()
            transport, _ = await open_tls(client, client_ctx, server.port)
            transport.close()
            transport.close()
            transport.abort()
            await client.closed
            await asyncio.sleep(0.05)
            assert client.lost == [None]
            # abort: no close_notify; the server sees a plain EOF
            client = Recorder()
            transport, _ = await open_tls(client, client_ctx, server.port)
            transport.abort()
            await client.closed
            await asyncio.sleep(0.05)
            assert client.lost == [None]
            for app in server.apps:
                await app.closed
                assert len(app.lost) == 1

    run(main())
