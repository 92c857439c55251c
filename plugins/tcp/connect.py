"""Outgoing connections: ``create_connection`` and ``connect_accepted_socket``.

``create_connection`` resolves the host, then tries its addresses in order
(optionally interleaved by family), one at a time or, with
``happy_eyeballs_delay``, racing as RFC 8305 describes. When every attempt
fails, the errors are reported as asyncio reports them: the single error, or
one OSError naming them all, or (``all_errors=True``, Python 3.12+) an
ExceptionGroup holding every one.

What it must never do: leave a socket open after a failed or cancelled
attempt, or accept argument combinations asyncio refuses.
"""

from __future__ import annotations

import functools
import socket
import sys
from asyncio.log import logger
from collections.abc import Awaitable, Callable
from typing import Any

from loopkit.plugin import check_not_ssl_socket, connect_socket, wire_stream
from loopkit.plugins.tcp.addresses import AddrInfo, interleave, resolve


async def _connect_one(
    loop: Any,
    errors: list[OSError],
    addr_info: AddrInfo,
    local_infos: list[AddrInfo] | None,
) -> socket.socket:
    """Make, bind (to a local address of the same family) and connect one socket.

    Every OSError met on the way is appended to ``errors``.
    """
    family, type_, proto, _, address = addr_info
    sock = None
    try:
        sock = socket.socket(family=family, type=type_, proto=proto)
        sock.setblocking(False)
        if local_infos is not None:
            bind_errors: list[OSError] = []
            for lfamily, _, _, _, laddr in local_infos:
                if lfamily != family:
                    continue
                try:
                    sock.bind(laddr)
                    break
                except OSError as exc:
                    reason = (exc.strerror or str(exc)).lower()
                    bind_errors.append(
                        OSError(
                            exc.errno,
                            f"error while attempting to bind on address {laddr!r}: {reason}",
                        )
                    )
            else:
                if bind_errors:
                    errors.extend(bind_errors[:-1])
                    # Popped: a list in this frame must not hold the error
                    # whose traceback holds this frame.
                    raise bind_errors.pop()
                raise OSError(f"no matching local address with family={family!r} found")
        await connect_socket(loop, sock, address)
        return sock
    except OSError as exc:
        errors.append(exc)
        if sock is not None:
            sock.close()
        raise
    except BaseException:
        if sock is not None:
            sock.close()
        raise


def _combined_error(errors: list[OSError], all_errors: bool) -> BaseException:
    if all_errors:
        return ExceptionGroup("create_connection failed", errors)
    if len(errors) == 1:
        return errors[0]
    first = str(errors[0])
    if all(str(exc) == first for exc in errors):
        return errors[0]
    return OSError("Multiple exceptions: {}".format(", ".join(str(exc) for exc in errors)))


async def _open_socket(
    loop: Any,
    host: Any,
    port: Any,
    *,
    family: int,
    proto: int,
    flags: int,
    local_addr: Any,
    happy_eyeballs_delay: float | None,
    interleave_count: int | None,
    all_errors: bool,
) -> socket.socket:
    infos = await resolve(
        loop, (host, port), family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags
    )
    if not infos:
        raise OSError("getaddrinfo() returned empty list")
    local_infos = None
    if local_addr is not None:
        local_infos = await resolve(
            loop, local_addr, family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags
        )
        if not local_infos:
            raise OSError("getaddrinfo() returned empty list")
    if interleave_count:
        infos = interleave(infos, interleave_count)

    per_attempt: list[list[OSError]] = [[] for _ in infos]
    flat: list[OSError] = []
    sock: socket.socket | None = None
    try:
        if happy_eyeballs_delay is None:
            for errors, info in zip(per_attempt, infos, strict=True):
                try:
                    sock = await _connect_one(loop, errors, info, local_infos)
                    break
                except OSError:
                    continue
        else:
            # Only a Happy Eyeballs connection needs the race: imported here.
            from loopkit.plugins.tcp.eyeballs import staggered_race

            attempts: list[Callable[[], Awaitable[socket.socket]]] = [
                functools.partial(_connect_one, loop, errors, info, local_infos)
                for errors, info in zip(per_attempt, infos, strict=True)
            ]
            sock = await staggered_race(loop, attempts, happy_eyeballs_delay, socket.socket.close)
        if sock is None:
            flat.extend(exc for errors in per_attempt for exc in errors)
            if not flat:  # every attempt ended without an OSError (cannot normally happen)
                flat.append(OSError("create_connection failed"))
            raise _combined_error(flat, all_errors)
        return sock
    finally:
        # The errors' tracebacks hold the frames of the attempts and this
        # one, whose locals are these lists: emptied, they close no cycle
        # (error -> traceback -> frame -> list -> error), so an error the
        # caller keeps holds nothing else alive and the rest is freed at
        # once, not by the garbage collector (as asyncio since
        # python/cpython#124859).
        for errors in per_attempt:
            errors.clear()
        flat.clear()


async def _create_connection(
    self: Any,
    protocol_factory: Callable[[], Any],
    host: Any = None,
    port: Any = None,
    *,
    ssl: Any = None,
    family: int = 0,
    proto: int = 0,
    flags: int = 0,
    sock: socket.socket | None = None,
    local_addr: Any = None,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
    happy_eyeballs_delay: float | None = None,
    interleave: int | None = None,
    all_errors: bool = False,
) -> tuple[Any, Any]:
    if server_hostname is not None and not ssl:
        raise ValueError("server_hostname is only meaningful with ssl")
    if server_hostname is None and ssl:
        # Check the certificate against the host we connect to; '' disables it.
        if not host:
            raise ValueError("You must set server_hostname when using ssl without a host")
        server_hostname = host
    if ssl_handshake_timeout is not None and not ssl:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if ssl_shutdown_timeout is not None and not ssl:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
    if sock is not None:
        check_not_ssl_socket(sock)
    if happy_eyeballs_delay is not None and interleave is None:
        interleave = 1  # RFC 8305 default: alternate families from the start

    if host is not None or port is not None:
        if sock is not None:
            raise ValueError("host/port and sock can not be specified at the same time")
        sock = await _open_socket(
            self,
            host,
            port,
            family=family,
            proto=proto,
            flags=flags,
            local_addr=local_addr,
            happy_eyeballs_delay=happy_eyeballs_delay,
            interleave_count=interleave,
            all_errors=all_errors,
        )
    else:
        if sock is None:
            raise ValueError("host and port was not specified and no sock specified")
        if sock.type != socket.SOCK_STREAM:
            raise ValueError(f"A Stream Socket was expected, got {sock!r}")

    transport, protocol = await wire_stream(
        self,
        sock,
        protocol_factory,
        ssl,
        server_hostname,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        owns_socket=host is not None or port is not None,
    )
    if self.get_debug():
        logger.debug("%r connected to %s:%r: (%r, %r)", sock, host, port, transport, protocol)
    return transport, protocol


if sys.version_info >= (3, 12):
    create_connection = _create_connection
else:

    async def create_connection(  # type: ignore[misc]
        self: Any,
        protocol_factory: Callable[[], Any],
        host: Any = None,
        port: Any = None,
        *,
        ssl: Any = None,
        family: int = 0,
        proto: int = 0,
        flags: int = 0,
        sock: socket.socket | None = None,
        local_addr: Any = None,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        happy_eyeballs_delay: float | None = None,
        interleave: int | None = None,
    ) -> tuple[Any, Any]:
        return await _create_connection(
            self,
            protocol_factory,
            host,
            port,
            ssl=ssl,
            family=family,
            proto=proto,
            flags=flags,
            sock=sock,
            local_addr=local_addr,
            server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            happy_eyeballs_delay=happy_eyeballs_delay,
            interleave=interleave,
        )


_DOC = """Connect to a stream server; return ``(transport, protocol)``.

Without ``sock``, ``host``/``port`` are resolved and the addresses tried in
order (alternating families with ``interleave``; racing with
``happy_eyeballs_delay``). ``ssl`` (True or an SSLContext) wraps the
connection in TLS, checking the certificate against ``server_hostname``
(default: ``host``; ``''`` turns the check off).
"""
create_connection.__doc__ = _DOC
_create_connection.__doc__ = _DOC


async def connect_accepted_socket(
    self: Any,
    protocol_factory: Callable[[], Any],
    sock: socket.socket,
    *,
    ssl: Any = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
) -> tuple[Any, Any]:
    """Wrap a connection accepted outside asyncio in a transport (server side)."""
    if sock.type != socket.SOCK_STREAM:
        raise ValueError(f"A Stream Socket was expected, got {sock!r}")
    if ssl_handshake_timeout is not None and not ssl:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if ssl_shutdown_timeout is not None and not ssl:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
    check_not_ssl_socket(sock)
    transport, protocol = await wire_stream(
        self,
        sock,
        protocol_factory,
        ssl,
        "",
        server_side=True,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
    )
    if self.get_debug():
        logger.debug("%r handled: (%r, %r)", sock, transport, protocol)
    return transport, protocol
