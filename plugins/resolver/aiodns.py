"""The ``aiodns`` resolver backend: c-ares (through aiodns) instead of a thread per lookup.

Chosen with ``resolver="aiodns"`` / ``LOOPKIT_RESOLVER=aiodns``; available
when ``aiodns`` imports (``pip install 'loopkit-asyncio[aiodns]'``). It is what
aiohttp's ``AsyncResolver`` uses: lookups do not queue behind blocking work
in the default executor, and a burst of them does not start a burst of
threads.

It answers like :func:`socket.getaddrinfo` and :func:`socket.getnameinfo`:
the same five-tuples (enum family and type, the protocol filled in for
stream and datagram sockets, the canonical name on the first entry with
``AI_CANONNAME``), the same numeric fast path as the threaded backend (no
lookup at all for IP literals), and :class:`socket.gaierror` with the
``EAI_*`` errno the C library would give. Two things c-ares cannot do go
to the threaded backend instead: service *names* as ports (c-ares takes
numbers only) and nothing else.

Differences that remain are c-ares's: it answers ``localhost`` with ``::1``
as well as ``127.0.0.1`` (RFC 6761) even where ``/etc/hosts`` lists only the
latter, and orders addresses by its own RFC 6724 sort.

What this module must never do: import aiodns before a loop uses it (the
threaded default must not pay for it), or keep a resolver past its loop.
"""

from __future__ import annotations

import functools
import socket
from typing import Any

from loopkit.plugin import ResolverInfo, existing_services, services
from loopkit.plugins.resolver import threaded

#: The per-loop state key of the loop's ``aiodns.DNSResolver``.
STATE_KEY = "resolver.aiodns"

# c-ares's AI_* flag values (ares.h), which are not the C library's.
_ARES_AI = {
    socket.AI_CANONNAME: 1 << 0,
    socket.AI_NUMERICHOST: 1 << 1,
    socket.AI_PASSIVE: 1 << 2,
    socket.AI_NUMERICSERV: 1 << 3,
    socket.AI_V4MAPPED: 1 << 4,
    socket.AI_ALL: 1 << 5,
    socket.AI_ADDRCONFIG: 1 << 6,
}

_DEFAULT_PROTOCOL = {socket.SOCK_STREAM: socket.IPPROTO_TCP, socket.SOCK_DGRAM: socket.IPPROTO_UDP}
_ALL_KINDS = (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW)

# The C library's texts for the EAI_* codes (glibc's gai_strerror).
_EAI_TEXT = {
    socket.EAI_BADFLAGS: "Bad value for ai_flags",
    socket.EAI_NONAME: "Name or service not known",
    socket.EAI_AGAIN: "Temporary failure in name resolution",
    socket.EAI_FAIL: "Non-recoverable failure in name resolution",
    socket.EAI_FAMILY: "ai_family not supported",
    socket.EAI_SERVICE: "Servname not supported for ai_socktype",
    socket.EAI_MEMORY: "Memory allocation failure",
}
_EAI_NODATA = getattr(socket, "EAI_NODATA", socket.EAI_NONAME)
_EAI_TEXT.setdefault(_EAI_NODATA, "No address associated with hostname")


@functools.cache
def is_available() -> bool:
    """Whether aiodns (and so pycares) imports here. Asked only when it matters."""
    try:
        import aiodns  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _gai_errnos() -> dict[int, int]:
    """c-ares status codes to the EAI_* codes the C library gives for the same failure."""
    from pycares import errno as ares

    return {
        ares.ARES_ENOTFOUND: socket.EAI_NONAME,
        ares.ARES_ENONAME: socket.EAI_NONAME,
        ares.ARES_EBADNAME: socket.EAI_NONAME,
        ares.ARES_ENODATA: _EAI_NODATA,
        ares.ARES_EBADFAMILY: socket.EAI_FAMILY,
        ares.ARES_EBADFLAGS: socket.EAI_BADFLAGS,
        ares.ARES_EBADHINTS: socket.EAI_BADFLAGS,
        ares.ARES_ESERVICE: socket.EAI_SERVICE,
        ares.ARES_ENOMEM: socket.EAI_MEMORY,
        ares.ARES_ETIMEOUT: socket.EAI_AGAIN,
        ares.ARES_ECONNREFUSED: socket.EAI_AGAIN,
        ares.ARES_ESERVFAIL: socket.EAI_AGAIN,
        ares.ARES_EREFUSED: socket.EAI_AGAIN,
    }


def _gaierror(status: int) -> socket.gaierror:
    code = _gai_errnos().get(status, socket.EAI_FAIL)
    return socket.gaierror(code, _EAI_TEXT.get(code, "Non-recoverable failure in name resolution"))


def _resolver(loop: Any) -> Any:
    """This loop's ``aiodns.DNSResolver``, made on first use and closed with the loop."""

    def make() -> Any:
        import aiodns

        return aiodns.DNSResolver(loop=loop)

    return services(loop).state(STATE_KEY, make)


def close(loop: Any) -> None:
    """Close ``loop``'s resolver, if it made one (from the plugin's closing hook).

    ``DNSResolver.close()`` is a coroutine that never waits; it is stepped
    here directly because the loop is closing and cannot run it.
    """
    kernel_services = existing_services(loop)
    resolver = None if kernel_services is None else kernel_services.peek_state(STATE_KEY)
    if resolver is None:
        return
    closing = resolver.close()
    try:
        closing.send(None)
    except StopIteration:
        pass
    else:  # pragma: no cover - a future aiodns whose close() waits
        closing.close()


def _host_text(host: str | bytes) -> str:
    """The host as c-ares wants it: ASCII, IDNA-encoded as the socket module does."""
    if isinstance(host, bytes):
        return host.decode("ascii")
    return host.encode("idna").decode("ascii")


def _ares_flags(flags: int) -> int:
    return sum(value for flag, value in _ARES_AI.items() if flags & flag)


def _enum(converter: Any, value: int) -> Any:
    try:
        return converter(value)
    except ValueError:
        return value


def _tuples(result: Any, host: str, type: int, proto: int, flags: int) -> list[tuple[Any, ...]]:
    """c-ares's answer in the shape of :func:`socket.getaddrinfo`'s."""
    entries: list[tuple[Any, ...]] = []
    canonical = ""
    if flags & socket.AI_CANONNAME:
        canonical = result.cnames[0].name if result.cnames else host
    for node in result.nodes:
        address, port, *rest = node.addr
        if isinstance(address, bytes):
            address = address.decode("ascii")
        sockaddr = (address, port, *rest)
        if node.socktype:
            kinds = [node.socktype]
        elif type:
            kinds = [type]
        else:
            kinds = list(_ALL_KINDS)
        for kind in kinds:
            protocol = node.protocol or proto or _DEFAULT_PROTOCOL.get(kind, 0)
            entries.append(
                (
                    _enum(socket.AddressFamily, node.family),
                    _enum(socket.SocketKind, kind),
                    protocol,
                    "" if entries else canonical,
                    sockaddr,
                )
            )
    return entries


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
    """Resolve ``host``/``port`` like :func:`socket.getaddrinfo`, through c-ares."""
    threaded.check_port(port)
    if threaded.answers_without_lookup(host, port):
        return threaded.numeric_getaddrinfo(host, port, family, type, proto, flags)
    if not threaded.is_numeric_port(port):
        # A service name: c-ares takes port numbers only.
        return await threaded.getaddrinfo(
            self, host, port, family=family, type=type, proto=proto, flags=flags
        )
    if family not in (socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6):
        raise socket.gaierror(socket.EAI_FAMILY, _EAI_TEXT[socket.EAI_FAMILY])
    name = _host_text(host)
    number = None if port is None else int(port)
    import aiodns

    try:
        result = await _resolver(self).getaddrinfo(
            name, family=family, port=number, proto=proto, type=type, flags=_ares_flags(flags)
        )
    except aiodns.error.DNSError as exc:
        raise _gaierror(exc.args[0]) from None
    return _tuples(result, name, type, proto, flags)


_NI_PAIRS = (
    ("NI_NUMERICHOST", "ARES_NI_NUMERICHOST"),
    ("NI_NUMERICSERV", "ARES_NI_NUMERICSERV"),
    ("NI_NOFQDN", "ARES_NI_NOFQDN"),
    ("NI_NAMEREQD", "ARES_NI_NAMEREQD"),
    ("NI_DGRAM", "ARES_NI_DGRAM"),
)


def _ares_ni_flags(flags: int) -> int:
    import pycares

    result = int(pycares.ARES_NI_LOOKUPHOST | pycares.ARES_NI_LOOKUPSERVICE)
    for ours, theirs in _NI_PAIRS:
        if flags & getattr(socket, ours):
            result |= int(getattr(pycares, theirs))
    return result


async def getnameinfo(self: Any, sockaddr: tuple[Any, ...], flags: int = 0) -> tuple[str, str]:
    """Reverse-resolve ``sockaddr`` like :func:`socket.getnameinfo`, through c-ares."""
    if flags & threaded.NUMERIC_NAMEINFO == threaded.NUMERIC_NAMEINFO:
        return socket.getnameinfo(sockaddr, flags)
    import aiodns

    try:
        result = await _resolver(self).getnameinfo(sockaddr, _ares_ni_flags(flags))
    except aiodns.error.DNSError as exc:
        raise _gaierror(exc.args[0]) from None
    return result.node, result.service or str(sockaddr[1])


INFO = ResolverInfo(
    name="aiodns",
    getaddrinfo=getaddrinfo,
    getnameinfo=getnameinfo,
    priority=10,
    is_available=is_available,
    description="c-ares through aiodns: no thread per lookup",
    install_hint="it needs the aiodns package: pip install 'loopkit-asyncio[aiodns]'",
)
