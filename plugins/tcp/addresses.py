"""Address helpers for the tcp family: resolving and ordering address lists.

What it must never do: block (lookups go through ``loop.getaddrinfo``, which
answers numeric addresses at once and runs real lookups in the executor).
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Sequence
from typing import Any

AddrInfo = tuple[Any, ...]  # (family, type, proto, canonname, sockaddr)


async def resolve(
    loop: Any,
    address: Sequence[Any],
    *,
    family: int = 0,
    type: int = socket.SOCK_STREAM,
    proto: int = 0,
    flags: int = 0,
) -> list[AddrInfo]:
    """getaddrinfo for a ``(host, port[, flowinfo, scope_id])`` address.

    IPv6 flowinfo and scope id given by the caller are kept in the answers,
    as asyncio keeps them.
    """
    host, port = address[0], address[1]
    infos: list[AddrInfo] = await loop.getaddrinfo(
        host, port, family=family, type=type, proto=proto, flags=flags
    )
    extra = tuple(address[2:])
    if extra:
        infos = [
            (fam, typ, pro, canon, (sa[0], sa[1], *extra) if fam == socket.AF_INET6 else sa)
            for fam, typ, pro, canon, sa in infos
        ]
    return infos


def interleave(infos: Sequence[AddrInfo], first_family_count: int = 1) -> list[AddrInfo]:
    """Reorder addresses so families alternate (RFC 8305, section 4).

    The first ``first_family_count`` addresses of the first family come first;
    after them the families take turns, each keeping its own order.
    """
    by_family: dict[int, list[AddrInfo]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    queues = list(by_family.values())
    ordered: list[AddrInfo] = []
    if first_family_count > 1 and queues:
        head = queues[0][: first_family_count - 1]
        ordered.extend(head)
        queues[0] = queues[0][len(head) :]
    for group in itertools.zip_longest(*queues):
        ordered.extend(info for info in group if info is not None)
    return ordered
