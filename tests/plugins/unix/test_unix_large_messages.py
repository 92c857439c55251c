"""1 MiB messages echoed over a Unix socket, by a Protocol server and a streams server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from largeecho import EchoBytes, round_trips, stream_echo


def test_protocol_server_echoes_1_mib_messages_exactly(run_any: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "large.sock")

    async def main() -> None:
        server = await asyncio.get_running_loop().create_unix_server(EchoBytes, path)
        await round_trips(lambda: asyncio.open_unix_connection(path))
        server.close()
        await server.wait_closed()

    run_any(main())


def test_streams_server_echoes_1_mib_messages_exactly(run_any: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "large.sock")

    async def main() -> None:
        server = await asyncio.start_unix_server(stream_echo, path)
        await round_trips(lambda: asyncio.open_unix_connection(path))
        server.close()
        await server.wait_closed()

    run_any(main())
