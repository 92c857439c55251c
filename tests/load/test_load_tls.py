"""TLS under load: a thousand clients that never finish the handshake.

Each stalled client is dropped when the server's ``ssl_handshake_timeout``
expires, while real clients connecting at the same time are served. The
test runs on asyncio's own loop too, which shows the test itself is right;
the loopkit run waits for the TLS layer (``loopkit/transports/tls/layer.py``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import ssl
import time
from collections.abc import Callable

import pytest
import trustme
from loadfigures import Figures, raise_fd_limit

import loopkit

pytestmark = pytest.mark.slow

STALLED = 1_000
REAL_CLIENTS = 20
HANDSHAKE_TIMEOUT = 1.0

HAS_TLS_LAYER = importlib.util.find_spec("loopkit.transports.tls.layer") is not None


LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "loopkit": loopkit.new_event_loop,
}
KINDS = [
    pytest.param("asyncio"),
    pytest.param(
        "loopkit",
        marks=pytest.mark.skipif(
            not HAS_TLS_LAYER,
            reason="the TLS layer (loopkit.transports.tls) is not merged yet",
        ),
    ),
]


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


@pytest.mark.parametrize("kind", KINDS)
def test_stalled_handshakes_are_dropped_at_the_timeout_while_real_clients_are_served(
    kind: str, figures: Figures
) -> None:
    raise_fd_limit(2 * STALLED + 500)
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)

    loop = LOOPS[kind]()
    errors: list[object] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context.get("exception")))
    stalled: list[socket.socket] = []
    try:
        server = loop.run_until_complete(
            loop.create_server(
                Echo,
                "127.0.0.1",
                0,
                ssl=server_context,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT,
                backlog=2048,
            )
        )
        address = server.sockets[0].getsockname()

        async def real_client(index: int) -> bytes:
            reader, writer = await asyncio.open_connection(
                *address, ssl=client_context, server_hostname="localhost"
            )
            writer.write(f"hello {index}\n".encode())
            line = await reader.readline()
            writer.close()
            await writer.wait_closed()
            return line

        async def dropped_after(sock: socket.socket, connected_at: float) -> float:
            """Seconds from connecting until the server hung up on this silent client."""
            try:
                while await loop.sock_recv(sock, 1024):
                    pass  # (a server may send an alert before closing)
            except ConnectionResetError:
                pass
            return time.monotonic() - connected_at

        async def scenario() -> tuple[list[bytes], list[float]]:
            # The silent clients connect and say nothing: no ClientHello.
            started = time.monotonic()
            for _ in range(STALLED):
                sock = socket.socket()
                stalled.append(sock)
                sock.setblocking(False)
                await loop.sock_connect(sock, address)
            watchers = [asyncio.ensure_future(dropped_after(sock, started)) for sock in stalled]
            # Real clients come while all of those are still pending.
            answers = await asyncio.gather(*(real_client(i) for i in range(REAL_CLIENTS)))
            served_by = time.monotonic() - started
            figures.add("real clients served within", f"{served_by:.2f} s of the first stall")
            return answers, await asyncio.gather(*watchers)

        answers, drops = loop.run_until_complete(asyncio.wait_for(scenario(), 30))
        server.close()
        loop.run_until_complete(server.wait_closed())
    finally:
        for sock in stalled:
            sock.close()
        loop.close()
    figures.add("stalled clients dropped", f"{len(drops):,}")
    figures.add("dropped after", f"{min(drops):.2f} s to {max(drops):.2f} s")
    assert answers == [f"hello {i}\n".encode() for i in range(REAL_CLIENTS)]
    assert len(drops) == STALLED
    # None is dropped before its deadline (all connected within "started"
    # and "started + connecting time"), and none is kept for long after it.
    assert min(drops) >= HANDSHAKE_TIMEOUT * 0.9
    assert max(drops) < HANDSHAKE_TIMEOUT + 20
