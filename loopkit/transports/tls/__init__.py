"""The TLS layer: TLS over any stream transport, of any family.

One layer serves tcp, unix and a third party's stream family alike: it is a
protocol that sits on a plain stream transport and gives the application a
transport of its own. Importing this package imports nothing (not even
:mod:`ssl`); the modules:

* ``layer``: ``TLSProtocol``, the layer
  itself (handshake, encryption, shutdown, flow control both ways);
* ``apptransport``: ``SSLAppTransport``,
  the transport the application sees;
* ``support``: constants and small helpers
  (defaults, the per-loop decryption buffer, decrypting into it);
* ``start``: ``loop.start_tls``, upgrading an
  open stream connection.

Plugging the layer into a new connection is
:mod:`loopkit.transports.wiring`'s job, which imports this package only
when TLS is asked for.
"""
