"""The low-level datagram socket calls: sock_sendto, sock_recvfrom, sock_recvfrom_into.

Each call first tries the operation directly (a datagram socket usually has
room to send, or a datagram waiting); only when the kernel says "try again"
does it register a one-shot watcher on the fd. The watcher goes away as soon
as the future is done, whether by result, error or cancellation.

As in asyncio: an SSL socket is a TypeError; a blocking socket is refused
with ValueError in debug mode (outside debug mode the call simply uses it,
as asyncio does); an fd owned by a live transport is a RuntimeError.

What it must never do: leave a watcher behind after its future is done, or
swallow an error of the socket (it goes to the awaiting caller).
"""

from __future__ import annotations

import socket
import sys
from asyncio import futures
from collections.abc import Callable
from typing import Any

_TRY_AGAIN = (BlockingIOError, InterruptedError)


def _check_sock(loop: Any, sock: socket.socket) -> None:
    if sock.__class__ is socket.socket and not loop._debug:
        return  # the usual case: nothing to check
    # Only a program that imported ssl can hold an SSLSocket: no need to
    # import ssl (slow) to find out.
    ssl = sys.modules.get("ssl")
    if ssl is not None and isinstance(sock, ssl.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")
    if loop._debug and sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


def _watch(
    loop: Any,
    sock: socket.socket,
    add: Callable[..., Any],
    remove: Callable[[int], bool],
    callback: Callable[..., None],
    fut: futures.Future[Any],
    *args: Any,
) -> None:
    """Run ``callback(fut, *args)`` on readiness until ``fut`` is done."""
    fd = sock.fileno()
    loop._ensure_fd_free(fd)
    handle = add(fd, callback, fut, *args)

    def unwatch(_: futures.Future[Any]) -> None:
        # A cancelled handle was replaced by a later watcher on the same fd:
        # that one is not ours to remove.
        if not handle.cancelled():
            remove(fd)

    fut.add_done_callback(unwatch)


def _settle(fut: futures.Future[Any], sock: socket.socket, method: str, *args: Any) -> None:
    """Try ``sock.<method>(*args)`` once more and resolve ``fut`` unless told to retry.

    The method is looked up on each attempt, as asyncio does, so a socket-like
    object whose method is replaced in the meantime is honoured.
    """
    if fut.done():
        return
    try:
        result = getattr(sock, method)(*args)
    except _TRY_AGAIN:
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        fut.set_result(result)


async def sock_sendto(self: Any, sock: socket.socket, data: Any, address: Any) -> int:
    """Send one datagram to ``address``; return the number of bytes sent."""
    _check_sock(self, sock)
    try:
        return sock.sendto(data, address)
    except _TRY_AGAIN:
        pass
    fut: futures.Future[int] = self.create_future()
    _watch(
        self,
        sock,
        self._add_writer,
        self._remove_writer,
        _settle,
        fut,
        sock,
        "sendto",
        data,
        address,
    )
    return await fut


async def sock_recvfrom(self: Any, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
    """Receive one datagram of at most ``bufsize`` bytes; return ``(data, address)``."""
    _check_sock(self, sock)
    try:
        return sock.recvfrom(bufsize)
    except _TRY_AGAIN:
        pass
    fut: futures.Future[tuple[bytes, Any]] = self.create_future()
    _watch(
        self, sock, self._add_reader, self._remove_reader, _settle, fut, sock, "recvfrom", bufsize
    )
    return await fut


async def sock_recvfrom_into(
    self: Any, sock: socket.socket, buf: Any, nbytes: int = 0
) -> tuple[int, Any]:
    """Receive one datagram into ``buf`` (at most ``nbytes``, 0: ``len(buf)``).

    Returns ``(number of bytes written, address)``.
    """
    _check_sock(self, sock)
    if not nbytes:
        nbytes = len(buf)
    try:
        return sock.recvfrom_into(buf, nbytes)
    except _TRY_AGAIN:
        pass
    fut: futures.Future[tuple[int, Any]] = self.create_future()
    _watch(
        self,
        sock,
        self._add_reader,
        self._remove_reader,
        _settle,
        fut,
        sock,
        "recvfrom_into",
        buf,
        nbytes,
    )
    return await fut
