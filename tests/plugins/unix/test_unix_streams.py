"""asyncio's stream API over Unix sockets: open_unix_connection and start_unix_server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from unixhelpers import REMOVED_ON_CLOSE


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer each line with the line upper-cased, until the client closes."""
    try:
        while line := await reader.readline():
            writer.write(line.upper())
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


def test_line_protocol_over_streams(run_any: Any, tmp_path: Path) -> None:
    path = tmp_path / "streams.sock"

    async def main() -> None:
        server = await asyncio.start_unix_server(_handle, path)
        reader, writer = await asyncio.open_unix_connection(path)
        for word in (b"alpha\n", b"beta\n", b"gamma\n"):
            writer.write(word)
            assert await reader.readline() == word.upper()
        writer.write_eof()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run_any(main())
    assert path.exists() != REMOVED_ON_CLOSE


def test_large_transfer_with_backpressure(run_any: Any, tmp_path: Path) -> None:
    """Several megabytes through drain(): the write queue pauses and resumes."""
    path = str(tmp_path / "big.sock")
    payload = bytes(range(256)) * 16 * 1024  # 4 MiB

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()
        writer.write(len(data).to_bytes(8, "big") + data[-16:])
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        server = await asyncio.start_unix_server(sink, path)
        reader, writer = await asyncio.open_unix_connection(path)
        for start in range(0, len(payload), 256 * 1024):
            writer.write(payload[start : start + 256 * 1024])
            await writer.drain()
        writer.write_eof()
        answer = await reader.readexactly(24)
        assert int.from_bytes(answer[:8], "big") == len(payload)
        assert answer[8:] == payload[-16:]
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run_any(main())


def test_many_clients_at_once(run_any: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "many.sock")

    async def client(n: int) -> bytes:
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"client %d\n" % n)
        line = await reader.readline()
        writer.close()
        await writer.wait_closed()
        return line

    async def main() -> None:
        server = await asyncio.start_unix_server(_handle, path)
        answers = await asyncio.gather(*(client(n) for n in range(50)))
        assert answers == [b"CLIENT %d\n" % n for n in range(50)]
        server.close()
        await server.wait_closed()

    run_any(main())
