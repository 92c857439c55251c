"""The TLS layer: TLS over any stream transport, of any family.

One layer serves tcp, unix and a third party's stream family alike: it is a
protocol that sits on a plain stream transport and gives the application a
transport of its own. Importing this package imports nothing that asyncio
has not (not even :mod:`ssl`); the modules:

* ``layer``: ``TLSProtocol``, the layer
  itself (handshake, encryption, shutdown, flow control both ways);
* ``apptransport``: ``SSLAppTransport``,
  the transport the application sees;
* ``support``: constants and small helpers
  (defaults, the per-loop decryption buffer, decrypting into it);
* ``start``: ``loop.start_tls``, upgrading an
  open stream connection (:func:`start_tls`, here, is the loop method; it
  imports ``start`` on its first call).

Plugging the layer into a new connection is
:mod:`loopkit.transports.wiring`'s job, which imports the layer's modules
only when TLS is asked for. :func:`start_tls` lives here, not in ``wiring``,
so that the tls plugin does not import the stream transport.
"""

from __future__ import annotations

from asyncio import protocols
from typing import Any


async def start_tls(
    self: Any,
    transport: Any,
    protocol: protocols.BaseProtocol,
    sslcontext: Any,
    *,
    server_side: bool = False,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
) -> Any:
    """Upgrade ``transport`` to TLS; return the new transport ``protocol`` must use
    (None, as in asyncio, when the connection is gone without an error).

    Reading on the old transport is paused until the TLS layer is in place,
    so no plain bytes reach it before ``connection_made``. If the handshake
    fails (or this call is cancelled) the transport is closed. The work is
    ``loopkit.transports.tls.start.start_tls``, imported only now so
    that plain TCP never imports :mod:`ssl`.
    """
    from loopkit.transports.tls.start import start_tls as tls_start_tls

    return await tls_start_tls(
        self,
        transport,
        protocol,
        sslcontext,
        server_side=server_side,
        server_hostname=server_hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
    )
