"""The tcp plugin: stream connections and servers, TLS wiring, sendfile, sock_* calls.

The loop methods it contributes are plain functions taking the loop as
``self``; assembly binds them into the loop class. The modules:

* :mod:`~loopkit.plugins.tcp.stream_transport`: the stream transport (shared
  with the unix family);
* :mod:`~loopkit.plugins.tcp.connect`: create_connection, connect_accepted_socket;
* :mod:`~loopkit.plugins.tcp.listen` and :mod:`~loopkit.plugins.tcp.server`:
  create_server and the Server object;
* :mod:`~loopkit.plugins.tcp.sockcalls`: sock_recv, sock_sendall, ...;
* :mod:`~loopkit.plugins.tcp.sendfile`: sendfile and sock_sendfile;
* :mod:`~loopkit.plugins.tcp.tlswire`: plugging the TLS layer in, start_tls.

This module must never hold per-loop state: everything lives on the loop
(the shared receive buffer is ``_stream_receive_buffer``, the TLS layer's
decryption buffer ``_tls_scratch_buffer``) or the transports.
"""

from __future__ import annotations

from typing import Any

from loopkit.plugins import close_off_loop
from loopkit.plugins.tcp import connect, listen, sendfile, sockcalls, tlswire

from loopkit.core.hookspecs import hookimpl


@hookimpl
def loopkit_requires() -> list[str]:
    """Host names are resolved by the resolver plugin."""
    return ["resolver"]


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop methods this plugin adds (read to explain them on loops without it)."""
    return [
        "create_connection",
        "connect_accepted_socket",
        "create_server",
        "start_tls",
        "sendfile",
        "sock_sendfile",
        "sock_recv",
        "sock_recv_into",
        "sock_sendall",
        "sock_connect",
        "sock_accept",
    ]


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """The TCP part of the asyncio loop API, and the receive-buffer slot."""
    return {
        "_stream_receive_buffer": None,
        "_tls_scratch_buffer": None,
        "create_connection": connect.create_connection,
        "connect_accepted_socket": connect.connect_accepted_socket,
        "create_server": listen.create_server,
        "start_tls": tlswire.start_tls,
        "sendfile": sendfile.sendfile,
        "sock_sendfile": sendfile.sock_sendfile,
        "sock_recv": sockcalls.sock_recv,
        "sock_recv_into": sockcalls.sock_recv_into,
        "sock_sendall": sockcalls.sock_sendall,
        "sock_connect": sockcalls.sock_connect,
        "sock_accept": sockcalls.sock_accept,
    }


@hookimpl
def loopkit_loop_closing(loop: Any) -> None:
    """The helper threads (blocking calls kept off the loop thread) end with the loop."""
    close_off_loop(loop)
