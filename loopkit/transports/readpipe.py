"""The read pipe transport behind ``loop.connect_read_pipe``.

Reads whatever the fd has (up to ``MAX_READ`` per readiness event) and
hands it to ``protocol.data_received``. ``os.read(fd, 256 KiB)`` makes the C
library map, shrink and unmap 256 KiB on every call, which costs several
times the read itself, so a read never asks for that much at once: a pipe
or FIFO that can hold at most ``DIRECT_READ_LIMIT`` bytes (64 KiB by
default on Linux) is read with ``os.read`` of its capacity, since no read can
return more; anything else goes into the loop's shared receive buffer
(``readv``) and what arrived is copied out as ``bytes``. End of file becomes
``eof_received`` then ``connection_lost(None)``; a read error becomes
``connection_lost(exc)``. Reading starts only after ``connection_made`` has
run, so a protocol that pauses in ``connection_made`` never sees data early.

It must never block (the fd is non-blocking) and never deliver
``connection_lost`` twice.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

from loopkit.core.services import services
from loopkit.transports.pipes import PipeTransportBase, wake_waiter

__all__ = ["MAX_READ", "ReadPipeTransport", "pipe_capacity", "receive_buffer"]

_logger = logging.getLogger("asyncio")

#: The most bytes read in one readiness event (asyncio reads 256 KiB too).
MAX_READ = 256 * 1024


#: Pipes up to this capacity are read straight into a new bytes object: the
#: C library serves that size from its heap, without mapping memory.
DIRECT_READ_LIMIT = 64 * 1024

_F_GETPIPE_SZ: int | None = getattr(fcntl, "F_GETPIPE_SZ", None)


def pipe_capacity(fd: int) -> int | None:
    """How many bytes the pipe ``fd`` holds at most (None where unknown)."""
    if _F_GETPIPE_SZ is None:
        return None
    try:
        capacity: int = fcntl.fcntl(fd, _F_GETPIPE_SZ)
    except OSError:
        return None
    return capacity


def receive_buffer(loop: Any) -> memoryview:
    """The loop's buffer for pipe reads, made on first use and shared by its
    read pipes: each read is copied out before the protocol runs."""
    return services(loop).buffer("pipe", MAX_READ)


class ReadPipeTransport(PipeTransportBase, asyncio.ReadTransport):
    """Reads a pipe, FIFO, socket or character device into a protocol."""

    #: Bytes read per readiness event; asyncio's name, so code tuning it keeps working.
    max_size = MAX_READ
    #: The read system calls: ``os.read(fd, n)`` for small pipes,
    #: ``os.readv(fd, [buffer])`` otherwise. An instance may shadow them (a
    #: test's fault injector does); looking them up on ``self`` costs what
    #: the functions themselves do.
    _os_read = staticmethod(os.read)
    _os_readv = staticmethod(os.readv)

    def __init__(
        self,
        loop: Any,
        pipe: Any,
        protocol: asyncio.BaseProtocol,
        waiter: asyncio.Future[None] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        PipeTransportBase.__init__(self, loop, protocol, extra)
        self._paused = False
        self._receive_view = receive_buffer(loop)
        kind = self._adopt(pipe, "Pipe transport is for pipes/sockets only.")
        capacity = pipe_capacity(self._fileno) if kind == "fifo" else None
        #: 0: read through the shared buffer; otherwise os.read of this many.
        self._direct_size = (
            capacity if capacity is not None and 0 < capacity <= DIRECT_READ_LIMIT else 0
        )
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._start_reading)
        if waiter is not None:
            loop.call_soon(wake_waiter, waiter)

    def _start_reading(self) -> None:
        if self.is_reading():
            self._add_reader(self._fileno, self._read_ready)

    def is_reading(self) -> bool:
        """True unless paused or closing."""
        return not self._paused and not self._closing

    def pause_reading(self) -> None:
        """Stop reading until :meth:`resume_reading`; no-op if not reading."""
        if not self.is_reading():
            return
        self._paused = True
        self._remove_reader(self._fileno)
        if self._loop.get_debug():
            _logger.debug("%r pauses reading", self)

    def resume_reading(self) -> None:
        """Read again after :meth:`pause_reading`; no-op if not paused or closing."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._add_reader(self._fileno, self._read_ready)
        if self._loop.get_debug():
            _logger.debug("%r resumes reading", self)

    def _read_ready(self) -> None:
        direct = self._direct_size
        try:
            if direct:
                size = self.max_size
                data = self._os_read(self._fileno, direct if size > direct else size)
            else:
                view = self._receive_view
                if self.max_size < view.nbytes:
                    view = view[: self.max_size]
                data = view[: self._os_readv(self._fileno, [view])].tobytes()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._fatal_error(exc, "Fatal read error on pipe transport")
            return
        if data:
            self._protocol.data_received(data)
            return
        if self._loop.get_debug():
            _logger.info("%r was closed by peer", self)
        self._closing = True
        self._remove_reader(self._fileno)
        self._loop.call_soon(self._protocol.eof_received)
        self._schedule_connection_lost(None)

    def close(self) -> None:
        """Stop reading and close the pipe; ``connection_lost(None)`` follows."""
        if not self._closing:
            self._force_close(None)

    def _is_quiet(self, exc: BaseException) -> bool:
        # EIO is how a pty master reports that the slave side was closed:
        # an ordinary end, not worth the exception handler.
        return isinstance(exc, OSError) and exc.errno == errno.EIO

    def _force_close(self, exc: BaseException | None) -> None:
        self._closing = True
        self._remove_reader(self._fileno)
        self._schedule_connection_lost(exc)
