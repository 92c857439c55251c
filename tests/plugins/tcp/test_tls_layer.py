"""The TLS layer over real loopback connections.

``TLSProtocol`` is only a protocol, so it runs over any loop's plain stream
transport: these tests run on asyncio's own loop, and on loopkit's as soon as
its tcp plugin provides ``create_connection``. The reference peer for
close_notify behaviour is the stdlib's blocking ``ssl`` socket in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import trustme
from loopkit.plugins.tcp.tls import (
    SSL_HANDSHAKE_TIMEOUT,
    SSL_SHUTDOWN_TIMEOUT,
    TLSProtocol,
    default_client_context,
)
from loopkit.plugins.tcp.tls_start import start_tls
from loopkit.plugins.tcp.tls_transport import SSLAppTransport

import loopkit

_T = TypeVar("_T")
HOST = "127.0.0.1"


# -- fixtures ------------------------------------------------------------


def _loopkit_has_tcp() -> bool:
    return "tcp" in loopkit.assemble().providers.values()


@pytest.fixture(params=["asyncio", "loopkit"])
def loop_factory(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    if request.param == "loopkit":
        if not _loopkit_has_tcp():
            pytest.skip("tcp plugin not merged")
        return loopkit.new_event_loop
    return asyncio.new_event_loop


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def tls_loop(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> Iterator[asyncio.AbstractEventLoop]:
    """A loop whose unexpected error reports fail the test, and after which
    no file descriptor is left open."""
    fds_before = _open_fds()
    loop = loop_factory()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    loop.errors = errors  # type: ignore[attr-defined]
    try:
        yield loop
    finally:
        loop.run_until_complete(asyncio.sleep(0.01))  # let pending closes finish
        loop.close()
    assert errors == []
    assert _open_fds() == fds_before


@pytest.fixture
def run(tls_loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    def runner(coro: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        return tls_loop.run_until_complete(asyncio.wait_for(coro, timeout))

    return runner


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", HOST).configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


# -- application protocols -------------------------------------------------


class Recorder(asyncio.Protocol):
    """Records what the TLS layer tells an application protocol."""

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo
        self.transport: Any = None
        self.made = 0
        self.data = bytearray()
        self.eof = 0
        self.lost: list[BaseException | None] = []
        self.paused = 0
        self.resumed = 0
        self.closed = asyncio.get_running_loop().create_future()
        self._want: tuple[int, asyncio.Future[None]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made += 1
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        if self.echo:
            self.transport.write(data)
        self._check_want()

    def _check_want(self) -> None:
        want = self._want
        if want is not None and len(self.data) >= want[0] and not want[1].done():
            want[1].set_result(None)

    async def received(self, nbytes: int) -> bytes:
        self._want = (nbytes, asyncio.get_running_loop().create_future())
        self._check_want()
        await self._want[1]
        return bytes(self.data)

    def eof_received(self) -> bool | None:
        self.eof += 1
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self.paused += 1

    def resume_writing(self) -> None:
        self.resumed += 1


class BufferedRecorder(asyncio.BufferedProtocol):
    """A BufferedProtocol with a deliberately small buffer."""

    def __init__(self, size: int = 1000, echo: bool = False) -> None:
        self.buffer = bytearray(size)
        self.echo = echo
        self.transport: Any = None
        self.data = bytearray()
        self.lost: list[BaseException | None] = []
        self.get_buffer_calls = 0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> bytearray:
        self.get_buffer_calls += 1
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        chunk = bytes(self.buffer[:nbytes])
        self.data += chunk
        if self.echo:
            self.transport.write(chunk)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        if not self.closed.done():
            self.closed.set_result(None)


# -- helpers ---------------------------------------------------------------


class TLSServer:
    """create_server with a TLSProtocol per connection, recording each."""

    def __init__(
        self,
        server_ctx: ssl.SSLContext,
        app_factory: Callable[[], asyncio.BaseProtocol],
        **kwargs: Any,
    ) -> None:
        self.ctx = server_ctx
        self.app_factory = app_factory
        self.kwargs = kwargs
        self.apps: list[Any] = []
        self.waiters: list[asyncio.Future[None]] = []
        self.layers: list[TLSProtocol] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    def _make(self) -> TLSProtocol:
        loop = asyncio.get_running_loop()
        app = self.app_factory()
        waiter: asyncio.Future[None] = loop.create_future()
        layer = TLSProtocol(loop, app, self.ctx, waiter, server_side=True, **self.kwargs)
        self.apps.append(app)
        self.waiters.append(waiter)
        self.layers.append(layer)
        return layer

    async def __aenter__(self) -> TLSServer:
        self.server = await asyncio.get_running_loop().create_server(self._make, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def accepted(self) -> Any:
        """The app protocol of the first connection, once its handshake is done."""
        while not self.waiters:
            await asyncio.sleep(0.005)
        await self.waiters[0]
        return self.apps[0]


async def open_tls(
    app: asyncio.BaseProtocol,
    ctx: ssl.SSLContext | None,
    port: int,
    server_hostname: str | None = "localhost",
    **kwargs: Any,
) -> tuple[SSLAppTransport, TLSProtocol]:
    """What create_connection(ssl=ctx) does with the layer."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    layer = TLSProtocol(loop, app, ctx, waiter, server_hostname=server_hostname, **kwargs)
    transport, _ = await loop.create_connection(lambda: layer, HOST, port)
    try:
        await waiter
    except BaseException:
        transport.close()
        raise
    return layer.get_app_transport(), layer


class ThreadPeer:
    """A blocking stdlib TLS server in a thread, running ``script`` on the
    accepted connection; the reference for close_notify behaviour."""

    def __init__(self, ctx: ssl.SSLContext, script: Callable[[ssl.SSLSocket], Any]) -> None:
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.ctx = ctx
        self.script = script
        self.result: Any = None
        self.error: BaseException | None = None
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.listener.settimeout(5)
            conn, _ = self.listener.accept()
            conn.settimeout(5)
            with self.ctx.wrap_socket(
                conn, server_side=True, suppress_ragged_eofs=False
            ) as tls_sock:
                self.result = self.script(tls_sock)
        except BaseException as exc:
            self.error = exc

    async def finish(self) -> Any:
        self.release.set()
        await asyncio.get_running_loop().run_in_executor(None, self.thread.join, 5)
        self.listener.close()
        if self.error is not None:
            raise self.error
        return self.result


class RawThreadPeer(ThreadPeer):
    """Like ThreadPeer, but ``script`` gets the plain accepted socket."""

    def __init__(self, script: Callable[[socket.socket], Any]) -> None:
        self.raw_script = script
        super().__init__(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), lambda sock: None)

    def _serve(self) -> None:
        try:
            self.listener.settimeout(5)
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(5)
                self.result = self.raw_script(conn)
        except BaseException as exc:
            self.error = exc


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


# -- the tests -------------------------------------------------------------


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


def test_client_that_sends_nothing_is_dropped_at_the_handshake_timeout(
    run: Callable[..., Any], server_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with TLSServer(server_ctx, Recorder, ssl_handshake_timeout=0.3) as server:
            with socket.create_connection((HOST, server.port)) as silent:
                started = time.monotonic()
                while not server.waiters:
                    await asyncio.sleep(0.005)
                with pytest.raises(ConnectionAbortedError, match="SSL handshake is taking longer"):
                    await server.waiters[0]
                assert time.monotonic() - started >= 0.25
                await asyncio.sleep(0.05)
                silent.settimeout(2)
                try:
                    assert silent.recv(100) == b""  # the server hung up
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
            with socket.create_connection((HOST, server.port)) as plain:
                plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
                await until(lambda: bool(server.waiters) and server.waiters[0].done())
                with pytest.raises(ssl.SSLError):
                    server.waiters[0].result()
                plain.settimeout(2)
                received = b""
                while chunk := plain.recv(4096):  # hung up, perhaps after an alert
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
