"""The low-level datagram socket calls: sock_sendto, sock_recvfrom, sock_recvfrom_into.

Each call first tries the operation directly (a datagram socket usually has
room to send, or a datagram waiting); only when the kernel says "try again"
does it register a one-shot watcher on the fd (:mod:`loopkit.plugins`).
The watcher goes away as soon as the future is done, whether by result,
error or cancellation.

As in asyncio: an SSL socket is a TypeError; a blocking socket is refused
with ValueError in debug mode (outside debug mode the call simply uses it,
as asyncio does); an fd owned by a live transport is a RuntimeError.

What it must never do: leave a watcher behind after its future is done, or
swallow an error of the socket (it goes to the awaiting caller).
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from loopkit.plugin import TRY_AGAIN, retry_when_ready


def _check_sock(loop: Any, sock: socket.socket) -> None:
    if sock.__class__ is socket.socket and not loop.get_debug():
        return  # the usual case: nothing to check
    # Only a program that imported ssl can hold an SSLSocket: no need to
    # import ssl (slow) to find out.
    ssl = sys.modules.get("ssl")
    if ssl is not None and isinstance(sock, ssl.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")
    if loop.get_debug() and sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


def _call(sock: socket.socket, method: str, *args: Any) -> Any:
    """``sock.<method>(*args)``, the method looked up on each attempt, as
    asyncio does: a socket-like object whose method is replaced while the
    call waits is honoured."""
    return getattr(sock, method)(*args)


async def sock_sendto(self: Any, sock: socket.socket, data: Any, address: Any) -> int:
    """Send one datagram to ``address``; return the number of bytes sent."""
    _check_sock(self, sock)
    try:
        return sock.sendto(data, address)
    except TRY_AGAIN:
        pass
    sent: int = await retry_when_ready(
        self, sock.fileno(), True, _call, sock, "sendto", data, address
    )
    return sent


async def sock_recvfrom(self: Any, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
    """Receive one datagram of at most ``bufsize`` bytes; return ``(data, address)``."""
    _check_sock(self, sock)
    try:
        return sock.recvfrom(bufsize)
    except TRY_AGAIN:
        pass
    received: tuple[bytes, Any] = await retry_when_ready(
        self, sock.fileno(), False, _call, sock, "recvfrom", bufsize
    )
    return received


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
    except TRY_AGAIN:
        pass
    received: tuple[int, Any] = await retry_when_ready(
        self, sock.fileno(), False, _call, sock, "recvfrom_into", buf, nbytes
    )
    return received
