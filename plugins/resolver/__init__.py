"""The resolver plugin: ``getaddrinfo`` and ``getnameinfo`` that never block the loop.

Names are looked up in the default executor, since the C library's resolver
blocks. Numeric hosts (IPv4 / IPv6 literals, or no host at all) with numeric
ports involve no lookup, so they are answered at once, on the loop, with
``AI_NUMERICHOST`` making sure the C library cannot go to the network.
"""

from __future__ import annotations

import socket
from typing import Any

from loopkit.core.hookspecs import hookimpl

_NUMERIC_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _is_ip_literal(host: str | bytes) -> bool:
    if isinstance(host, bytes):
        try:
            host = host.decode("idna")
        except UnicodeError:
            return False
    if "%" in host:  # scoped IPv6: the scope id may need an interface lookup
        return False
    for family in _NUMERIC_FAMILIES:
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return True
    return False


def _is_numeric_port(port: Any) -> bool:
    if port is None or isinstance(port, int):
        return True
    if isinstance(port, (str, bytes)):
        return port.isdigit()
    return False


def answers_without_lookup(host: Any, port: Any) -> bool:
    """True when getaddrinfo(host, port) needs no name service at all."""
    if not _is_numeric_port(port):
        return False
    return host is None or (isinstance(host, (str, bytes)) and _is_ip_literal(host))


async def getaddrinfo(
    self: Any,
    host: Any,
    port: Any,
    *,
    family: int = 0,
    type: int = 0,
    proto: int = 0,
    flags: int = 0,
) -> list[tuple[Any, ...]]:
    """Resolve ``host``/``port`` like :func:`socket.getaddrinfo`, without blocking."""
    if answers_without_lookup(host, port):
        numeric_flags = flags | socket.AI_NUMERICSERV
        if host is not None:
            numeric_flags |= socket.AI_NUMERICHOST
        return socket.getaddrinfo(host, port, family, type, proto, numeric_flags)
    return await self.run_in_executor(  # type: ignore[no-any-return]
        None, socket.getaddrinfo, host, port, family, type, proto, flags
    )


async def getnameinfo(self: Any, sockaddr: tuple[Any, ...], flags: int = 0) -> tuple[str, str]:
    """Reverse-resolve ``sockaddr`` like :func:`socket.getnameinfo`, without blocking."""
    numeric = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
    if flags & numeric == numeric:
        return socket.getnameinfo(sockaddr, flags)
    return await self.run_in_executor(  # type: ignore[no-any-return]
        None, socket.getnameinfo, sockaddr, flags
    )


@hookimpl
def loopkit_requires() -> list[str]:
    """Lookups run in the default executor."""
    return ["executor"]


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """The name-resolution part of the loop API."""
    return {"getaddrinfo": getaddrinfo, "getnameinfo": getnameinfo}
