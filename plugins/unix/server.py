"""``create_unix_server`` and :class:`UnixServer`, the tcp Server that tidies up.

Binding to a path first removes a stale socket file there (only a socket;
any other file makes the bind fail with EADDRINUSE, as in asyncio).
Accepting connections is the tcp plugin's :class:`~loopkit.plugins.tcp.server.Server`
unchanged; :class:`UnixServer` adds one thing: closing it removes the socket
file it listens on.

That removal is asyncio 3.13's ``cleanup_socket=True`` behaviour, and loopkit
does it on *every* supported Python version: a server that leaves its file
behind only makes the next start find a stale file. The ``cleanup_socket``
keyword itself exists only where asyncio has it (3.13+), so that code written
for one version fails on another exactly as it would with asyncio. The file
is removed only if the path still holds the same file (device and inode) the
server bound: a newer server's file at the same path is left alone. Abstract
addresses have no file and need no cleanup.

What it must never do: remove a file the server did not create, or leave a
socket or socket file behind when creating the server fails.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sys
from asyncio.log import logger
from collections.abc import Callable, Sequence
from typing import Any

from loopkit.plugins.tcp.server import Server
from loopkit.plugins.tcp.tlswire import check_not_ssl_socket
from loopkit.plugins.unix.connect import check_unix_stream_socket
from loopkit.plugins.unix.paths import (
    SocketFile,
    bound_file,
    remove_socket_file,
    remove_stale_socket,
)


class UnixServer(Server):
    """A Server on one Unix-domain socket that removes its socket file on close."""

    def __init__(
        self,
        loop: Any,
        sockets: Sequence[socket.socket],
        protocol_factory: Callable[[], Any],
        ssl_context: Any,
        backlog: int,
        ssl_handshake_timeout: float | None,
        ssl_shutdown_timeout: float | None = None,
        *,
        socket_file: SocketFile | None = None,
    ) -> None:
        super().__init__(
            loop,
            sockets,
            protocol_factory,
            ssl_context,
            backlog,
            ssl_handshake_timeout,
            ssl_shutdown_timeout,
        )
        self._socket_file = socket_file

    def close(self) -> None:
        """Stop listening, close the socket and remove its socket file."""
        super().close()
        socket_file, self._socket_file = self._socket_file, None
        if socket_file is not None:
            remove_socket_file(socket_file)


def _bind_new_socket(path: Any) -> socket.socket:
    """A new AF_UNIX stream socket bound to ``path`` (a stale socket file replaced)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        remove_stale_socket(path)
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


def _socket_file_of(sock: socket.socket) -> SocketFile | None:
    try:
        return bound_file(sock)
    except OSError:
        return None


async def _create_unix_server(
    self: Any,
    protocol_factory: Callable[[], Any],
    path: Any = None,
    *,
    sock: socket.socket | None = None,
    backlog: int = 100,
    ssl: Any = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    start_serving: bool = True,
    cleanup_socket: bool = True,
) -> UnixServer:
    if isinstance(ssl, bool):
        raise TypeError("ssl argument must be an SSLContext or None")
    if ssl_handshake_timeout is not None and not ssl:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if ssl_shutdown_timeout is not None and not ssl:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")

    if path is not None:
        if sock is not None:
            raise ValueError("path and sock can not be specified at the same time")
        path = os.fspath(path)
        sock = _bind_new_socket(path)
        owns_socket = True
    else:
        if sock is None:
            raise ValueError("path was not specified, and no sock specified")
        check_unix_stream_socket(sock)
        check_not_ssl_socket(sock)
        owns_socket = False

    socket_file = _socket_file_of(sock) if cleanup_socket else None
    try:
        sock.setblocking(False)
        server = UnixServer(
            self,
            [sock],
            protocol_factory,
            ssl,
            backlog,
            ssl_handshake_timeout,
            ssl_shutdown_timeout,
            socket_file=socket_file,
        )
    except BaseException:
        if owns_socket:
            sock.close()
            if socket_file is not None:
                remove_socket_file(socket_file)
        raise
    if start_serving:
        try:
            server._start_serving()
        except BaseException:
            server.close()
            raise
        await asyncio.sleep(0)  # as asyncio: let the watchers settle first
    if self._debug:
        logger.info("%r is serving", server)
    return server


_DOC = """Listen for stream connections on a Unix-domain socket; return a Server.

``path`` is a str, bytes or os.PathLike (a stale socket file there is
replaced; one starting with a NUL byte is a Linux abstract address), or
``sock`` an AF_UNIX stream socket already bound. Closing the server removes
its socket file, on every Python version (see :mod:`loopkit.plugins.unix.server`).
"""

if sys.version_info >= (3, 13):
    create_unix_server = _create_unix_server
else:

    async def create_unix_server(  # type: ignore[misc]
        self: Any,
        protocol_factory: Callable[[], Any],
        path: Any = None,
        *,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
    ) -> UnixServer:
        return await _create_unix_server(
            self,
            protocol_factory,
            path,
            sock=sock,
            backlog=backlog,
            ssl=ssl,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            start_serving=start_serving,
        )


create_unix_server.__doc__ = _DOC
_create_unix_server.__doc__ = _DOC
