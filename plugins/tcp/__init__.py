"""The tcp plugin: TCP connections and servers, sendfile, the stream sock_* calls.

The loop methods it contributes are plain functions taking the loop as
``self``; assembly binds them into the loop class. The modules:

* :mod:`~loopkit.plugins.tcp.connect`: create_connection (with
  :mod:`~loopkit.plugins.tcp.addresses` and the Happy Eyeballs race of
  :mod:`~loopkit.plugins.tcp.eyeballs`), connect_accepted_socket;
* :mod:`~loopkit.plugins.tcp.listen`: create_server;
* :mod:`~loopkit.plugins.tcp.sockcalls`: sock_recv, sock_sendall, ...;
* :mod:`~loopkit.plugins.tcp.sendfile`: sendfile and sock_sendfile.

The stream transport, the Server and the TLS layer are the shared ones of
:mod:`loopkit.transports` (the unix family and a third party's stream family
use the same), reached through :mod:`loopkit.plugin`; ``start_tls`` comes
from the tls plugin, which this one requires.

This module must never hold per-loop state: the shared buffers are the
loop's (kernel services), everything else the transports'.
"""

from __future__ import annotations

from typing import Any

from loopkit.plugin import hookimpl, lazy_method

#: The modules of the methods, each imported the first time a loop looks one of
#: its methods up: a program that only connects never imports the server's code.
_CONNECT = "loopkit.plugins.tcp.connect"
_LISTEN = "loopkit.plugins.tcp.listen"
_SENDFILE = "loopkit.plugins.tcp.sendfile"
_SOCKCALLS = "loopkit.plugins.tcp.sockcalls"


@hookimpl
def loopkit_requires() -> list[str]:
    """Host names are resolved by the resolver plugin; start_tls is the tls plugin's."""
    return ["resolver", "tls"]


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop methods this plugin adds (read to explain them on loops without it)."""
    return [
        "create_connection",
        "connect_accepted_socket",
        "create_server",
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
    """The TCP part of the asyncio loop API."""
    return {
        "create_connection": lazy_method(_CONNECT),
        "connect_accepted_socket": lazy_method(_CONNECT),
        "create_server": lazy_method(_LISTEN),
        "sendfile": lazy_method(_SENDFILE),
        "sock_sendfile": lazy_method(_SENDFILE),
        "sock_recv": lazy_method(_SOCKCALLS),
        "sock_recv_into": lazy_method(_SOCKCALLS),
        "sock_sendall": lazy_method(_SOCKCALLS),
        "sock_connect": lazy_method(_SOCKCALLS),
        "sock_accept": lazy_method(_SOCKCALLS),
    }
