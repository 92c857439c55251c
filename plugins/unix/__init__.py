"""The unix plugin: stream connections and servers over Unix-domain sockets.

It adds ``create_unix_connection`` and ``create_unix_server`` to the loop.
Everything past the socket itself is shared with any stream family
(:mod:`loopkit.transports`): the stream transport, the TLS wiring and the
Server (subclassed only to remove the socket file when the server closes, on
Python 3.13+ as asyncio does). It needs no other family: a loop made with
``exclude=["tcp"]`` keeps it. The modules:

* :mod:`~loopkit.plugins.unix.paths`: socket-file handling (stale files,
  abstract addresses, removing our own file and nothing else);
* :mod:`~loopkit.plugins.unix.connect`: create_unix_connection;
* :mod:`~loopkit.plugins.unix.server`: create_unix_server and UnixServer.

This module must never hold per-loop state: everything lives on the loop, the
servers or the transports.
"""

from __future__ import annotations

from typing import Any

from loopkit.plugin import hookimpl
from loopkit.plugins.unix import connect, server


@hookimpl
def loopkit_requires() -> list[str]:
    """start_tls on Unix connections is the tls plugin's (not tcp's)."""
    return ["tls"]


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop methods this plugin adds (read to explain them on loops without it)."""
    return [
        "create_unix_connection",
        "create_unix_server",
    ]


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """The Unix-socket part of the asyncio loop API."""
    return {
        "create_unix_connection": connect.create_unix_connection,
        "create_unix_server": server.create_unix_server,
    }
