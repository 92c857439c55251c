"""The read pipe transport behind ``loop.connect_read_pipe``.

Reads whatever the fd has (up to :data:`MAX_READ` per readiness event) and
hands it to ``protocol.data_received``. The read goes into the loop's shared
receive buffer (``readv``) and what arrived is copied out as ``bytes``:
``os.read(fd, 256 KiB)`` makes the C library map, shrink and unmap 256 KiB
on every call, which costs several times the copy. End of file becomes
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

from loopkit.plugins.pipes.base import PipeTransportBase, wake_waiter

_logger = logging.getLogger("asyncio")

#: The most bytes read in one readiness event (asyncio reads 256 KiB too).
MAX_READ = 256 * 1024


def receive_buffer(loop: Any) -> memoryview:
    """The loop's buffer for pipe reads, made on first use and shared by its
    read pipes: each read is copied out before the protocol runs."""
    view: memoryview | None = loop._pipe_receive_buffer
    if view is None:
        view = loop._pipe_receive_buffer = memoryview(bytearray(MAX_READ))
    return view


class ReadPipeTransport(PipeTransportBase, asyncio.ReadTransport):
    """Reads a pipe, FIFO, socket or character device into a protocol."""

    #: Bytes read per readiness event; asyncio's name, so code tuning it keeps working.
    max_size = MAX_READ
    #: The read system call, ``os.readv(fd, [buffer])``. An instance may
    #: shadow it (a test's fault injector does); looking it up on ``self``
    #: costs what ``os.readv`` does.
    _os_readv = staticmethod(os.readv)

    def __init__(
        self,
        loop: Any,
        pipe: Any,
        protocol: asyncio.BaseProtocol,
        waiter: asyncio.Future[None] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        asyncio.ReadTransport.__init__(self, extra)
        self._paused = False
        self._receive_view = receive_buffer(loop)
        self._adopt(loop, pipe, protocol, "Pipe transport is for pipes/sockets only.")
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._start_reading)
        if waiter is not None:
            loop.call_soon(wake_waiter, waiter)

    def _start_reading(self) -> None:
        if self.is_reading():
            self._loop._add_reader(self._fileno, self._read_ready)

    def is_reading(self) -> bool:
        """True unless paused or closing."""
        return not self._paused and not self._closing

    def pause_reading(self) -> None:
        """Stop reading until :meth:`resume_reading`; no-op if not reading."""
        if not self.is_reading():
            return
        self._paused = True
        self._loop._remove_reader(self._fileno)
        if self._loop.get_debug():
            _logger.debug("%r pauses reading", self)

    def resume_reading(self) -> None:
        """Read again after :meth:`pause_reading`; no-op if not paused or closing."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._loop._add_reader(self._fileno, self._read_ready)
        if self._loop.get_debug():
            _logger.debug("%r resumes reading", self)

    def _read_ready(self) -> None:
        view = self._receive_view
        if self.max_size < view.nbytes:
            view = view[: self.max_size]
        try:
            nbytes = self._os_readv(self._fileno, [view])
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._fatal_error(exc, "Fatal read error on pipe transport")
            return
        if nbytes:
            self._protocol.data_received(view[:nbytes].tobytes())
            return
        if self._loop.get_debug():
            _logger.info("%r was closed by peer", self)
        self._closing = True
        self._loop._remove_reader(self._fileno)
        self._loop.call_soon(self._protocol.eof_received)
        self._schedule_connection_lost(None)

    def close(self) -> None:
        """Stop reading and close the pipe; ``connection_lost(None)`` follows."""
        if not self._closing:
            self._shut(None)

    def _fatal_error(self, exc: BaseException, message: str) -> None:
        # EIO is how a pty master reports that the slave side was closed:
        # an ordinary end, not worth the exception handler.
        quiet = isinstance(exc, OSError) and exc.errno == errno.EIO
        self._report_fatal(exc, message, quiet=quiet)
        self._shut(exc)

    def _shut(self, exc: BaseException | None) -> None:
        self._closing = True
        self._loop._remove_reader(self._fileno)
        self._schedule_connection_lost(exc)
