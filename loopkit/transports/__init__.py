"""Transport base classes and the shared transports, for every family.

A transport family (tcp, unix, udp, pipes, or a third party's) builds on
what is here instead of copying it:

* :mod:`~loopkit.transports.base`:
  :class:`~loopkit.transports.base.TransportBase`, the lifecycle every
  transport shares (protocol, extra info, close/abort with ``connection_lost``
  exactly once, fatal errors, fd ownership, the unclosed-transport warning);
* :mod:`~loopkit.transports.flowcontrol`:
  :class:`~loopkit.transports.flowcontrol.WriteFlowControl`, the water marks
  and ``pause_writing`` / ``resume_writing``;
* :mod:`~loopkit.transports.stream`:
  :class:`~loopkit.transports.stream.StreamTransport`, a connected stream
  socket of any address family;
* :mod:`~loopkit.transports.datagram`:
  :class:`~loopkit.transports.datagram.DatagramTransport`;
* :mod:`~loopkit.transports.pipes`, :mod:`~loopkit.transports.readpipe`,
  :mod:`~loopkit.transports.writepipe`: the pipe transports;
* :mod:`~loopkit.transports.server`: :class:`~loopkit.transports.server.Server`,
  listening sockets and accepting connections on them (any stream family);
* :mod:`~loopkit.transports.wiring`: a connected socket to a protocol, plain
  or through TLS;
* :mod:`~loopkit.transports.tls`: the one TLS layer, over any stream transport,
  and the ``start_tls`` loop method any stream family can offer;
* :mod:`~loopkit.transports.sockwait`: waiting for a socket to be ready
  (the ``sock_*`` calls' helpers), and refusing an ``ssl.SSLSocket``.

Plugins import these names from :mod:`loopkit.plugin`. Submodules are
imported on first use, so a trimmed loop loads only what its families use
(and plain TCP never imports :mod:`ssl`).

What this package must never do: hold a family's methods (``create_connection``
and the like stay in the family's plugin), or reach the kernel other than
through :func:`loopkit.plugin.services`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopkit.transports.base import TransportBase, wake_waiter
    from loopkit.transports.datagram import DatagramTransport
    from loopkit.transports.flowcontrol import DEFAULT_HIGH_WATER, WriteFlowControl, water_marks
    from loopkit.transports.pipes import PipeTransportBase, pipe_kind
    from loopkit.transports.readpipe import ReadPipeTransport
    from loopkit.transports.server import Server
    from loopkit.transports.sockwait import (
        TRY_AGAIN,
        check_not_ssl_socket,
        connect_socket,
        retry_when_ready,
        watched,
    )
    from loopkit.transports.stream import StreamTransport
    from loopkit.transports.tls import start_tls
    from loopkit.transports.wiring import make_transport, wire_stream
    from loopkit.transports.writepipe import WritePipeTransport

#: Public name -> the submodule that defines it.
EXPORTS: dict[str, str] = {
    "DEFAULT_HIGH_WATER": "flowcontrol",
    "DatagramTransport": "datagram",
    "PipeTransportBase": "pipes",
    "ReadPipeTransport": "readpipe",
    "Server": "server",
    "StreamTransport": "stream",
    "TRY_AGAIN": "sockwait",
    "TransportBase": "base",
    "WritePipeTransport": "writepipe",
    "WriteFlowControl": "flowcontrol",
    "check_not_ssl_socket": "sockwait",
    "connect_socket": "sockwait",
    "make_transport": "wiring",
    "pipe_kind": "pipes",
    "retry_when_ready": "sockwait",
    "start_tls": "tls",
    "wake_waiter": "base",
    "watched": "sockwait",
    "water_marks": "flowcontrol",
    "wire_stream": "wiring",
}

__all__ = [
    "DEFAULT_HIGH_WATER",
    "TRY_AGAIN",
    "DatagramTransport",
    "PipeTransportBase",
    "ReadPipeTransport",
    "Server",
    "StreamTransport",
    "TransportBase",
    "WriteFlowControl",
    "WritePipeTransport",
    "check_not_ssl_socket",
    "connect_socket",
    "make_transport",
    "pipe_kind",
    "retry_when_ready",
    "start_tls",
    "wake_waiter",
    "watched",
    "water_marks",
    "wire_stream",
]


def __getattr__(name: str) -> Any:
    module = EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next access is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(EXPORTS))
