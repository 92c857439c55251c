"""connect_write_pipe: writing, flow control, and noticing a reader that left."""

from __future__ import annotations

import asyncio
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


def _drain(fd: int, into: bytearray) -> None:
    """Read ``fd`` to EOF (in a thread) and close it."""
    with os.fdopen(fd, "rb", 0) as pipe:
        while chunk := pipe.read(65536):
            into += chunk


async def _read_some(fd: int, count: int) -> bytes:
    """Read ``count`` bytes from a non-blocking fd, waiting as needed."""
    got = bytearray()
    while len(got) < count:
        try:
            got += os.read(fd, count - len(got))
        except BlockingIOError:
            await asyncio.sleep(0.005)
    return bytes(got)


@pytest.mark.no_fault_injection(reason="asserts that the first write takes everything")
def test_write_goes_straight_to_the_pipe(run: Run) -> None:
    async def main() -> None:
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        pipe = os.fdopen(wfd, "wb", 0)
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(Recorder, pipe)
        assert not os.get_blocking(wfd)
        assert transport.get_extra_info("pipe") is pipe
        transport.write(b"one ")
        transport.write(bytearray(b"two "))
        transport.write(memoryview(b"three "))
        transport.writelines([b"four ", b"five"])
        transport.write(b"")
        assert transport.get_write_buffer_size() == 0
        assert await _read_some(rfd, 23) == b"one two three four five"
        transport.close()
        assert await proto.lost is None
        assert pipe.closed
        assert os.read(rfd, 10) == b""  # the write end is closed: EOF
        os.close(rfd)

    run(main())


def test_write_refuses_what_is_not_bytes(run: Run) -> None:
    async def main() -> None:
        rfd, wfd = os.pipe()
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(
            Recorder, os.fdopen(wfd, "wb", 0)
        )
        with pytest.raises(TypeError, match="bytes-like"):
            transport.write("text")
        transport.abort()
        await proto.lost
        os.close(rfd)

    run(main())


def test_buffer_drains_when_the_reader_catches_up_and_close_flushes(run: Run) -> None:
    payload = bytes(range(256)) * 4000  # ~1 MiB, far more than a pipe holds

    async def main() -> bytes:
        rfd, wfd = os.pipe()
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(
            Recorder, os.fdopen(wfd, "wb", 0)
        )
        transport.write(payload)
        # Part of it is buffered; all of it when the first try met EAGAIN
        # (real, or injected by the fault-injection run).
        assert 0 < transport.get_write_buffer_size() <= len(payload)
        transport.close()  # must flush before closing
        assert transport.is_closing()
        received = bytearray()
        reader = threading.Thread(target=_drain, args=(rfd, received))
        reader.start()
        assert await proto.lost is None
        own_blocking_call(reader.join)
        return bytes(received)

    assert run(main()) == payload


def test_flow_control_pauses_above_high_and_resumes_at_low(run: Run) -> None:
    async def main() -> Recorder:
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(
            Recorder, os.fdopen(wfd, "wb", 0)
        )
        assert transport.get_write_buffer_limits() == (16384, 65536)
        transport.set_write_buffer_limits(high=1000)
        assert transport.get_write_buffer_limits() == (250, 1000)
        transport.set_write_buffer_limits(low=100)
        assert transport.get_write_buffer_limits() == (100, 400)
        transport.set_write_buffer_limits(high=4000, low=1000)
        # Fill the pipe itself, then go over the high-water mark.
        while True:
            transport.write(b"x" * 4096)
            if transport.get_write_buffer_size():
                break
        transport.write(b"y" * 4001)
        assert proto.names() == ["made", "pause"]
        # Reading lets the buffer drain to the low-water mark: resume.
        while not proto.resumed.is_set():
            try:
                os.read(rfd, 65536)
            except BlockingIOError:
                pass
            await asyncio.sleep(0.001)
        assert transport.get_write_buffer_size() <= 1000
        transport.abort()
        await proto.lost
        os.close(rfd)
        return proto

    assert run(main()).names() == ["made", "pause", "resume", "lost"]


def test_bad_water_marks_are_refused(run: Run) -> None:
    async def main() -> None:
        rfd, wfd = os.pipe()
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(
            Recorder, os.fdopen(wfd, "wb", 0)
        )
        with pytest.raises(ValueError, match="must be >="):
            transport.set_write_buffer_limits(high=10, low=20)
        with pytest.raises(ValueError, match="must be >="):
            transport.set_write_buffer_limits(high=-1, low=-4)
        transport.close()
        await proto.lost
        os.close(rfd)

    run(main())


def test_write_eof_closes_the_write_end(run: Run) -> None:
    async def main() -> None:
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(
            Recorder, os.fdopen(wfd, "wb", 0)
        )
        assert transport.can_write_eof()
        transport.write(b"bye")
        transport.write_eof()
        assert transport.is_closing()
        assert await proto.lost is None
        assert await _read_some(rfd, 3) == b"bye"
        assert os.read(rfd, 1) == b""
        os.close(rfd)

    run(main())


def test_abort_drops_buffered_data_and_loses_the_connection_once(run: Run) -> None:
    async def main() -> Recorder:
        rfd, wfd = os.pipe()
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(
            Recorder, os.fdopen(wfd, "wb", 0)
        )
        transport.write(b"z" * 200_000)
        assert transport.get_write_buffer_size() > 0
        transport.abort()
        transport.abort()
        transport.close()
        assert transport.get_write_buffer_size() == 0
        assert await proto.lost is None
        await asyncio.sleep(0.02)
        os.close(rfd)
        return proto

    assert run(main()).names() == ["made", "pause", "lost"]


def test_a_reader_leaving_is_noticed_while_idle(run: Run) -> None:
    """Nothing buffered: asyncio reports connection_lost(None)."""

    async def main() -> Recorder:
        rfd, wfd = os.pipe()
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(
            Recorder, os.fdopen(wfd, "wb", 0)
        )
        await asyncio.sleep(0.01)
        os.close(rfd)
        assert await proto.lost is None
        assert transport.is_closing()
        return proto

    assert run(main()).names() == ["made", "lost"]


def test_a_reader_leaving_with_data_buffered_is_a_broken_pipe(run: Run) -> None:
    async def main() -> None:
        rfd, wfd = os.pipe()
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(
            Recorder, os.fdopen(wfd, "wb", 0)
        )
        transport.write(b"q" * 200_000)
        os.close(rfd)
        assert isinstance(await proto.lost, BrokenPipeError)
        transport.write(b"dropped")  # writes after the loss are ignored
        assert transport.get_write_buffer_size() == 0

    run(main())


def test_a_reader_closed_before_connecting(run: Run) -> None:
    async def main() -> list[str]:
        rfd, wfd = os.pipe()
        os.close(rfd)
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(
            Recorder, os.fdopen(wfd, "wb", 0)
        )
        transport.write(b"nobody listens")
        assert isinstance(await proto.lost, BrokenPipeError)
        return proto.names()

    assert run(main()) == ["made", "lost"]


def test_writes_to_a_fifo(run: Run, tmp_path: Any) -> None:
    path = tmp_path / "fifo"
    os.mkfifo(path)

    async def main() -> None:
        rfd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        wfd = os.open(path, os.O_WRONLY)
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(
            Recorder, os.fdopen(wfd, "wb", 0)
        )
        transport.write(b"into the fifo")
        assert await _read_some(rfd, 13) == b"into the fifo"
        os.close(rfd)
        assert await proto.lost is None  # the reader left, nothing was pending

    run(main())


def test_writes_to_a_socket_and_notices_the_peer_closing(run: Run) -> None:
    async def main() -> None:
        ours, theirs = socket.socketpair()
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(Recorder, ours)
        transport.write(b"over a socket")
        theirs.setblocking(False)
        got = b""
        while len(got) < 13:
            try:
                got += theirs.recv(100)
            except BlockingIOError:
                await asyncio.sleep(0.005)
        assert got == b"over a socket"
        theirs.close()
        assert await proto.lost is None
        assert ours.fileno() == -1

    run(main())


def test_writes_to_a_pty(run: Run) -> None:
    async def main() -> None:
        master, slave = os.openpty()
        tty = os.fdopen(slave, "wb", 0)
        transport, proto = await asyncio.get_running_loop().connect_write_pipe(Recorder, tty)
        transport.write(b"to the terminal\n")
        os.set_blocking(master, False)
        got = await _read_some(master, 10)
        assert got.startswith(b"to the ter")
        transport.close()
        assert await proto.lost is None
        os.close(master)

    run(main())


def test_a_regular_file_is_refused_with_value_error(run: Run) -> None:
    async def main() -> None:
        refusal = "pipes, sockets and character devices"
        with tempfile.TemporaryFile() as regular, pytest.raises(ValueError, match=refusal):
            await asyncio.get_running_loop().connect_write_pipe(Recorder, regular)

    run(main())


def test_a_failing_pause_writing_is_reported_not_raised(
    loop: asyncio.AbstractEventLoop, run: Run
) -> None:
    class BadPause(Recorder):
        def pause_writing(self) -> None:
            raise RuntimeError("cannot pause")

    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))

    async def main() -> None:
        rfd, wfd = os.pipe()
        transport, proto = await loop.connect_write_pipe(BadPause, os.fdopen(wfd, "wb", 0))
        transport.write(b"w" * 200_000)
        transport.abort()
        await proto.lost
        os.close(rfd)

    run(main())
    assert [context["message"] for context in errors] == ["protocol.pause_writing() failed"]


def test_poller_backends_all_notice_the_reader_leaving(
    poller_loop: asyncio.AbstractEventLoop,
) -> None:
    async def main() -> BaseException | None:
        rfd, wfd = os.pipe()
        transport, proto = await poller_loop.connect_write_pipe(Recorder, os.fdopen(wfd, "wb", 0))
        transport.write(b"b" * 200_000)
        os.close(rfd)
        return await proto.lost

    exc = poller_loop.run_until_complete(asyncio.wait_for(main(), 10))
    assert isinstance(exc, BrokenPipeError)


def test_no_fd_is_leaked(run: Run) -> None:
    async def main() -> None:
        for _ in range(20):
            rfd, wfd = os.pipe()
            transport, proto = await asyncio.get_running_loop().connect_write_pipe(
                Recorder, os.fdopen(wfd, "wb", 0)
            )
            transport.write(b"x" * 100_000)
            os.close(rfd)
            await proto.lost

    before = open_fds()
    run(main())
    assert open_fds() == before
