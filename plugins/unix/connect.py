"""``create_unix_connection``: connect a stream socket to a Unix-domain server.

The connected socket is handed to the tcp plugin's wiring, so the transport
(plain or TLS) is the very same stream transport TCP connections get.

What it must never do: leave a socket it made open when connecting or
building the transport fails, or accept argument combinations asyncio refuses.
"""

from __future__ import annotations

import os
import socket
from asyncio.log import logger
from collections.abc import Callable
from typing import Any

from loopkit.plugin import check_not_ssl_socket, connect_socket, wire_stream


def check_unix_stream_socket(sock: socket.socket) -> None:
    """Refuse anything but an AF_UNIX SOCK_STREAM socket, as asyncio does."""
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")


async def create_unix_connection(
    self: Any,
    protocol_factory: Callable[[], Any],
    path: Any = None,
    *,
    ssl: Any = None,
    sock: socket.socket | None = None,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
) -> tuple[Any, Any]:
    """Connect to the Unix-socket server at ``path`` (or wrap ``sock``).

    ``path`` is a str, bytes or os.PathLike; one starting with a NUL byte is
    a Linux abstract address. With ``ssl`` (True or an SSLContext) the
    connection is TLS, and ``server_hostname`` must be given: there is no
    host name to check the certificate against otherwise (``''`` turns the
    check off). Returns ``(transport, protocol)``.
    """
    if server_hostname is not None and not isinstance(server_hostname, str):
        raise TypeError(f"server_hostname must be a str, got {server_hostname!r}")
    if ssl:
        if server_hostname is None:
            raise ValueError("you have to pass server_hostname when using ssl")
    else:
        if server_hostname is not None:
            raise ValueError("server_hostname is only meaningful with ssl")
        if ssl_handshake_timeout is not None:
            raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
        if ssl_shutdown_timeout is not None:
            raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")

    if path is not None:
        if sock is not None:
            raise ValueError("path and sock can not be specified at the same time")
        path = os.fspath(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
        try:
            sock.setblocking(False)
            await connect_socket(self, sock, path)
        except BaseException:
            sock.close()
            raise
        owns_socket = True
    else:
        if sock is None:
            raise ValueError("no path and sock were specified")
        check_unix_stream_socket(sock)
        check_not_ssl_socket(sock)
        owns_socket = False

    transport, protocol = await wire_stream(
        self,
        sock,
        protocol_factory,
        ssl,
        server_hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        owns_socket=owns_socket,
    )
    if self.get_debug():
        logger.debug("%r connected to %r: (%r, %r)", sock, path, transport, protocol)
    return transport, protocol
