"""Wiring a connected socket to a protocol, with or without a TLS layer.

The TLS layer itself lives in :mod:`loopkit.transports.tls` (a Protocol that
sits between the plain stream transport and the user's protocol). This module
only plugs it in: for new connections (``ssl=`` of create_connection,
create_server, connect_accepted_socket); ``loop.start_tls`` on an existing
transport is :func:`loopkit.transports.tls.start_tls`. It imports the TLS
layer (and with it :mod:`ssl`) only when TLS is actually asked for, so plain
TCP never pays for it.

What it must never do: implement any part of TLS, or leave a transport open
when the handshake it waited for failed.
"""

from __future__ import annotations

import socket
from asyncio import futures, protocols
from collections.abc import Callable
from typing import Any

from loopkit.transports.sockwait import check_not_ssl_socket
from loopkit.transports.stream import StreamTransport
from loopkit.transports.tls import start_tls

# Homes of their own (the tls plugin and the sock_* calls need them without
# the stream transport); still importable from here.
__all__ = ["check_not_ssl_socket", "make_transport", "start_tls", "wire_stream"]


def make_transport(
    loop: Any,
    sock: socket.socket,
    protocol: protocols.BaseProtocol,
    waiter: futures.Future[Any] | None,
    *,
    ssl: Any = None,
    server_side: bool = False,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    server: Any = None,
    extra: dict[str, Any] | None = None,
    transport_class: type[StreamTransport] = StreamTransport,
) -> Any:
    """Make the transport the user sees for ``sock``; ``waiter`` completes when it is ready.

    Without ``ssl`` that is a ``transport_class`` (a
    :class:`~loopkit.transports.stream.StreamTransport`,
    or a family's subclass of it). With it, that transport carries a TLS
    protocol, and the returned transport is the TLS layer's application
    transport; ``waiter`` then completes after the handshake (or fails with
    its error).
    """
    if not ssl:
        return transport_class(loop, sock, protocol, waiter, extra, server)
    from loopkit.transports.tls.layer import TLSProtocol  # type: ignore[import-not-found,unused-ignore]

    sslcontext = None if isinstance(ssl, bool) else ssl
    tls_proto = TLSProtocol(
        loop,
        protocol,
        sslcontext,
        waiter,
        server_side,
        server_hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
    )
    transport_class(loop, sock, tls_proto, None, extra, server)
    return tls_proto._app_transport


async def wire_stream(
    loop: Any,
    sock: socket.socket,
    protocol_factory: Callable[[], Any],
    ssl: Any,
    server_hostname: str | None,
    *,
    server_side: bool = False,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    owns_socket: bool = False,
    transport_class: type[StreamTransport] = StreamTransport,
) -> tuple[Any, Any]:
    """Build protocol and transport for a connected socket and wait until ready.

    Once the transport exists it owns the socket (closing it closes the
    socket). Before that, a socket we made ourselves (``owns_socket``) is
    closed here if the protocol factory or the transport fails.
    ``transport_class`` is the family's stream transport (see
    :func:`make_transport`).
    """
    sock.setblocking(False)
    waiter = loop.create_future()
    try:
        protocol = protocol_factory()
        transport = make_transport(
            loop,
            sock,
            protocol,
            waiter,
            ssl=ssl,
            server_side=server_side,
            server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            transport_class=transport_class,
        )
    except BaseException:
        if owns_socket:
            sock.close()
        raise
    try:
        await waiter
    except BaseException:
        transport.close()
        raise
    return transport, protocol
