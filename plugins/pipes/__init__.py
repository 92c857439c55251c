"""The pipes plugin: ``loop.connect_read_pipe`` and ``loop.connect_write_pipe``.

Wraps an already open pipe, FIFO, socket or character device (such as a
pty) in a transport. The fd is switched to non-blocking mode and belongs to
the transport from then on: closing the transport closes the pipe object,
and the public ``add_reader`` refuses the fd while the transport is open.

This plugin opens nothing itself and never blocks: see
:mod:`loopkit.transports.readpipe` and
:mod:`loopkit.transports.writepipe` for the transports (shared with any
family that drives a pipe-like fd).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from loopkit.plugin import ReadPipeTransport, WritePipeTransport, hookimpl

__all__ = ["ReadPipeTransport", "WritePipeTransport"]

_logger = logging.getLogger("asyncio")

_Factory = Callable[[], asyncio.BaseProtocol]


async def connect_read_pipe(
    self: Any, protocol_factory: _Factory, pipe: Any
) -> tuple[ReadPipeTransport, asyncio.BaseProtocol]:
    """Read ``pipe`` (a file-like object with ``fileno()``) into a new protocol.

    Returns ``(transport, protocol)`` once ``connection_made`` has run.
    ValueError for a regular file, as asyncio.
    """
    protocol = protocol_factory()
    waiter = self.create_future()
    transport = ReadPipeTransport(self, pipe, protocol, waiter)
    try:
        await waiter
    except BaseException:
        transport.close()
        raise
    if self.get_debug():
        _logger.debug("Read pipe %r connected: (%r, %r)", pipe.fileno(), transport, protocol)
    return transport, protocol


async def connect_write_pipe(
    self: Any, protocol_factory: _Factory, pipe: Any
) -> tuple[WritePipeTransport, asyncio.BaseProtocol]:
    """Write to ``pipe`` (a file-like object with ``fileno()``) through a new transport.

    Returns ``(transport, protocol)`` once ``connection_made`` has run.
    ValueError for a regular file, as asyncio.
    """
    protocol = protocol_factory()
    waiter = self.create_future()
    transport = WritePipeTransport(self, pipe, protocol, waiter)
    try:
        await waiter
    except BaseException:
        transport.close()
        raise
    if self.get_debug():
        _logger.debug("Write pipe %r connected: (%r, %r)", pipe.fileno(), transport, protocol)
    return transport, protocol


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop methods this plugin adds (read to explain them on loops without it)."""
    return [
        "connect_read_pipe",
        "connect_write_pipe",
    ]


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """The pipe part of the loop API."""
    return {
        "connect_read_pipe": connect_read_pipe,
        "connect_write_pipe": connect_write_pipe,
    }
