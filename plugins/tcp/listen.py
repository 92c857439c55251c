"""``create_server``: bind listening sockets and wrap them in a :class:`Server`.

``host`` may be None or ``''`` (every interface), a name or address, or a
sequence of them; every distinct address they resolve to gets its own
socket. IPv6 sockets are made IPv6-only, so that an IPv4 socket on the same
port can coexist (Linux otherwise makes them dual-stack).

What it must never do: leave a socket open when binding any of them fails.
"""

from __future__ import annotations

import asyncio
import collections.abc
import errno
import itertools
import os
import socket
import sys
from asyncio.log import logger
from collections.abc import Callable
from typing import Any

from loopkit.plugin import Server, check_not_ssl_socket
from loopkit.plugins.tcp.addresses import AddrInfo, resolve

_HAS_IPV6 = hasattr(socket, "AF_INET6")


def _set_reuse_port(sock: socket.socket) -> None:
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("reuse_port not supported by socket module")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    except OSError:
        raise ValueError(
            "reuse_port not supported by socket module, SO_REUSEPORT defined but not implemented."
        ) from None


async def _resolve_host(loop: Any, host: Any, port: Any, family: int, flags: int) -> list[AddrInfo]:
    infos = await resolve(loop, (host, port), family=family, type=socket.SOCK_STREAM, flags=flags)
    if not infos:
        raise OSError(f"getaddrinfo({host!r}) returned empty list")
    return infos


def _bind_all(
    loop: Any,
    infos: list[AddrInfo],
    reuse_address: bool,
    reuse_port: bool | None,
    keep_alive: bool | None,
) -> list[socket.socket]:
    sockets: list[socket.socket] = []
    completed = False
    try:
        for family, socktype, proto, _, address in infos:
            try:
                sock = socket.socket(family, socktype, proto)
            except OSError:
                # An address family this host cannot make sockets for.
                if loop.get_debug():
                    logger.warning(
                        "create_server() failed to create socket.socket(%r, %r, %r)",
                        family,
                        socktype,
                        proto,
                        exc_info=True,
                    )
                continue
            sockets.append(sock)
            if reuse_address:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
            if reuse_port:
                _set_reuse_port(sock)
            if keep_alive:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, True)
            if _HAS_IPV6 and family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, True)
            try:
                sock.bind(address)
            except OSError as err:
                reason = (err.strerror or str(err)).lower()
                message = f"error while attempting to bind on address {address!r}: {reason}"
                if sys.version_info >= (3, 13) and err.errno == errno.EADDRNOTAVAIL:
                    # That family is not enabled here; the others may still serve.
                    sockets.pop()
                    sock.close()
                    if loop.get_debug():
                        logger.warning(message)
                    continue
                raise OSError(err.errno, message) from None
        if not sockets and sys.version_info >= (3, 13):
            raise OSError(f"could not bind on any address out of {[i[4] for i in infos]!r}")
        completed = True
    finally:
        if not completed:
            for sock in sockets:
                sock.close()
    return sockets


async def _create_server(
    self: Any,
    protocol_factory: Callable[[], Any],
    host: Any = None,
    port: Any = None,
    *,
    family: int = socket.AF_UNSPEC,
    flags: int = socket.AI_PASSIVE,
    sock: socket.socket | None = None,
    backlog: int = 100,
    ssl: Any = None,
    reuse_address: bool | None = None,
    reuse_port: bool | None = None,
    keep_alive: bool | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    start_serving: bool = True,
) -> Server:
    if isinstance(ssl, bool):
        raise TypeError("ssl argument must be an SSLContext or None")
    if ssl_handshake_timeout is not None and ssl is None:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if ssl_shutdown_timeout is not None and ssl is None:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
    if sock is not None:
        check_not_ssl_socket(sock)

    if host is not None or port is not None:
        if sock is not None:
            raise ValueError("host/port and sock can not be specified at the same time")
        if reuse_address is None:
            reuse_address = os.name == "posix" and sys.platform != "cygwin"
        if host == "":
            hosts: Any = [None]
        elif isinstance(host, str) or not isinstance(host, collections.abc.Iterable):
            hosts = [host]
        else:
            hosts = host
        answers = await asyncio.gather(
            *[_resolve_host(self, one, port, family, flags) for one in hosts]
        )
        # One socket per distinct address, in the order they were found.
        infos = list(dict.fromkeys(itertools.chain.from_iterable(answers)))
        sockets = _bind_all(self, infos, reuse_address, reuse_port, keep_alive)
    else:
        if sock is None:
            raise ValueError("Neither host/port nor sock were specified")
        if sock.type != socket.SOCK_STREAM:
            raise ValueError(f"A Stream Socket was expected, got {sock!r}")
        sockets = [sock]

    for listener in sockets:
        listener.setblocking(False)
    server = Server(
        self,
        sockets,
        protocol_factory,
        ssl,
        backlog,
        ssl_handshake_timeout,
        ssl_shutdown_timeout,
    )
    if start_serving:
        server._start_serving()
        await asyncio.sleep(0)  # as asyncio: let the watchers settle first
    if self.get_debug():
        logger.info("%r is serving", server)
    return server


_DOC = """Listen for stream connections; return a :class:`Server`.

Each accepted connection gets a protocol from ``protocol_factory`` and a
stream transport (TLS when ``ssl`` is an SSLContext).
"""

if sys.version_info >= (3, 13):
    create_server = _create_server
else:

    async def create_server(  # type: ignore[misc]
        self: Any,
        protocol_factory: Callable[[], Any],
        host: Any = None,
        port: Any = None,
        *,
        family: int = socket.AF_UNSPEC,
        flags: int = socket.AI_PASSIVE,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: Any = None,
        reuse_address: bool | None = None,
        reuse_port: bool | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
    ) -> Server:
        return await _create_server(
            self,
            protocol_factory,
            host,
            port,
            family=family,
            flags=flags,
            sock=sock,
            backlog=backlog,
            ssl=ssl,
            reuse_address=reuse_address,
            reuse_port=reuse_port,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            start_serving=start_serving,
        )


create_server.__doc__ = _DOC
_create_server.__doc__ = _DOC
