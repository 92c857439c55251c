"""The built-in transport families pass the kit's contracts (loopkit.testing).

Streams: tcp, tcp with TLS (trustme certificates), unix. Datagrams: udp, unix
datagram sockets. Pipes are one-way, so the two-way stream contract does not
fit them (see docs/testing-plugins.rst).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import tempfile
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import trustme

from loopkit.testing import DatagramContract, StreamContract
from loopkit.testing.stream_contract import ProtocolFactory


class TestTcpStreams(StreamContract):
    @contextlib.asynccontextmanager
    async def open_pair(
        self,
        loop: asyncio.AbstractEventLoop,
        client_factory: ProtocolFactory,
        server_factory: ProtocolFactory,
    ) -> AsyncIterator[None]:
        server = await loop.create_server(server_factory, "127.0.0.1", 0)
        try:
            host, port = server.sockets[0].getsockname()[:2]
            await loop.create_connection(client_factory, host, port)
            yield
        finally:
            server.close()
            await server.wait_closed()


_CA = trustme.CA()
_CERT = _CA.issue_cert("localhost")


def _contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    _CERT.configure_cert(server)
    client = ssl.create_default_context()
    _CA.configure_trust(client)
    return server, client


class TestTlsStreams(StreamContract):
    """TLS over tcp: no half-close (TLS has none), and the TLS extra info."""

    can_write_eof: ClassVar[bool] = False
    extra_info: ClassVar[tuple[str, ...]] = (
        "socket",
        "sockname",
        "peername",
        "sslcontext",
        "ssl_object",
        "cipher",
    )

    @contextlib.asynccontextmanager
    async def open_pair(
        self,
        loop: asyncio.AbstractEventLoop,
        client_factory: ProtocolFactory,
        server_factory: ProtocolFactory,
    ) -> AsyncIterator[None]:
        server_context, client_context = _contexts()
        server = await loop.create_server(server_factory, "127.0.0.1", 0, ssl=server_context)
        try:
            port = server.sockets[0].getsockname()[1]
            await loop.create_connection(
                client_factory, "127.0.0.1", port, ssl=client_context, server_hostname="localhost"
            )
            yield
        finally:
            server.close()
            await server.wait_closed()


class TestUnixStreams(StreamContract):
    """Unix sockets: the client's own name is '' (unbound), the server's is its path."""

    @contextlib.asynccontextmanager
    async def open_pair(
        self,
        loop: asyncio.AbstractEventLoop,
        client_factory: ProtocolFactory,
        server_factory: ProtocolFactory,
    ) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "s")
            server = await loop.create_unix_server(server_factory, path)
            try:
                await loop.create_unix_connection(client_factory, path)
                yield
            finally:
                server.close()
                await server.wait_closed()

    def test_this_family_reports_names(self) -> None:
        # sockname/peername are '' for an unbound end: not None, so still checked.
        assert "sockname" in self.extra_info


class TestUdpDatagrams(DatagramContract):
    @contextlib.asynccontextmanager
    async def open_endpoints(
        self, loop: asyncio.AbstractEventLoop, factory_a: Any, factory_b: Any
    ) -> AsyncIterator[None]:
        await loop.create_datagram_endpoint(factory_a, local_addr=("127.0.0.1", 0))
        await loop.create_datagram_endpoint(factory_b, local_addr=("127.0.0.1", 0))
        yield


class TestUnixDatagrams(DatagramContract):
    @contextlib.asynccontextmanager
    async def open_endpoints(
        self, loop: asyncio.AbstractEventLoop, factory_a: Any, factory_b: Any
    ) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory() as directory:
            for name, factory in (("a", factory_a), ("b", factory_b)):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                try:
                    sock.bind(os.path.join(directory, name))
                except OSError:
                    sock.close()
                    raise
                await loop.create_datagram_endpoint(factory, sock=sock)
            yield
