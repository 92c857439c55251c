"""The unix plugin as a plugin: registered, needing no other family, trimmed away cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from unixhelpers import Echo, echo_once

import loopkit


def test_unix_alone_serves_without_tcp(tmp_path: Path) -> None:
    loop = loopkit.new_event_loop(plugins=["unix"])
    try:
        with pytest.raises(loopkit.PluginNotEnabledError, match="'tcp' plugin"):
            loop.run_until_complete(loop.create_connection(asyncio.Protocol, "127.0.0.1", 1))

        async def main() -> None:
            server = await loop.create_unix_server(Echo, tmp_path / "s")
            assert await echo_once(tmp_path / "s") == b"ping"
            server.close()
            await server.wait_closed()

        loop.run_until_complete(asyncio.wait_for(main(), 10))
    finally:
        loop.close()


def test_excluding_tcp_keeps_unix_sockets(tmp_path: Path) -> None:
    loop = loopkit.new_event_loop(exclude=["tcp"])
    try:

        async def main() -> None:
            server = await loop.create_unix_server(Echo, tmp_path / "s")
            reader, writer = await asyncio.open_unix_connection(tmp_path / "s")
            writer.write(b"ping")
            assert await reader.readexactly(4) == b"ping"
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()

        loop.run_until_complete(asyncio.wait_for(main(), 10))
        with pytest.raises(loopkit.PluginNotEnabledError, match="'tcp' plugin"):
            loop.run_until_complete(loop.create_server(Echo, "127.0.0.1", 0))
    finally:
        loop.close()


def test_excluding_unix_leaves_tcp(tmp_path: Path) -> None:
    loop = loopkit.new_event_loop(exclude=["unix"])
    try:
        assert callable(loop.create_connection)
        with pytest.raises(loopkit.PluginNotEnabledError, match="'unix' plugin"):
            loop.run_until_complete(loop.create_unix_server(Echo, tmp_path / "s"))
    finally:
        loop.close()
