"""``create_unix_server`` and :class:`UnixServer`, the tcp Server that tidies up.

Binding to a path first removes a stale socket file there (only a socket;
any other file makes the bind fail with EADDRINUSE, as in asyncio).
Accepting connections is the shared stream :class:`~loopkit.transports.server.Server`
unchanged; :class:`UnixServer` adds one thing: closing it can remove the
socket file it listens on.

Whether it does follows the running Python's asyncio: on 3.13+ the file is
removed unless ``cleanup_socket=False`` is passed (asyncio's default
``cleanup_socket=True``); on 3.11 and 3.12 asyncio has no such keyword and
leaves the file in place, and so does loopkit, so a program (or a test)
that relies on either behaviour sees it unchanged on loopkit.

The loop thread never touches the disk here: binding to a path (with the
look at, and removal of, a stale file) and removing the file on close run
in the loop's helper threads (``services(loop).off_loop``);
``await server.wait_closed()`` returns only once the file is gone. The file is
removed only if the path still holds the same file (device and inode) the
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

from loopkit.plugin import Server, check_not_ssl_socket, services
from loopkit.plugins.unix.connect import check_unix_stream_socket
from loopkit.plugins.unix.paths import (
    SocketFile,
    bound_file,
    remove_socket_file,
    remove_stale_socket,
)


class UnixServer(Server):
    """A Server on one Unix-domain socket that may remove its socket file on close."""

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
        #: The removal of the socket file, running in a helper thread.
        self._removing: asyncio.Future[None] | None = None

    def close(self) -> None:
        """Stop listening, close the socket and remove its socket file (if asked to).

        The file is removed in one of the loop's helper threads (the loop
        thread never touches the disk); :meth:`wait_closed` returns only once
        it is gone. On a loop that is not running, it is removed here.
        """
        super().close()
        socket_file, self._socket_file = self._socket_file, None
        if socket_file is None:
            return
        loop = self._loop
        if loop.is_running() and not loop.is_closed():
            self._removing = services(loop).off_loop(remove_socket_file, socket_file)
        else:
            remove_socket_file(socket_file)

    async def wait_closed(self) -> None:
        """Wait until the server is closed, its connections gone and its file removed."""
        removing = self._removing
        if removing is not None:
            await asyncio.shield(removing)
        await super().wait_closed()


def _bind_new_socket(path: Any) -> tuple[socket.socket, SocketFile | None]:
    """A new AF_UNIX stream socket bound to ``path`` (a stale socket file replaced),
    and the file it made.

    Runs in a helper thread: looking at the path, removing a stale file and
    binding (which makes the file) all touch the disk.
    """
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
    return sock, _socket_file_of(sock)


def _socket_file_of(sock: socket.socket) -> SocketFile | None:
    """The file ``sock`` is bound to (in a helper thread: it stats the path)."""
    try:
        return bound_file(sock)
    except OSError:
        return None


def _discard(sock: socket.socket, bound: SocketFile | None) -> None:
    """Undo a bind nobody will use: close the socket, remove its file (helper thread)."""
    sock.close()
    if bound is not None:
        remove_socket_file(bound)


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
        (sock, bound), cancelled = await services(self).settled_off_loop(_bind_new_socket, path)
        if cancelled:
            services(self).off_loop(_discard, sock, bound)
            raise asyncio.CancelledError()
        owns_socket = True
    else:
        if sock is None:
            raise ValueError("path was not specified, and no sock specified")
        check_unix_stream_socket(sock)
        check_not_ssl_socket(sock)
        owns_socket = False
        bound = await services(self).off_loop(_socket_file_of, sock)

    # The bound file is known even without cleanup_socket, so that a failed
    # start never leaves behind a file this call created.
    socket_file = bound if cleanup_socket else None
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
            await asyncio.shield(services(self).off_loop(_discard, sock, bound))
        raise
    if start_serving:
        try:
            server._start_serving()
        except BaseException:
            server.close()
            if owns_socket and bound is not None and socket_file is None:
                await asyncio.shield(services(self).off_loop(remove_socket_file, bound))
            await server.wait_closed()
            raise
        await asyncio.sleep(0)  # as asyncio: let the watchers settle first
    if self.get_debug():
        logger.info("%r is serving", server)
    return server


_DOC = """Listen for stream connections on a Unix-domain socket; return a Server.

``path`` is a str, bytes or os.PathLike (a stale socket file there is
replaced; one starting with a NUL byte is a Linux abstract address), or
``sock`` an AF_UNIX stream socket already bound. Closing the server removes
its socket file on Python 3.13+ unless ``cleanup_socket=False``; on 3.11 and
3.12 the file stays, as with asyncio (see :mod:`loopkit.plugins.unix.server`).
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
            cleanup_socket=False,  # asyncio before 3.13 leaves the file in place
        )


create_unix_server.__doc__ = _DOC
_create_unix_server.__doc__ = _DOC
