"""``loop.start_tls`` on a transport that is closed, or closes during the handshake.

asyncio's ``start_tls`` returns None when the connection ends without an
error before it returns (the same on 3.11, 3.12 and 3.13), and HTTP clients
check for that (aiohttp: "Failed to start TLS (possibly caused by closing
transport)"). A peer that leaves during the handshake is an error. Each test
calls the loop's own ``start_tls``, on asyncio's loop and on loopkit's.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from typing import Any

import pytest
from tlshelpers import HOST, Recorder


async def connect_plain(port: int) -> tuple[asyncio.Transport, Recorder]:
    client = Recorder()
    plain, _ = await asyncio.get_running_loop().create_connection(lambda: client, HOST, port)
    return plain, client


async def upgrade(
    plain: asyncio.Transport, client: Recorder, client_ctx: ssl.SSLContext
) -> asyncio.Transport | None:
    loop = asyncio.get_running_loop()
    return await loop.start_tls(
        plain, client, client_ctx, server_hostname="localhost", ssl_handshake_timeout=5
    )


def test_start_tls_on_a_closing_transport_returns_none(
    run: Callable[..., Any], client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        with socket.create_server((HOST, 0)) as mute:
            plain, client = await connect_plain(mute.getsockname()[1])
            plain.close()  # its connection_lost is still to come
            assert await upgrade(plain, client, client_ctx) is None
            # Told once that the connection ended (asyncio: through its TLS
            # layer; loopkit: by the transport, which start_tls left alone).
            await asyncio.sleep(0.01)
            assert client.lost == [None]

    run(main())


# asyncio waits for ever here (its handshake timeout does not wake start_tls):
# loopkit returns the None that asyncio gives a transport closing a moment later.
@pytest.mark.parametrize("loop_factory", ["loopkit"], indirect=True)
def test_start_tls_on_a_closed_transport_returns_none_at_once(
    run: Callable[..., Any], client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        with socket.create_server((HOST, 0)) as mute:
            plain, client = await connect_plain(mute.getsockname()[1])
            plain.close()
            await client.closed
            assert await asyncio.wait_for(upgrade(plain, client, client_ctx), 1) is None
            assert client.lost == [None]  # from the plain connection, before start_tls

    run(main())


@pytest.mark.parametrize("how", ["close", "abort"])
def test_start_tls_returns_none_when_the_transport_closes_during_the_handshake(
    run: Callable[..., Any], client_ctx: ssl.SSLContext, how: str
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.create_server((HOST, 0)) as mute:  # never answers the hello
            plain, client = await connect_plain(mute.getsockname()[1])
            loop.call_later(0.05, getattr(plain, how))
            assert await upgrade(plain, client, client_ctx) is None
            await asyncio.sleep(0.01)
            assert client.made == 1 and client.lost == []  # never connected over TLS

    run(main())


def test_start_tls_raises_when_the_peer_leaves_during_the_handshake(
    run: Callable[..., Any], client_ctx: ssl.SSLContext
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        class HangUpOnHello(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def data_received(self, data: bytes) -> None:
                self.transport.close()

        server = await loop.create_server(HangUpOnHello, HOST, 0)
        plain, client = await connect_plain(server.sockets[0].getsockname()[1])
        with pytest.raises(ConnectionResetError):
            await upgrade(plain, client, client_ctx)
        assert plain.is_closing()
        server.close()
        await server.wait_closed()

    run(main())
