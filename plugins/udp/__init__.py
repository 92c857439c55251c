"""The udp plugin: datagram endpoints (UDP over IPv4/IPv6, and AF_UNIX datagrams).

The loop methods it contributes are plain functions taking the loop as
``self``; assembly binds them into the loop class. The modules:

* :mod:`~loopkit.plugins.udp.endpoint`: ``create_datagram_endpoint``;
* :mod:`~loopkit.plugins.udp.sockcalls`: ``sock_sendto``, ``sock_recvfrom``,
  ``sock_recvfrom_into``.

The transport is :class:`loopkit.transports.datagram.DatagramTransport`,
shared with any datagram family. This module must never hold per-loop
state: the only per-loop object, the shared receive buffer, is the loop's
``datagram`` buffer of the kernel services and goes with the loop.
"""

from __future__ import annotations

from typing import Any

from loopkit.plugin import hookimpl
from loopkit.plugins.udp import endpoint, sockcalls


@hookimpl
def loopkit_requires() -> list[str]:
    """Host names in local_addr / remote_addr are resolved by the resolver plugin."""
    return ["resolver"]


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop methods this plugin adds (read to explain them on loops without it)."""
    return [
        "create_datagram_endpoint",
        "sock_sendto",
        "sock_recvfrom",
        "sock_recvfrom_into",
    ]


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """The datagram part of the asyncio loop API."""
    return {
        "create_datagram_endpoint": endpoint.create_datagram_endpoint,
        "sock_sendto": sockcalls.sock_sendto,
        "sock_recvfrom": sockcalls.sock_recvfrom,
        "sock_recvfrom_into": sockcalls.sock_recvfrom_into,
    }
