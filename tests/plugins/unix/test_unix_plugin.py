"""The unix plugin as a plugin: registered, needing tcp, trimmed away cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from unixhelpers import Echo, echo_once

import loopkit


def test_unix_alone_brings_in_tcp(tmp_path: Path) -> None:
    loop = loopkit.new_event_loop(plugins=["unix"])
    try:

        async def main() -> None:
            server = await loop.create_unix_server(Echo, tmp_path / "s")
            assert await echo_once(tmp_path / "s") == b"ping"
            server.close()
            await server.wait_closed()

        loop.run_until_complete(asyncio.wait_for(main(), 10))
    finally:
        loop.close()


def test_excluding_tcp_but_not_unix_is_an_error() -> None:
    with pytest.raises(loopkit.AssemblyError, match="'unix' requires plugin 'tcp'"):
        loopkit.new_event_loop(exclude=["tcp"])


def test_excluding_unix_leaves_tcp(tmp_path: Path) -> None:
    loop = loopkit.new_event_loop(exclude=["unix"])
    try:
        assert callable(loop.create_connection)
        with pytest.raises(loopkit.PluginNotEnabledError, match="'unix' plugin"):
            loop.run_until_complete(loop.create_unix_server(Echo, tmp_path / "s"))
    finally:
        loop.close()
