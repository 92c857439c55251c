"""``Server.wait_closed`` as the running Python's asyncio has it, for any stream server.

asyncio changed when ``wait_closed`` returns twice, and loopkit follows the
running version (see ``plugins/tcp/server.py``). The scenarios here are
shared by the tcp and unix server tests, which run them on asyncio's loop and
on loopkit's (``run_any``) so that both are held to the same version fact.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

#: 3.11: ``wait_closed`` on a closed server returns at once, connections or not.
CLOSED_SERVER_RETURNS_AT_ONCE = sys.version_info < (3, 12)

#: 3.12.0 only: ``wait_closed`` returns at once while no connection is open,
#: even before the server is closed (3.12.1 fixed that).
IDLE_SERVER_RETURNS_AT_ONCE = sys.version_info[:3] == (3, 12, 0)

#: Starts a server for a protocol factory.
StartServer = Callable[[Callable[[], asyncio.BaseProtocol]], Awaitable[asyncio.AbstractServer]]
#: Opens a client connection to that server.
Connect = Callable[[asyncio.AbstractServer], Awaitable[tuple[Any, asyncio.StreamWriter]]]


async def close_with_a_client_connected(start_server: StartServer, connect: Connect) -> None:
    """``close(); await wait_closed()`` while a client is connected, as test fixtures do.

    On 3.11 the wait is over at once; from 3.12 on it lasts until the server
    side of that connection is closed.
    """
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[asyncio.BaseTransport] = loop.create_future()

    class Accepted(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.set_result(transport)

    server = await start_server(Accepted)
    _reader, writer = await connect(server)
    transport = await asyncio.wait_for(accepted, 2)
    server.close()
    waiter = loop.create_task(server.wait_closed())
    await asyncio.sleep(0.05)
    assert waiter.done() is CLOSED_SERVER_RETURNS_AT_ONCE
    transport.close()
    await asyncio.wait_for(waiter, 2)
    writer.close()
    await writer.wait_closed()


async def wait_on_an_idle_server(start_server: StartServer) -> None:
    """``wait_closed`` on an open server with no client: it waits for ``close``
    (except on 3.12.0, where it returns at once)."""
    loop = asyncio.get_running_loop()
    server = await start_server(asyncio.Protocol)
    waiter = loop.create_task(server.wait_closed())
    await asyncio.sleep(0.05)
    assert waiter.done() is IDLE_SERVER_RETURNS_AT_ONCE
    server.close()
    await asyncio.wait_for(waiter, 2)
