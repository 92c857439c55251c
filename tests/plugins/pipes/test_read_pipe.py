"""connect_read_pipe: reading pipes, FIFOs, sockets and ptys into a protocol."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import pytest
from noblocking import own_blocking_call
from pipes_support import Recorder, open_fds

Run = Callable[..., Any]


def test_reads_until_eof_then_loses_the_connection_once(run: Run) -> None:
    async def main() -> Recorder:
        rfd, wfd = os.pipe()
        _transport, proto = await asyncio.get_running_loop().connect_read_pipe(
            Recorder, os.fdopen(rfd, "rb", 0)
        )
        own_blocking_call(os.write, wfd, b"hello ")
        own_blocking_call(os.write, wfd, b"pipe")
        os.close(wfd)
        assert await proto.lost is None
        await asyncio.sleep(0.01)
        return proto

    proto = run(main())
    assert proto.data == b"hello pipe"
    assert proto.names() == ["made", "data", "eof", "lost"]


def _os_pipe() -> tuple[Any, int]:
    rfd, wfd = os.pipe()
    return os.fdopen(rfd, "rb", 0), wfd


def _socket_pipe() -> tuple[Any, int]:
    reader, writer = socket.socketpair()
    return reader, writer.detach()


@pytest.mark.parametrize("make", [_os_pipe, _socket_pipe], ids=["pipe", "socket"])
def test_each_chunk_is_the_protocols_own_bytes(run: Run, make: Callable[[], Any]) -> None:
    """A small pipe is read straight into new bytes; other pipe-like fds of
    one loop (here sockets) read through one shared buffer. Either way what
    data_received gets is an immutable copy that later reads, of this fd or
    another, never change; ``max_size`` bounds each read, as in asyncio."""

    class Keeper(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.chunks: list[Any] = []

        def data_received(self, data: bytes) -> None:
            self.chunks.append(data)
            super().data_received(data)

    async def main() -> tuple[Keeper, Keeper]:
        loop = asyncio.get_running_loop()
        pipes = [make(), make()]
        first_transport, first = await loop.connect_read_pipe(Keeper, pipes[0][0])
        _, second = await loop.connect_read_pipe(Keeper, pipes[1][0])
        first_transport.max_size = 1000
        for (_, wfd), byte in ((pipes[0], b"a"), (pipes[1], b"b"), (pipes[0], b"c")):
            own_blocking_call(os.write, wfd, byte * 3000)
            await asyncio.sleep(0.01)
        for _, wfd in pipes:
            os.close(wfd)
        await first.lost
        await second.lost
        return first, second

    first, second = run(main())
    assert all(type(chunk) is bytes for chunk in first.chunks + second.chunks)
    assert max(len(chunk) for chunk in first.chunks) <= 1000
    assert b"".join(first.chunks) == b"a" * 3000 + b"c" * 3000
    assert b"".join(second.chunks) == b"b" * 3000


def test_the_pipe_is_non_blocking_and_exposed_as_extra_info(run: Run) -> None:
    async def main() -> None:
        rfd, wfd = os.pipe()
        pipe = os.fdopen(rfd, "rb", 0)
        assert os.get_blocking(rfd)
        transport, proto = await asyncio.get_running_loop().connect_read_pipe(Recorder, pipe)
        assert not os.get_blocking(rfd)
        assert transport.get_extra_info("pipe") is pipe
        assert transport.get_protocol() is proto
        transport.close()
        assert transport.is_closing()
        assert await proto.lost is None
        assert pipe.closed
        os.close(wfd)

    run(main())


def test_close_delivers_connection_lost_exactly_once(run: Run) -> None:
    async def main() -> Recorder:
        rfd, wfd = os.pipe()
        transport, proto = await asyncio.get_running_loop().connect_read_pipe(
            Recorder, os.fdopen(rfd, "rb", 0)
        )
        transport.close()
        transport.close()
        os.close(wfd)
        await proto.lost
        await asyncio.sleep(0.02)
        return proto

    assert run(main()).names() == ["made", "lost"]


def test_pause_and_resume_reading(run: Run) -> None:
    async def main() -> None:
        rfd, wfd = os.pipe()
        transport, proto = await asyncio.get_running_loop().connect_read_pipe(
            Recorder, os.fdopen(rfd, "rb", 0)
        )
        assert transport.is_reading()
        transport.pause_reading()
        transport.pause_reading()  # a second pause is a no-op
        assert not transport.is_reading()
        own_blocking_call(os.write, wfd, b"held back")
        await asyncio.sleep(0.05)
        assert proto.data == b""
        transport.resume_reading()
        assert transport.is_reading()
        for _ in range(100):
            if proto.data:
                break
            await asyncio.sleep(0.01)
        assert proto.data == b"held back"
        transport.close()
        assert not transport.is_reading()
        transport.resume_reading()  # ignored once closing
        assert not transport.is_reading()
        await proto.lost
        os.close(wfd)

    run(main())


def test_a_protocol_that_pauses_in_connection_made_sees_no_data(run: Run) -> None:
    class PausesAtOnce(Recorder):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            transport.pause_reading()

    async def main() -> None:
        rfd, wfd = os.pipe()
        own_blocking_call(os.write, wfd, b"early")
        transport, proto = await asyncio.get_running_loop().connect_read_pipe(
            PausesAtOnce, os.fdopen(rfd, "rb", 0)
        )
        await asyncio.sleep(0.05)
        assert proto.data == b""
        transport.resume_reading()
        os.close(wfd)
        await proto.lost
        assert proto.data == b"early"

    run(main())


def test_a_writer_closed_before_connecting_gives_eof(run: Run) -> None:
    async def main() -> Recorder:
        rfd, wfd = os.pipe()
        own_blocking_call(os.write, wfd, b"last words")
        os.close(wfd)
        _transport, proto = await asyncio.get_running_loop().connect_read_pipe(
            Recorder, os.fdopen(rfd, "rb", 0)
        )
        await proto.lost
        await asyncio.sleep(0.01)
        return proto

    proto = run(main())
    assert proto.data == b"last words"
    assert proto.names() == ["made", "data", "eof", "lost"]


def test_reads_a_fifo(run: Run, tmp_path: Any) -> None:
    path = tmp_path / "fifo"
    os.mkfifo(path)

    async def main() -> bytes:
        rfd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        wfd = os.open(path, os.O_WRONLY)
        _transport, proto = await asyncio.get_running_loop().connect_read_pipe(
            Recorder, os.fdopen(rfd, "rb", 0)
        )
        own_blocking_call(os.write, wfd, b"through the fifo")
        os.close(wfd)
        await proto.lost
        return bytes(proto.data)

    assert run(main()) == b"through the fifo"


def test_reads_a_socket(run: Run) -> None:
    async def main() -> bytes:
        ours, theirs = socket.socketpair()
        _transport, proto = await asyncio.get_running_loop().connect_read_pipe(Recorder, ours)
        own_blocking_call(theirs.sendall, b"over a socket")
        theirs.close()
        await proto.lost
        assert ours.fileno() == -1  # closed with the transport
        return bytes(proto.data)

    assert run(main()) == b"over a socket"


def test_reads_a_pty_and_treats_eio_as_the_end(loop: asyncio.AbstractEventLoop, run: Run) -> None:
    async def main() -> Recorder:
        master, slave = os.openpty()
        _transport, proto = await asyncio.get_running_loop().connect_read_pipe(
            Recorder, os.fdopen(master, "rb", 0)
        )
        own_blocking_call(os.write, slave, b"tty output\n")
        for _ in range(100):
            if b"tty output" in proto.data:
                break
            await asyncio.sleep(0.01)
        os.close(slave)
        exc = await proto.lost
        # A pty master reports the closed slave as EIO: asyncio passes the
        # error to connection_lost without calling the exception handler.
        assert isinstance(exc, OSError) and exc.errno == errno.EIO
        return proto

    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    proto = run(main())
    assert b"tty output" in proto.data
    assert proto.names()[0] == "made" and proto.names()[-1] == "lost"
    assert errors == []


def test_a_regular_file_is_refused_with_value_error(run: Run) -> None:
    async def main() -> None:
        with tempfile.TemporaryFile() as regular, pytest.raises(ValueError, match="pipes"):
            await asyncio.get_running_loop().connect_read_pipe(Recorder, regular)

    run(main())


def test_the_fd_belongs_to_the_transport_until_closed(run: Run) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        transport, proto = await loop.connect_read_pipe(Recorder, os.fdopen(rfd, "rb", 0))
        with pytest.raises(RuntimeError, match="is used by transport"):
            loop.add_reader(rfd, lambda: None)
        transport.close()
        await proto.lost
        os.close(wfd)

    run(main())


def _write_and_close(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb", 0) as pipe:
        pipe.write(data)


def test_poller_backends_all_read_pipes(poller_loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> bytes:
        rfd, wfd = os.pipe()
        _transport, proto = await poller_loop.connect_read_pipe(Recorder, os.fdopen(rfd, "rb", 0))
        # More than a pipe buffer holds: written from a thread, read as it comes.
        writer = threading.Thread(target=_write_and_close, args=(wfd, b"x" * 300_000))
        writer.start()
        await proto.lost
        own_blocking_call(writer.join)
        return bytes(proto.data)

    assert poller_loop.run_until_complete(asyncio.wait_for(main(), 10)) == b"x" * 300_000


def test_no_fd_is_leaked(run: Run) -> None:
    async def main() -> None:
        for _ in range(20):
            rfd, wfd = os.pipe()
            _transport, proto = await asyncio.get_running_loop().connect_read_pipe(
                Recorder, os.fdopen(rfd, "rb", 0)
            )
            own_blocking_call(os.write, wfd, b"x")
            os.close(wfd)
            await proto.lost

    before = open_fds()
    run(main())
    assert open_fds() == before
