"""The low-level stream socket calls: sock_recv, sock_recv_into, sock_sendall,
sock_connect and sock_accept.

Each call first tries the operation directly (most of the time the socket is
ready and no watcher is needed); only when the kernel says "try again" does
it register a one-shot watcher on the fd (:mod:`loopkit.transports.sockwait`),
which is removed as soon as the future is done, cancelled included.

As in asyncio, a blocking socket is refused with ValueError in debug mode,
and an fd owned by a live transport is refused with RuntimeError.

What it must never do: leave a watcher behind after its future is done, or
swallow an error of the socket (it goes to the awaiting caller).
"""

from __future__ import annotations

import socket
from asyncio import futures
from typing import Any

from loopkit.plugin import (
    TRY_AGAIN,
    check_not_ssl_socket,
    connect_socket,
    retry_when_ready,
    services,
    watched,
)
from loopkit.plugins.tcp.addresses import resolve

_BYTE_SEQUENCES = (bytes, bytearray)  # len() counts bytes: no memoryview needed
_INET = (socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET))
#: sock_recv asks for more than this through the loop's receive buffer
#: (see :func:`_recv`); smaller reads cost the C library nothing to allocate.
_SMALL_READ = 16 * 1024
#: ... and up to this much (the size of the loop's shared "stream" buffer).
_LARGE_READ = 256 * 1024


_PLAIN_SOCKET = socket.socket


def check_sock(loop: Any, sock: socket.socket) -> None:
    """The checks every sock_* call makes before touching the socket.

    A plain ``socket.socket`` outside debug mode needs no check at all; that
    is nearly every call, so it is answered first and cheaply.
    """
    debug = loop.get_debug()
    if sock.__class__ is _PLAIN_SOCKET and not debug:
        return
    check_not_ssl_socket(sock)
    if debug and sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


# ----------------------------------------------------------------------
# Receiving
# ----------------------------------------------------------------------


def _recv(loop: Any, sock: socket.socket, n: int) -> bytes:
    """``sock.recv(n)``, through the loop's receive buffer when ``n`` is large.

    ``recv(256 KiB)`` makes the C library map, shrink and unmap a block of
    that size on every call; ``recv_into`` the shared buffer and one copy of
    what arrived is much cheaper. Only a plain ``socket.socket`` takes that
    path: a subclass may have its own ``recv``, which is then honoured.
    """
    if n > _SMALL_READ and sock.__class__ is _PLAIN_SOCKET and n <= _LARGE_READ:
        view = services(loop).buffer("stream", _LARGE_READ)
        return view[: sock.recv_into(view, n)].tobytes()
    return sock.recv(n)


async def sock_recv(self: Any, sock: socket.socket, n: int) -> bytes:
    """Receive up to ``n`` bytes from ``sock``; b'' means the peer closed."""
    check_sock(self, sock)
    try:
        return _recv(self, sock, n)
    except TRY_AGAIN:
        pass
    data: bytes = await retry_when_ready(self, sock.fileno(), False, _recv, self, sock, n)
    return data


def _recv_into(sock: socket.socket, buf: Any) -> int:
    return sock.recv_into(buf)


async def sock_recv_into(self: Any, sock: socket.socket, buf: Any) -> int:
    """Receive into ``buf``; return the number of bytes (0: the peer closed)."""
    check_sock(self, sock)
    try:
        return sock.recv_into(buf)
    except TRY_AGAIN:
        pass
    nbytes: int = await retry_when_ready(self, sock.fileno(), False, _recv_into, sock, buf)
    return nbytes


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
    except TRY_AGAIN:
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
        del fut  # this frame is in exc's traceback: no fut -> exc cycle
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
    except TRY_AGAIN:
        sent = 0
    else:
        if sent == len(data) and data.__class__ in _BYTE_SEQUENCES:
            return  # the usual case: the kernel took it all, no view needed
    view = memoryview(data).cast("B")
    if sent == len(view):
        return
    fut: futures.Future[None] = self.create_future()
    await watched(self, sock.fileno(), True, _sendall_ready, fut, sock, view, [sent])


# ----------------------------------------------------------------------
# Connecting and accepting
# ----------------------------------------------------------------------


async def sock_connect(self: Any, sock: socket.socket, address: Any) -> None:
    """Connect ``sock`` to ``address`` (resolved first for IP families)."""
    check_sock(self, sock)
    if sock.family in _INET:
        infos = await resolve(self, address, family=sock.family, type=sock.type, proto=sock.proto)
        address = infos[0][4]
    await connect_socket(self, sock, address)


def _accept(sock: socket.socket) -> tuple[socket.socket, Any]:
    conn, address = sock.accept()
    conn.setblocking(False)
    return conn, address


async def sock_accept(self: Any, sock: socket.socket) -> tuple[socket.socket, Any]:
    """Accept a connection; the new socket is non-blocking."""
    check_sock(self, sock)
    try:
        return _accept(sock)
    except TRY_AGAIN:
        pass
    accepted: tuple[socket.socket, Any] = await retry_when_ready(
        self, sock.fileno(), False, _accept, sock
    )
    return accepted
