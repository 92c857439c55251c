"""``create_seqpacket_connection``: connect to a seqpacket server by path.

Arguments are checked the way asyncio's ``create_unix_connection`` checks
them (the same exception classes, for the same mistakes): ``path`` and
``sock`` are exclusive, a ``path`` of the wrong type is a TypeError, a
``sock`` of the wrong kind a ValueError, and a path where nothing listens
is the connect's own OSError (FileNotFoundError, ConnectionRefusedError).

Past the connect, everything is loopkit's shared stream wiring
(:func:`~loopkit.plugin.wire_stream`), given this family's transport class.

What it must never do: leave a socket it made open when connecting or
building the transport fails.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any

from loopkit.plugin import connect_socket, wire_stream
from loopkit_seqpacket.transport import SeqpacketTransport

#: What a path may be (as for create_unix_connection): str, bytes or os.PathLike.
PathArgument = str | bytes | os.PathLike[str] | os.PathLike[bytes]


def check_seqpacket_socket(sock: Any) -> None:
    """TypeError for a non-socket, ValueError for a socket of another kind."""
    if not isinstance(sock, socket.socket):
        raise TypeError(f"sock must be a socket.socket, got {sock!r}")
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_SEQPACKET:
        raise ValueError(f"A UNIX Domain SOCK_SEQPACKET socket was expected, got {sock!r}")


async def create_seqpacket_connection(
    self: asyncio.AbstractEventLoop,
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    path: PathArgument | None = None,
    *,
    sock: socket.socket | None = None,
) -> tuple[SeqpacketTransport, asyncio.BaseProtocol]:
    """Connect to the seqpacket server at ``path`` (or wrap the connected ``sock``).

    ``path`` is a str, bytes or os.PathLike; one starting with a NUL byte is
    a Linux abstract address. Returns ``(transport, protocol)`` once the
    protocol's ``connection_made`` has run. Each ``transport.write()`` is
    one message, each ``data_received()`` one whole message.
    """
    if path is not None:
        if sock is not None:
            raise ValueError("path and sock can not be specified at the same time")
        address = os.fspath(path)  # TypeError for anything but a path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.setblocking(False)
            await connect_socket(self, sock, address)
        except BaseException:
            sock.close()
            raise
        owns_socket = True
    else:
        if sock is None:
            raise ValueError("no path and sock were specified")
        check_seqpacket_socket(sock)
        owns_socket = False

    # The shared wiring: protocol, transport, wait for connection_made (and
    # close a socket made here if any of that fails).
    return await wire_stream(  # type: ignore[no-any-return]
        self,
        sock,
        protocol_factory,
        None,
        None,
        owns_socket=owns_socket,
        transport_class=SeqpacketTransport,
    )
