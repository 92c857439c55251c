"""``loop.sendfile``: a file sent over a TCP connection on loopback.

The file is in the page cache (written once, before timing), so what is
timed is the loop's part: os.sendfile calls, waiting for the socket to
drain, and the transport's bookkeeping around them. The receiving end is a
Protocol on the same loop that only counts bytes. Two sizes: 64 KiB per
call (the cost per call dominates) and 4 MiB per call (throughput).
"""

from __future__ import annotations

import asyncio
import os
import tempfile

from benchmarks.scenarios._common import on_fresh_loop
from benchmarks.scenarios._registry import LoopFactory, Sample, scenario


class _Sink(asyncio.Protocol):
    def __init__(self) -> None:
        self.received = 0
        self.wanted = 0
        self.enough: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.enough is not None and self.received >= self.wanted and not self.enough.done():
            self.enough.set_result(None)


def _send_files(loop: asyncio.AbstractEventLoop, n: int, size: int) -> int:
    with tempfile.TemporaryFile() as file:
        file.write(os.urandom(size))
        file.flush()

        async def send_all() -> None:
            sink = _Sink()
            server = await loop.create_server(lambda: sink, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
            try:
                for _ in range(n):
                    await loop.sendfile(transport, file, 0, size)
                sink.wanted = n * size
                sink.enough = loop.create_future()
                if sink.received < sink.wanted:
                    await sink.enough
            finally:
                transport.close()
                server.close()
                await server.wait_closed()

        loop.run_until_complete(send_all())
    return n


@scenario("sendfile_64k", family="tcp", unit="files/s", size=3000, quick_size=100)
def sendfile_64k(new_loop: LoopFactory, n: int) -> Sample:
    """loop.sendfile of a 64 KiB cached file over loopback TCP, one after another (files/s)."""
    return on_fresh_loop(new_loop, n, lambda loop, k: _send_files(loop, k, 64 * 1024))


@scenario("sendfile_4m", family="tcp", unit="files/s", size=200, quick_size=10)
def sendfile_4m(new_loop: LoopFactory, n: int) -> Sample:
    """loop.sendfile of a 4 MiB cached file over loopback TCP, one after another (files/s)."""
    return on_fresh_loop(new_loop, n, lambda loop, k: _send_files(loop, k, 4 * 1024 * 1024))
