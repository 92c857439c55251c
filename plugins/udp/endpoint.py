"""``loop.create_datagram_endpoint``: opening the socket and wrapping it in a transport.

The argument checks and the order of operations follow asyncio 3.11-3.13:
``sock`` excludes every socket modifier; without addresses a family is
required; AF_UNIX addresses are ``str`` paths (a stale socket file at
``local_addr`` is removed first, any other file is left alone and bind
fails, and the file is *not* removed on close, as in asyncio); other
addresses are ``(host, port)`` pairs resolved through ``loop.getaddrinfo``
(numeric hosts need no lookup), and the first (family, proto) pair for
which both given addresses resolved is tried first. ``reuse_address`` is not
a parameter (asyncio 3.11+ removed it: passing it is a TypeError).

Connecting a datagram socket never waits for the network (the kernel only
records the peer), so ``remote_addr`` is connected directly, without the tcp
plugin's ``sock_connect``.

What it must never do: leave a socket open when it fails, or block.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
from asyncio.log import logger
from typing import Any

from loopkit.plugin import DatagramTransport, services

_HAS_AF_UNIX = hasattr(socket, "AF_UNIX")


def _check_given_sock(sock: Any) -> None:
    """Refuse a stream socket (3.13+) or anything but SOCK_DGRAM (3.11, 3.12)."""
    if sys.version_info >= (3, 13):
        if sock.type == socket.SOCK_STREAM:
            raise ValueError(f"A datagram socket was expected, got {sock!r}")
    elif sock.type != socket.SOCK_DGRAM:
        raise ValueError(f"A UDP Socket was expected, got {sock!r}")


def _set_reuse_port(sock: socket.socket) -> None:
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("reuse_port not supported by socket module")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    except OSError:
        raise ValueError(
            "reuse_port not supported by socket module, SO_REUSEPORT defined but not implemented."
        ) from None


def _remove_stale_unix_socket(path: str) -> None:
    """Remove ``path`` if it is a socket file left by an earlier endpoint."""
    if path[:1] == "\0":  # Linux abstract namespace: no file
        return
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        # The directory may allow creating a socket but not inspecting it;
        # bind() will tell.
        logger.error("Unable to check or remove stale UNIX socket %r: %r", path, err)


AddrPair = tuple[tuple[int, int], tuple[Any, Any]]


async def _address_pairs(
    loop: Any,
    local_addr: Any,
    remote_addr: Any,
    family: int,
    proto: int,
    flags: int,
) -> list[AddrPair]:
    """The (family, proto) and (local, remote) combinations to try, in order."""
    if not (local_addr or remote_addr):
        if family == 0:
            raise ValueError("unexpected address family")
        return [((family, proto), (None, None))]
    if _HAS_AF_UNIX and family == socket.AF_UNIX:
        for addr in (local_addr, remote_addr):
            if addr is not None and not isinstance(addr, str):
                raise TypeError("string is expected")
        if local_addr:  # in a helper thread: the loop thread never touches the disk
            await services(loop).off_loop(_remove_stale_unix_socket, local_addr)
        return [((family, proto), (local_addr, remote_addr))]
    by_key: dict[tuple[int, int], list[Any]] = {}
    for index, addr in ((0, local_addr), (1, remote_addr)):
        if addr is None:
            continue
        if not (isinstance(addr, tuple) and len(addr) == 2):
            raise TypeError("2-tuple is expected")
        infos = await loop.getaddrinfo(
            addr[0], addr[1], family=family, type=socket.SOCK_DGRAM, proto=proto, flags=flags
        )
        if not infos:
            raise OSError("getaddrinfo() returned empty list")
        for fam, _, pro, _, sockaddr in infos:
            pair = by_key.setdefault((fam, pro), [None, None])
            if pair[index] is None:
                pair[index] = sockaddr
    pairs: list[AddrPair] = [
        (key, (pair[0], pair[1]))
        for key, pair in by_key.items()
        if not ((local_addr and pair[0] is None) or (remote_addr and pair[1] is None))
    ]
    if not pairs:
        raise ValueError("can not get address information")
    return pairs


def _open_socket(
    key: tuple[int, int],
    local: Any,
    remote: Any,
    reuse_port: bool | None,
    allow_broadcast: bool | None,
) -> socket.socket:
    """A bound (and, unless broadcasting, connected) non-blocking socket."""
    family, proto = key
    sock = socket.socket(family=family, type=socket.SOCK_DGRAM, proto=proto)
    try:
        if reuse_port:
            _set_reuse_port(sock)
        if allow_broadcast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setblocking(False)
        if local:
            sock.bind(local)
        if remote and not allow_broadcast:
            sock.connect(remote)
    except BaseException:
        sock.close()
        raise
    return sock


async def create_datagram_endpoint(
    self: Any,
    protocol_factory: Any,
    local_addr: Any = None,
    remote_addr: Any = None,
    *,
    family: int = 0,
    proto: int = 0,
    flags: int = 0,
    reuse_port: bool | None = None,
    allow_broadcast: bool | None = None,
    sock: Any = None,
) -> tuple[DatagramTransport, Any]:
    """Open a datagram endpoint; return ``(transport, protocol)``.

    ``local_addr`` is bound, ``remote_addr`` connected (with
    ``allow_broadcast``, remembered as the default destination instead).
    Or pass a ready ``sock``, alone. Returns once ``connection_made`` ran.
    """
    r_addr: Any = None
    if sock is not None:
        _check_given_sock(sock)
        if local_addr or remote_addr or family or proto or flags or reuse_port or allow_broadcast:
            given = {
                "local_addr": local_addr,
                "remote_addr": remote_addr,
                "family": family,
                "proto": proto,
                "flags": flags,
                "reuse_port": reuse_port,
                "allow_broadcast": allow_broadcast,
            }
            problems = ", ".join(f"{name}={value}" for name, value in given.items() if value)
            raise ValueError(
                "socket modifier keyword arguments can not be used "
                f"when sock is specified. ({problems})"
            )
        sock.setblocking(False)
    else:
        pairs = await _address_pairs(self, local_addr, remote_addr, family, proto, flags)
        errors: list[OSError] = []
        for key, (local, remote) in pairs:
            try:
                sock = _open_socket(key, local, remote, reuse_port, allow_broadcast)
            except OSError as exc:
                errors.append(exc)
                continue
            if remote_addr:
                r_addr = remote
            break
        else:
            try:
                raise errors[0]
            finally:
                errors.clear()  # no reference cycle through the tracebacks

    try:
        protocol = protocol_factory()
        waiter = self.create_future()
        transport = DatagramTransport(self, sock, protocol, r_addr, waiter)
    except BaseException:
        sock.close()
        raise
    if self.get_debug():
        if local_addr:
            logger.info(
                "Datagram endpoint local_addr=%r remote_addr=%r created: (%r, %r)",
                local_addr,
                remote_addr,
                transport,
                protocol,
            )
        else:
            logger.debug(
                "Datagram endpoint remote_addr=%r created: (%r, %r)",
                remote_addr,
                transport,
                protocol,
            )
    try:
        await waiter
    except BaseException:
        transport.close()
        raise
    return transport, protocol
