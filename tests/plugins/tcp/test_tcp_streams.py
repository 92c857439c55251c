"""asyncio's streams (open_connection, start_server) running on loopkit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest


async def line_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_line_protocol_round_trips(run: Any) -> None:
    async def main() -> None:
        server = await asyncio.start_server(line_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in range(100):
            writer.write(b"line %d\n" % i)
        await writer.drain()
        for i in range(100):
            assert await reader.readline() == b"LINE %d\n" % i
        writer.write_eof()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())


def test_large_transfer_with_drain_both_ways(run: Any) -> None:
    payload = bytes(range(256)) * 20_000  # 5 MB

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.readexactly(len(payload))
        writer.write(data)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        server = await asyncio.start_server(sink, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(payload)
        await writer.drain()
        assert await reader.readexactly(len(payload)) == payload
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())


def test_server_async_with_and_serve_forever(run: Any) -> None:
    async def main() -> None:
        server = await asyncio.start_server(line_echo, "127.0.0.1", 0, start_serving=False)
        port = server.sockets[0].getsockname()[1]
        async with server:
            serving = asyncio.get_running_loop().create_task(server.serve_forever())
            await asyncio.sleep(0)  # let serve_forever start listening
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"abc\n")
            assert await reader.readline() == b"ABC\n"
            writer.close()
            await writer.wait_closed()
            serving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await serving

    run(main())


def test_peername_and_refused(run: Any) -> None:
    async def main() -> None:
        server = await asyncio.start_server(line_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert writer.get_extra_info("peername") == ("127.0.0.1", port)
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)

    run(main())
