"""Sending files: ``loop.sock_sendfile`` and ``loop.sendfile``.

Where the platform has :func:`os.sendfile` and the file is a regular file,
the kernel copies file to socket directly ("native"). Otherwise (no
os.sendfile, a file object without a real fd, a TLS transport) the file is
read in blocks in the executor and written; ``fallback=False`` turns that
fallback into an error (SendfileNotAvailableError for sock_sendfile, as
asyncio).

The native path never reads the disk on the loop thread. What the page
cache already holds is sent from the loop thread: read with
``preadv(..., RWF_NOWAIT)`` (which fails rather than wait for the disk) into
the loop's shared buffer and written to the socket, one buffer at a time,
which costs a memory copy but no thread hop. Anything not cached goes to
os.sendfile in one of the loop's helper threads (``services(loop).off_loop``).
The socket stays non-blocking; when it is full, the loop waits for it to
become writable.

For a transport, the native path first waits until the transport's write
queue is empty and keeps it from reading meanwhile; the fallback path
borrows the transport's protocol slot to follow its write flow control.

What it must never do: lose the file position (on return, and on error, the
file is positioned after the last byte sent), or leave a transport paused
or with a foreign protocol.
"""

from __future__ import annotations

import errno
import io
import os
import socket
from asyncio import constants, exceptions, futures, protocols
from typing import Any

from loopkit.plugin import services
from loopkit.plugins.tcp.sockcalls import check_sock, sock_sendall

#: Bytes read per block by the read/write fallback.
FALLBACK_BLOCK_SIZE = 256 * 1024
#: Bytes asked of one os.sendfile call at most.
NATIVE_BLOCK_SIZE = 2**30
#: The loop's shared buffer for sending cached file data from the loop thread.
CACHED_BLOCK_SIZE = 256 * 1024

_HAS_SENDFILE = hasattr(os, "sendfile")
#: ``preadv(..., RWF_NOWAIT)``: a read that fails instead of waiting for the
#: disk (Linux 4.14+); without it every block goes to a helper thread.
_RWF_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None) if hasattr(os, "preadv") else None


def _check_params(sock: socket.socket, file: Any, offset: Any, count: Any) -> None:
    if "b" not in getattr(file, "mode", "b"):
        raise ValueError("file should be opened in binary mode")
    if sock.type != socket.SOCK_STREAM:
        raise ValueError("only SOCK_STREAM type sockets are supported")
    if count is not None:
        if not isinstance(count, int):
            raise TypeError(f"count must be a positive integer (got {count!r})")
        if count <= 0:
            raise ValueError(f"count must be a positive integer (got {count!r})")
    if not isinstance(offset, int):
        raise TypeError(f"offset must be a non-negative integer (got {offset!r})")
    if offset < 0:
        raise ValueError(f"offset must be a non-negative integer (got {offset!r})")


def _file_fd(file: Any) -> int:
    """The fd of a regular file, or SendfileNotAvailableError."""
    try:
        fileno = file.fileno()
    except (AttributeError, io.UnsupportedOperation) as exc:
        raise exceptions.SendfileNotAvailableError("not a regular file") from exc
    try:
        os.fstat(fileno)
    except OSError as exc:
        raise exceptions.SendfileNotAvailableError("not a regular file") from exc
    return int(fileno)


async def _native(loop: Any, sock: socket.socket, file: Any, offset: int, count: int | None) -> int:
    """Send with os.sendfile, waiting for writability between calls."""
    if not _HAS_SENDFILE:
        raise exceptions.SendfileNotAvailableError("os.sendfile() is not available")
    fileno = _file_fd(file)
    try:
        size = os.fstat(fileno).st_size
    except OSError as exc:  # pragma: no cover - fstat just succeeded
        raise exceptions.SendfileNotAvailableError("not a regular file") from exc
    remaining = count if count else max(size - offset, 0)
    if not remaining:
        return 0
    fd = sock.fileno()
    total = 0
    nowait = _RWF_NOWAIT
    try:
        while remaining > 0:
            cached = None
            if nowait is not None:
                cached = _send_cached(loop, sock, fileno, offset + total, remaining, nowait)
                if cached is None:
                    nowait = None  # not cached, or reads cannot promise not to wait
            if cached is not None:
                sent, error = cached
            else:
                # In a helper thread: os.sendfile reads the file, and a read
                # that misses the page cache waits for the disk.
                sent, error = await services(loop).off_loop(
                    _send_some, fd, fileno, offset + total, remaining
                )
                nowait = _RWF_NOWAIT  # the next block may be cached again
            total += sent
            remaining -= sent
            if error is None:
                if sent == 0:
                    break  # end of file
                continue
            if isinstance(error, (BlockingIOError, InterruptedError)):
                await _writable(loop, fd)
                continue
            if total == 0:
                # Nothing sent yet: let the caller fall back (as asyncio does).
                raise exceptions.SendfileNotAvailableError("os.sendfile call failed") from error
            if error.errno == errno.ENOTCONN and type(error) is not ConnectionError:
                raise ConnectionError(errno.ENOTCONN, "socket is not connected") from error
            raise error
        return total
    finally:
        if total > 0:
            file.seek(offset + total)


def _send_cached(
    loop: Any, sock: socket.socket, fileno: int, offset: int, count: int, nowait: int
) -> tuple[int, OSError | None] | None:
    """Send one buffer of cached file data from the loop thread; None if not cached.

    ``preadv`` with ``RWF_NOWAIT`` reads only what the page cache holds and
    fails with EAGAIN rather than wait for the disk; a filesystem that cannot
    promise that fails with EOPNOTSUPP. Either way None: the caller sends
    from a helper thread. A short read (partly cached) sends what it got.
    Returns the bytes sent and the error that stopped the send, as
    :func:`_send_some` does.
    """
    view = services(loop).buffer("sendfile", CACHED_BLOCK_SIZE)
    want = min(count, CACHED_BLOCK_SIZE)
    try:
        got = os.preadv(fileno, [view[:want]], offset, nowait)
    except OSError:
        return None
    if got == 0:
        return 0, None  # end of file
    try:
        return sock.send(view[:got]), None
    except OSError as exc:
        return 0, exc


def _send_some(fd: int, fileno: int, offset: int, count: int) -> tuple[int, OSError | None]:
    """``os.sendfile`` until the socket is full, the file ends or it fails (helper thread).

    Returns the bytes sent and the error that stopped it (BlockingIOError:
    the socket is full; None: ``count`` bytes sent or end of file). The
    socket stays non-blocking, so this never waits for the peer, and only
    one call per transfer runs at a time, so the bytes go out in order.
    """
    sent = 0
    while sent < count:
        try:
            n = os.sendfile(fd, fileno, offset + sent, min(count - sent, NATIVE_BLOCK_SIZE))
        except OSError as exc:
            return sent, exc
        if n == 0:
            break
        sent += n
    return sent, None


async def _writable(loop: Any, fd: int) -> None:
    kernel = services(loop)
    fut: futures.Future[None] = loop.create_future()
    handle = kernel.add_writer(fd, _wake, fut)
    try:
        await fut
    finally:
        if not handle.cancelled():
            kernel.remove_writer(fd)


def _wake(fut: futures.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def _sock_fallback(
    loop: Any, sock: socket.socket, file: Any, offset: int, count: int | None
) -> int:
    if offset:
        file.seek(offset)
    block = min(count, FALLBACK_BLOCK_SIZE) if count else FALLBACK_BLOCK_SIZE
    buf = bytearray(block)
    total = 0
    try:
        while True:
            if count:
                block = min(count - total, block)
                if block <= 0:
                    break
            view = memoryview(buf)[:block]
            nread = await loop.run_in_executor(None, file.readinto, view)
            if not nread:
                break
            await sock_sendall(loop, sock, view[:nread])
            total += nread
        return total
    finally:
        if total > 0 and hasattr(file, "seek"):
            file.seek(offset + total)


async def sock_sendfile(
    self: Any,
    sock: socket.socket,
    file: Any,
    offset: int = 0,
    count: int | None = None,
    *,
    fallback: bool | None = True,
) -> int:
    """Send ``file`` (from ``offset``, ``count`` bytes or to EOF) over ``sock``.

    Returns the number of bytes sent.
    """
    check_sock(self, sock)
    _check_params(sock, file, offset, count)
    services(self).check_fd_free(sock.fileno())
    try:
        return await _native(self, sock, file, offset, count)
    except exceptions.SendfileNotAvailableError:
        if not fallback:
            raise
    return await _sock_fallback(self, sock, file, offset, count)


class _FlowFollower(protocols.Protocol):
    """Stands in for a transport's protocol while the fallback writes a file.

    It follows pause_writing / resume_writing so that the file is written no
    faster than the peer reads it, and puts the real protocol back after.
    """

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._protocol = transport.get_protocol()
        self._resume_reading = transport.is_reading()
        self._was_paused = bool(getattr(transport, "_protocol_paused", False))
        self._writable: futures.Future[None] | None = None
        self._loop = transport._loop
        transport.pause_reading()
        transport.set_protocol(self)
        if self._was_paused:
            self._writable = self._loop.create_future()

    async def drain(self) -> None:
        if self._transport.is_closing():
            raise ConnectionError("Connection closed by peer")
        if self._writable is not None:
            await self._writable

    def connection_made(self, transport: Any) -> None:
        raise RuntimeError("Invalid state: connection should have been established already.")

    def connection_lost(self, exc: BaseException | None) -> None:
        fut = self._writable
        if fut is not None and not fut.done():
            fut.set_exception(exc or ConnectionError("Connection is closed by peer"))
        self._protocol.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        fut = self._writable
        self._writable = None
        if fut is not None and not fut.done():
            fut.set_result(None)

    def data_received(self, data: bytes) -> None:
        raise RuntimeError("Invalid state: reading should be paused")

    def eof_received(self) -> bool:
        raise RuntimeError("Invalid state: reading should be paused")

    def restore(self) -> None:
        self._transport.set_protocol(self._protocol)
        if self._resume_reading:
            self._transport.resume_reading()
        fut = self._writable
        if fut is not None and not fut.done():
            fut.cancel()
        if self._was_paused:
            self._protocol.resume_writing()


async def _transport_fallback(loop: Any, transport: Any, file: Any, offset: int, count: Any) -> int:
    if offset:
        file.seek(offset)
    block = min(count, FALLBACK_BLOCK_SIZE) if count else FALLBACK_BLOCK_SIZE
    buf = bytearray(block)
    total = 0
    follower = _FlowFollower(transport)
    try:
        while True:
            if count:
                block = min(count - total, block)
                if block <= 0:
                    return total
            view = memoryview(buf)[:block]
            nread = await loop.run_in_executor(None, file.readinto, view)
            if not nread:
                return total
            await follower.drain()
            transport.write(bytes(view[:nread]))
            total += nread
    finally:
        if total > 0 and hasattr(file, "seek"):
            file.seek(offset + total)
        follower.restore()


async def _transport_native(
    loop: Any, transport: Any, file: Any, offset: int, count: int | None
) -> int:
    was_reading = transport.is_reading()
    transport.pause_reading()
    await transport._make_empty_waiter()
    try:
        sock = transport._sock
        _check_params(sock, file, offset, count)
        return await _native(loop, sock, file, offset, count)
    finally:
        transport._reset_empty_waiter()
        if was_reading:
            transport.resume_reading()


async def sendfile(
    self: Any,
    transport: Any,
    file: Any,
    offset: int = 0,
    count: int | None = None,
    *,
    fallback: bool = True,
) -> int:
    """Send ``file`` over ``transport``; return the number of bytes sent."""
    if transport.is_closing():
        raise RuntimeError("Transport is closing")
    mode = getattr(transport, "_sendfile_compatible", constants._SendfileMode.UNSUPPORTED)
    if mode is constants._SendfileMode.UNSUPPORTED:
        raise RuntimeError(f"sendfile is not supported for transport {transport!r}")
    if mode is constants._SendfileMode.TRY_NATIVE:
        try:
            return await _transport_native(self, transport, file, offset, count)
        except exceptions.SendfileNotAvailableError:
            if not fallback:
                raise
    if not fallback:
        raise RuntimeError(
            f"fallback is disabled and native sendfile is not supported for transport {transport!r}"
        )
    return await _transport_fallback(self, transport, file, offset, count)
