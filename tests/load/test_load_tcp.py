"""TCP under load: ten thousand concurrent connections, a peer that never reads.

The ten thousand clients run in a child process (on asyncio's own loop, an
independent implementation), so that each process needs only ten thousand
file descriptors; the server under test is loopkit's, in this process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from loadfigures import Figures, raise_fd_limit

import loopkit

pytestmark = pytest.mark.slow

CONNECTIONS = 10_000

#: The client process: opens every connection first (at most 500 connecting
#: at once), then sends one line on each and checks the echo. Prints a JSON
#: summary.
CLIENT = textwrap.dedent(
    """
    import asyncio, json, resource, sys

    port, count = int(sys.argv[1]), int(sys.argv[2])
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def main():
        gate = asyncio.Semaphore(500)
        async def connect():
            async with gate:
                return await asyncio.open_connection("127.0.0.1", port)
        streams = await asyncio.gather(*(connect() for _ in range(count)))
        async def echo(index, reader, writer):
            line = f"message {index:05d}\\n".encode()
            writer.write(line)
            got = await reader.readline()
            writer.close()
            await writer.wait_closed()
            return got == line
        results = await asyncio.gather(
            *(echo(i, r, w) for i, (r, w) in enumerate(streams)), return_exceptions=True
        )
        print(json.dumps({"echoed": sum(r is True for r in results),
                          "errors": sorted({repr(r) for r in results if r is not True})[:5]}))

    asyncio.run(main())
    """
)


class HeldEcho(asyncio.Protocol):
    """Echoes lines, but only once every expected connection is open at the same time."""

    open_now = 0
    peak = 0
    served = 0
    all_here: list[HeldEcho] | None = None  # set by the test

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.held = bytearray()
        cls = type(self)
        cls.open_now += 1
        cls.peak = max(cls.peak, cls.open_now)
        assert cls.all_here is not None
        cls.all_here.append(self)
        if cls.open_now == CONNECTIONS:
            for connection in cls.all_here:
                connection.release()

    def data_received(self, data: bytes) -> None:
        self.held += data
        if type(self).peak == CONNECTIONS:
            self.release()

    def release(self) -> None:
        while b"\n" in self.held:
            line, _, rest = bytes(self.held).partition(b"\n")
            self.transport.write(line + b"\n")
            self.held = bytearray(rest)
            type(self).served += 1

    def connection_lost(self, exc: BaseException | None) -> None:
        type(self).open_now -= 1


def test_ten_thousand_concurrent_connections_are_all_served(figures: Figures) -> None:
    raise_fd_limit(CONNECTIONS + 500)
    HeldEcho.all_here = []
    loop = loopkit.new_event_loop()
    try:
        server = loop.run_until_complete(loop.create_server(HeldEcho, "127.0.0.1", 0, backlog=4096))
        port = server.sockets[0].getsockname()[1]

        # The subprocess plugin may be absent: the child is watched from a thread.
        client = subprocess.Popen(
            [sys.executable, "-c", CLIENT, str(port), str(CONNECTIONS)],
            stdout=subprocess.PIPE,
        )
        try:
            output = loop.run_in_executor(None, client.communicate)
            out, _ = loop.run_until_complete(asyncio.wait_for(output, 55))
        finally:
            if client.poll() is None:
                client.kill()
            client.wait()
            assert client.stdout is not None
            client.stdout.close()
        assert client.returncode == 0
        result = json.loads(out)
        server.close()
        loop.run_until_complete(server.wait_closed())
    finally:
        loop.close()
        HeldEcho.all_here = None
    figures.add("connections open at once (server side)", f"{HeldEcho.peak:,}")
    figures.add("echoes checked by the clients", f"{result['echoed']:,}")
    assert result == {"echoed": CONNECTIONS, "errors": []}
    assert HeldEcho.peak == CONNECTIONS
    assert HeldEcho.served == CONNECTIONS


class PoliteWriter(asyncio.Protocol):
    """A protocol that honours flow control: it writes only while not paused."""

    def __init__(self) -> None:
        self.paused = False
        self.pauses = 0
        self.resumed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def pause_writing(self) -> None:
        self.paused = True
        self.pauses += 1

    def resume_writing(self) -> None:
        self.paused = False
        if not self.resumed.done():
            self.resumed.set_result(None)


def test_a_peer_that_never_reads_keeps_the_write_buffer_bounded(figures: Figures) -> None:
    """The buffer never exceeds the high-water mark by more than one write.

    The writer writes 64 KiB chunks whenever it is not paused. The peer reads
    nothing for half a second, then everything: every byte arrives, in order.
    """
    high, chunk_size, total_chunks = 256 * 1024, 64 * 1024, 512  # 32 MiB in all
    loop = loopkit.new_event_loop()
    listener = socket.create_server(("127.0.0.1", 0))
    peer: socket.socket | None = None
    try:

        async def scenario() -> tuple[int, int, int, str]:
            transport, writer = await loop.create_connection(
                PoliteWriter, "127.0.0.1", listener.getsockname()[1]
            )
            nonlocal peer
            peer, _ = listener.accept()
            transport.set_write_buffer_limits(high=high)
            digest = hashlib.sha256()
            peak = 0
            sent = 0
            received = bytearray()
            reader: threading.Thread | None = None

            def read_all() -> None:
                assert peer is not None
                want = total_chunks * chunk_size
                while len(received) < want:
                    data = peer.recv(1 << 20)
                    if not data:
                        break
                    received.extend(data)

            started = loop.time()
            while sent < total_chunks:
                if writer.paused:
                    if reader is None and loop.time() - started > 0.5:
                        reader = threading.Thread(target=read_all)
                        reader.start()
                    await asyncio.sleep(0.005)
                    continue
                data = bytes([sent % 251]) * chunk_size
                digest.update(data)
                transport.write(data)
                sent += 1
                peak = max(peak, transport.get_write_buffer_size())
                await asyncio.sleep(0)
            if reader is None:
                pytest.fail("the writer was never paused: the peer's buffers swallowed 32 MiB")
            await loop.run_in_executor(None, reader.join)
            assert transport.get_write_buffer_size() == 0
            transport.close()
            return peak, writer.pauses, len(received), hashlib.sha256(received).hexdigest()

        peak, pauses, received, received_digest = loop.run_until_complete(
            asyncio.wait_for(scenario(), 30)
        )
    finally:
        if peer is not None:
            peer.close()
        listener.close()
        loop.close()
    figures.add("peak write buffer", f"{peak:,} bytes (high-water mark {high:,})")
    figures.add("pauses", pauses)
    assert received == total_chunks * chunk_size
    expected = hashlib.sha256()
    for index in range(total_chunks):
        expected.update(bytes([index % 251]) * chunk_size)
    assert received_digest == expected.hexdigest()
    assert pauses >= 1
    assert peak <= high + chunk_size
