"""The low-level stream socket calls: sock_recv, sock_recv_into, sock_sendall,
sock_connect and sock_accept.

Each call first tries the operation directly (most of the time the socket is
ready and no watcher is needed); only when the kernel says "try again" does
it register a one-shot watcher on the fd, which is removed as soon as the
future is done, cancelled included.

As in asyncio, a blocking socket is refused with ValueError in debug mode,
and an fd owned by a live transport is refused with RuntimeError.

What it must never do: leave a watcher behind after its future is done, or
swallow an error of the socket (it goes to the awaiting caller).
"""

from __future__ import annotations

import socket
from asyncio import futures
from collections.abc import Callable
from typing import Any

from loopkit.plugins.tcp.addresses import resolve
from loopkit.plugins.tcp.tlswire import check_not_ssl_socket

_TRY_AGAIN = (BlockingIOError, InterruptedError)
_BYTE_SEQUENCES = (bytes, bytearray)  # len() counts bytes: no memoryview needed
_INET = (socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET))


_PLAIN_SOCKET = socket.socket


def check_sock(loop: Any, sock: socket.socket) -> None:
    """The checks every sock_* call makes before touching the socket.

    A plain ``socket.socket`` outside debug mode needs no check at all; that
    is nearly every call, so it is answered first and cheaply.
    """
    if sock.__class__ is _PLAIN_SOCKET and not loop._debug:
        return
    check_not_ssl_socket(sock)
    if loop._debug and sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


def _unwatch_when_done(
    fd: int, handle: Any, remove: Callable[[int], bool], fut: futures.Future[Any]
) -> None:
    """Remove the watcher once ``fut`` is done, unless something replaced it."""

    def done(_: futures.Future[Any]) -> None:
        if not handle.cancelled():
            remove(fd)

    fut.add_done_callback(done)


def _watch_reader(
    loop: Any, sock: socket.socket, callback: Callable[..., None], *args: Any
) -> None:
    fd = sock.fileno()
    loop._ensure_fd_free(fd)
    handle = loop._add_reader(fd, callback, *args)
    _unwatch_when_done(fd, handle, loop._remove_reader, args[0])


def _watch_writer(
    loop: Any, sock: socket.socket, callback: Callable[..., None], *args: Any
) -> None:
    fd = sock.fileno()
    loop._ensure_fd_free(fd)
    handle = loop._add_writer(fd, callback, *args)
    _unwatch_when_done(fd, handle, loop._remove_writer, args[0])


# ----------------------------------------------------------------------
# Receiving
# ----------------------------------------------------------------------


def _recv_ready(fut: futures.Future[bytes], sock: socket.socket, n: int) -> None:
    if fut.done():
        return
    try:
        data = sock.recv(n)
    except _TRY_AGAIN:
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        fut.set_result(data)


async def sock_recv(self: Any, sock: socket.socket, n: int) -> bytes:
    """Receive up to ``n`` bytes from ``sock``; b'' means the peer closed."""
    check_sock(self, sock)
    try:
        return sock.recv(n)
    except _TRY_AGAIN:
        pass
    fut: futures.Future[bytes] = self.create_future()
    _watch_reader(self, sock, _recv_ready, fut, sock, n)
    return await fut


def _recv_into_ready(fut: futures.Future[int], sock: socket.socket, buf: Any) -> None:
    if fut.done():
        return
    try:
        nbytes = sock.recv_into(buf)
    except _TRY_AGAIN:
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        fut.set_result(nbytes)


async def sock_recv_into(self: Any, sock: socket.socket, buf: Any) -> int:
    """Receive into ``buf``; return the number of bytes (0: the peer closed)."""
    check_sock(self, sock)
    try:
        return sock.recv_into(buf)
    except _TRY_AGAIN:
        pass
    fut: futures.Future[int] = self.create_future()
    _watch_reader(self, sock, _recv_into_ready, fut, sock, buf)
    return await fut


# ----------------------------------------------------------------------
# Sending
# ----------------------------------------------------------------------


def _sendall_ready(
    fut: futures.Future[None], sock: socket.socket, view: memoryview, pos: list[int]
) -> None:
    if fut.done():
        return
    start = pos[0]
    try:
        sent = sock.send(view[start:])
    except _TRY_AGAIN:
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
        return
    start += sent
    if start == len(view):
        fut.set_result(None)
    else:
        pos[0] = start


async def sock_sendall(self: Any, sock: socket.socket, data: Any) -> None:
    """Send all of ``data``, waiting for the kernel to take what it cannot at once."""
    check_sock(self, sock)
    try:
        sent = sock.send(data)
    except _TRY_AGAIN:
        sent = 0
    else:
        if sent == len(data) and data.__class__ in _BYTE_SEQUENCES:
            return  # the usual case: the kernel took it all, no view needed
    view = memoryview(data).cast("B")
    if sent == len(view):
        return
    fut: futures.Future[None] = self.create_future()
    _watch_writer(self, sock, _sendall_ready, fut, sock, view, [sent])
    await fut


# ----------------------------------------------------------------------
# Connecting and accepting
# ----------------------------------------------------------------------


def _connect_ready(fut: futures.Future[None], sock: socket.socket, address: Any) -> None:
    if fut.done():
        return
    try:
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, f"Connect call failed {address}")
    except _TRY_AGAIN:
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        fut.set_result(None)


async def connect_socket(loop: Any, sock: socket.socket, address: Any) -> None:
    """Connect a non-blocking socket, without the sock_connect argument checks."""
    try:
        sock.connect(address)
        return
    except _TRY_AGAIN:
        pass
    fut: futures.Future[None] = loop.create_future()
    _watch_writer(loop, sock, _connect_ready, fut, sock, address)
    await fut


async def sock_connect(self: Any, sock: socket.socket, address: Any) -> None:
    """Connect ``sock`` to ``address`` (resolved first for IP families)."""
    check_sock(self, sock)
    if sock.family in _INET:
        infos = await resolve(self, address, family=sock.family, type=sock.type, proto=sock.proto)
        address = infos[0][4]
    await connect_socket(self, sock, address)


def _accept_ready(fut: futures.Future[Any], sock: socket.socket) -> None:
    if fut.done():
        return
    try:
        conn, address = sock.accept()
        conn.setblocking(False)
    except _TRY_AGAIN:
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        fut.set_result((conn, address))


async def sock_accept(self: Any, sock: socket.socket) -> tuple[socket.socket, Any]:
    """Accept a connection; the new socket is non-blocking."""
    check_sock(self, sock)
    try:
        conn, address = sock.accept()
    except _TRY_AGAIN:
        pass
    else:
        conn.setblocking(False)
        return conn, address
    fut: futures.Future[tuple[socket.socket, Any]] = self.create_future()
    _watch_reader(self, sock, _accept_ready, fut, sock)
    return await fut
