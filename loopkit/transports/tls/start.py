"""``loop.start_tls``: upgrade an open stream connection to TLS.

The function takes the loop as its first argument so the tcp plugin can offer
it unchanged as a loop method (``{"start_tls": start_tls}`` from its
``loopkit_loop_methods`` hook). It only rearranges protocols on an existing
transport; it must never create, read or write a socket itself.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import cast

from loopkit.transports.tls.layer import TLSProtocol

__all__ = ["start_tls"]


async def start_tls(
    self: asyncio.AbstractEventLoop,
    transport: asyncio.BaseTransport,
    protocol: asyncio.BaseProtocol,
    sslcontext: ssl.SSLContext,
    *,
    server_side: bool = False,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
) -> asyncio.Transport | None:
    """Put a TLS layer under ``protocol`` on ``transport`` and return the
    transport ``protocol`` must use from now on.

    ``protocol`` keeps its connection (it is not told connection_made again).
    Reading is paused while the protocols are switched, so no byte that the
    peer sends right after its hello can reach the old protocol. If the
    handshake fails or the caller is cancelled, ``transport`` is closed and
    the error propagates.

    None, as asyncio returns it (and HTTP clients check for it), when the
    connection is gone without an error by the time this returns: the
    transport was closing or closed already, or it was closed or aborted
    during the handshake. A peer that leaves during the handshake is an
    error (ConnectionResetError), as in asyncio.
    """
    if not isinstance(sslcontext, ssl.SSLContext):
        raise TypeError(
            f"sslcontext is expected to be an instance of ssl.SSLContext, got {sslcontext!r}"
        )
    if not getattr(transport, "_start_tls_compatible", False):
        raise TypeError(f"transport {transport!r} is not supported by start_tls()")
    stream = cast(asyncio.Transport, transport)
    if stream.is_closing():
        # No handshake can reach the peer. asyncio returns None once the
        # close is reported (through its TLS layer, which tells the protocol);
        # on a transport closed already it would wait for ever. Here the
        # transport tells the protocol itself, as it would have anyway.
        return None

    waiter: asyncio.Future[None] = self.create_future()
    tls = TLSProtocol(
        self,
        protocol,
        sslcontext,
        waiter,
        server_side,
        server_hostname,
        call_connection_made=False,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
    )
    # Held from now on: the layer keeps its application transport only
    # weakly once the connection is lost.
    app_transport = tls.get_app_transport()
    # Until the TLS layer has the transport, nothing may be read: paused
    # now, resumed only after connection_made has run (both call_soon, so
    # in that order).
    stream.pause_reading()
    stream.set_protocol(tls)
    made = self.call_soon(tls.connection_made, stream)
    resumed = self.call_soon(stream.resume_reading)
    try:
        await waiter
    except BaseException:
        stream.close()
        made.cancel()
        resumed.cancel()
        raise
    if tls.connection_is_lost():
        return None
    return app_transport
