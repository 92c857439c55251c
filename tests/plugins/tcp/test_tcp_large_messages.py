"""1 MiB messages echoed over TCP, by a Protocol server and a streams server."""

from __future__ import annotations

import asyncio
from typing import Any

from largeecho import EchoBytes, round_trips, stream_echo


def test_protocol_server_echoes_1_mib_messages_exactly(run_any: Any) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(EchoBytes, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        await round_trips(lambda: asyncio.open_connection("127.0.0.1", port))
        server.close()
        await server.wait_closed()

    run_any(main())


def test_streams_server_echoes_1_mib_messages_exactly(run_any: Any) -> None:
    async def main() -> None:
        server = await asyncio.start_server(stream_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        await round_trips(lambda: asyncio.open_connection("127.0.0.1", port))
        server.close()
        await server.wait_closed()

    run_any(main())
