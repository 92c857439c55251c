"""``create_seqpacket_server`` and :class:`SeqpacketServer`.

Listening and accepting are loopkit's shared :class:`~loopkit.plugin.Server`
(batched accepts, running out of fds, ``wait_closed`` as the running
Python's asyncio has it, ``close_clients`` on 3.13+). The one thing that
differs is the transport of an accepted connection, so
:class:`SeqpacketServer` sets only
:attr:`~loopkit.plugin.Server.transport_class`.

Binding to a path touches the disk (it creates the socket file, and a stale
socket file there is removed first, as asyncio's ``create_unix_server``
does), so it runs in one of the loop's helper threads
(``services(loop).settled_off_loop``): the loop thread never blocks on disk.
The socket file stays when the server closes, as with asyncio's
``create_unix_server`` before Python 3.13.

What it must never do: remove a file that is not a socket, or leave a socket
open when creating the server fails or is cancelled.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import stat
from collections.abc import Callable

from loopkit.plugin import Server, services
from loopkit_seqpacket.connect import PathArgument, check_seqpacket_socket
from loopkit_seqpacket.transport import SeqpacketTransport


class SeqpacketServer(Server):
    """A :class:`~loopkit.plugin.Server` whose connections are seqpacket transports."""

    transport_class = SeqpacketTransport


def _bind(path: str | bytes) -> socket.socket:
    """A seqpacket socket bound to ``path`` (a helper thread runs this: it touches the disk)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        if path and path[0] not in (0, "\0"):  # not a Linux abstract address
            try:
                if stat.S_ISSOCK(os.stat(path).st_mode):
                    os.remove(path)  # a stale socket file; any other file stays
            except FileNotFoundError:
                pass
        try:
            sock.bind(path)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(errno.EADDRINUSE, f"Address {path!r} is already in use") from None
            raise
    except BaseException:
        sock.close()
        raise
    return sock


async def create_seqpacket_server(
    self: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    path: PathArgument | None = None,
    *,
    sock: socket.socket | None = None,
    backlog: int = 100,
    start_serving: bool = True,
) -> SeqpacketServer:
    """Listen for seqpacket connections on ``path`` (or the bound ``sock``); return the server.

    ``path`` is a str, bytes or os.PathLike (a stale socket file there is
    replaced; one starting with a NUL byte is a Linux abstract address).
    ``protocol_factory`` is called once per accepted connection. The server
    is an :class:`asyncio.AbstractServer`: ``close()``, ``wait_closed()``,
    ``serve_forever()``, ``async with``.
    """
    if not isinstance(backlog, int) or isinstance(backlog, bool):
        raise TypeError(f"backlog must be an int, got {backlog!r}")
    if path is not None:
        if sock is not None:
            raise ValueError("path and sock can not be specified at the same time")
        address = os.fspath(path)  # TypeError for anything but a path
        sock, cancelled = await services(self).settled_off_loop(_bind, address)
        if cancelled:
            sock.close()
            raise asyncio.CancelledError()
    else:
        if sock is None:
            raise ValueError("path was not specified, and no sock specified")
        check_seqpacket_socket(sock)
    try:
        sock.setblocking(False)
        server = SeqpacketServer(self, [sock], protocol_factory, None, backlog, None)
    except BaseException:
        if path is not None:
            sock.close()
        raise
    if start_serving:
        try:
            await server.start_serving()
        except BaseException:
            server.close()
            raise
    return server
