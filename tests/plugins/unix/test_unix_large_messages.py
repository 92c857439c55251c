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


def test_reads_on_a_unix_socket_stop_growing_under_128_kib(run: Any) -> None:
    """Unix sockets grow their reads to just under 128 KiB, never to 256 KiB
    as TCP does: their smaller buffers turned larger reads into partial
    sends (docs/decisions.rst). Every byte still arrives, in order."""
    import socket

    from loopkit.transports.stream import LARGE_READ_SIZE, SMALL_READ_SIZE

    flood = bytes(range(256)) * 4096  # 1 MiB

    class Chunks(asyncio.Protocol):
        def __init__(self) -> None:
            self.chunks: list[bytes] = []
            self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def data_received(self, data: bytes) -> None:
            self.chunks.append(data)

        def connection_lost(self, exc: Exception | None) -> None:
            self.lost.set_result(None)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ours, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        peer.setblocking(False)
        transport, proto = await loop.create_unix_connection(Chunks, sock=ours)
        transport.pause_reading()  # let the flood pile up in the kernel
        sending = loop.create_task(loop.sock_sendall(peer, flood))
        await asyncio.sleep(0.05)
        transport.resume_reading()
        await sending
        peer.close()
        await proto.lost
        sizes = [len(chunk) for chunk in proto.chunks]
        assert max(sizes) > SMALL_READ_SIZE, sizes
        assert max(sizes) <= LARGE_READ_SIZE, sizes
        assert b"".join(proto.chunks) == flood

    run(main())
