"""Stream-transport invariants on random programs (hypothesis), over real TCP.

A program is a random sequence of write / writelines / pause_reading /
resume_reading / write_eof / a pause for the loop / a partial read by the
peer, ending with close(). The model is the concatenation of what was
written: the peer must receive exactly those bytes, in order, and then end
of file. Writes after write_eof() raise RuntimeError and add nothing.

Some writes are larger than the socket buffers, so the transport's own
buffering, partial sends and flow control are all on the path.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from noblocking import own_blocking_call

import loopkit

SETTINGS = settings(max_examples=50, deadline=None)

#: Chunks: mostly small, sometimes larger than the kernel's socket buffers.
chunks = st.one_of(
    st.binary(min_size=0, max_size=64),
    st.integers(1, 600_000).map(lambda size: bytes(range(256)) * (size // 256) + b"\x01"),
)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("write"), chunks),
        st.tuples(st.just("writelines"), st.lists(chunks, max_size=4)),
        st.tuples(st.just("pause_reading"), st.none()),
        st.tuples(st.just("resume_reading"), st.none()),
        st.tuples(st.just("write_eof"), st.none()),
        st.tuples(st.just("yield"), st.none()),
        st.tuples(st.just("peer_reads"), st.integers(1, 200_000)),
    ),
    max_size=25,
)


class Quiet(asyncio.Protocol):
    """Accepts whatever the transport says; the peer never sends."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport


async def _connected_pair(
    loop: asyncio.AbstractEventLoop,
) -> tuple[asyncio.Transport, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        transport, _ = await loop.create_connection(Quiet, "127.0.0.1", listener.getsockname()[1])
        peer, _ = own_blocking_call(listener.accept)
    peer.setblocking(False)
    return transport, peer  # type: ignore[return-value]


async def _run_program(
    loop: asyncio.AbstractEventLoop, program: list[tuple[str, Any]], empty_chunks: bool = True
) -> tuple[bytes, bytes]:
    transport, peer = await _connected_pair(loop)
    expected = bytearray()
    received = bytearray()
    eof_written = False
    try:
        for name, argument in program:
            if name == "write":
                if eof_written:
                    try:
                        transport.write(argument)
                    except RuntimeError:
                        continue
                    raise AssertionError("write() after write_eof() did not raise")
                transport.write(argument)
                expected += argument
            elif name == "writelines":
                if eof_written:
                    try:
                        transport.writelines(argument)
                    except RuntimeError:
                        continue
                    raise AssertionError("writelines() after write_eof() did not raise")
                if not empty_chunks:
                    argument = [chunk for chunk in argument if chunk]
                transport.writelines(argument)
                expected += b"".join(argument)
            elif name == "pause_reading":
                transport.pause_reading()
            elif name == "resume_reading":
                transport.resume_reading()
            elif name == "write_eof":
                transport.write_eof()
                eof_written = True
            elif name == "yield":
                await asyncio.sleep(0)
            elif name == "peer_reads":
                want = min(argument, len(expected) - len(received))
                while want > 0:
                    data = await loop.sock_recv(peer, want)
                    assert data, "end of file before everything written arrived"
                    received += data
                    want -= len(data)
        transport.close()
        while True:
            data = await loop.sock_recv(peer, 1 << 20)
            if not data:
                break
            received += data
    finally:
        transport.close()
        peer.close()
    return bytes(received), bytes(expected)


#: asyncio's loop shows the model is right; loopkit's is the claim.
LOOPS = {"asyncio": asyncio.new_event_loop, "loopkit": loopkit.new_event_loop}


@pytest.mark.parametrize("kind", sorted(LOOPS))
@SETTINGS
@given(program=operations)
def test_the_peer_receives_exactly_what_was_written_before_close_in_order(
    kind: str, program: list[tuple[str, Any]]
) -> None:
    loop = LOOPS[kind]()
    # asyncio 3.12 and 3.13 never finish close() after a writelines() whose
    # last chunk is empty went into a non-empty buffer (an empty memoryview
    # stays queued and the writer spins); loopkit has no such defect.
    empty_chunks = kind == "loopkit" or sys.version_info < (3, 12)
    try:
        received, expected = loop.run_until_complete(
            asyncio.wait_for(_run_program(loop, program, empty_chunks), 20)
        )
        # Let the transport's connection_lost run before the loop closes.
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    assert len(received) == len(expected)
    assert received == expected


def test_close_completes_after_writelines_ending_with_an_empty_chunk(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """The case asyncio 3.12/3.13 gets stuck on: data queued, then [data, b""], then close."""

    async def main() -> int:
        transport, peer = await _connected_pair(loop)
        try:
            transport.write(b"a" * 10_000_000)  # more than the socket takes: buffered
            transport.writelines([b"\x01", b""])
            transport.close()
            received = 0
            while data := await loop.sock_recv(peer, 1 << 20):
                received += len(data)
            return received
        finally:
            peer.close()

    assert loop.run_until_complete(asyncio.wait_for(main(), 20)) == 10_000_001
