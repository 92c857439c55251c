"""The write pipe transport behind ``loop.connect_write_pipe``.

``write`` tries the fd at once and buffers only what the pipe did not take;
the buffer drains when the fd is writable. Above the high-water mark the
protocol is asked to ``pause_writing``, and at or below the low-water mark
to ``resume_writing``.

For a pipe, FIFO or socket the transport also watches its own fd for
*readability*: the write end of a pipe becomes "readable" (an error
condition) when the last reader goes away, so the transport notices a
vanished peer even while it has nothing to write, as asyncio does. Like
asyncio, it then reports ``connection_lost(None)`` when nothing was
buffered, and ``connection_lost(BrokenPipeError())`` when data was lost.

It must never block, never let a failing protocol callback break the
transport, and never deliver ``connection_lost`` twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from typing import Any

from loopkit.transports.flowcontrol import DEFAULT_HIGH_WATER, WriteFlowControl
from loopkit.transports.pipes import PipeTransportBase, wake_waiter

__all__ = ["WritePipeTransport"]

_logger = logging.getLogger("asyncio")

#: After this many writes to a lost pipe, each further write logs a warning.
_WARN_AFTER_LOST_WRITES = 5

BytesLike = bytes | bytearray | memoryview


class WritePipeTransport(PipeTransportBase, WriteFlowControl, asyncio.Transport):
    """Writes to a pipe, FIFO, socket or character device, with flow control.

    A full :class:`asyncio.Transport`, as asyncio's write pipe transport is
    (also the stdin pipe of a subprocess): the reading half it cannot do
    (``pause_reading``, ``resume_reading``, ``is_reading``) raises
    NotImplementedError there, which callers may catch, not AttributeError.
    """

    #: The write system call. An instance may shadow it (a test's fault
    #: injector does); looking it up on ``self`` costs what ``os.write`` does.
    _os_write = staticmethod(os.write)

    def __init__(
        self,
        loop: Any,
        pipe: Any,
        protocol: asyncio.BaseProtocol,
        waiter: asyncio.Future[None] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        PipeTransportBase.__init__(self, loop, protocol, extra)
        self._init_write_flow(DEFAULT_HIGH_WATER)
        self._buffer = bytearray()
        self._writes_after_loss = 0
        kind = self._adopt(pipe, "Pipe transport is only for pipes, sockets and character devices")
        loop.call_soon(protocol.connection_made, self)
        if kind in ("fifo", "socket"):
            # Only once connection_made() has run: a peer that is already
            # gone must not produce connection_lost() before it.
            loop.call_soon(self._watch_peer)
        if waiter is not None:
            loop.call_soon(wake_waiter, waiter)

    # ------------------------------------------------------------------
    # Flow control
    # ------------------------------------------------------------------

    def get_write_buffer_size(self) -> int:
        """Bytes accepted by :meth:`write` but not yet taken by the pipe."""
        return len(self._buffer)

    # ------------------------------------------------------------------
    # Writing
    # ------------------------------------------------------------------

    def write(self, data: BytesLike) -> None:
        """Write ``data`` without blocking; what the pipe refuses is buffered.

        Writes after the pipe was lost or closed are dropped (and, after a
        few, logged), as asyncio does.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        if not data:
            return
        if self._closing:
            if self._writes_after_loss >= _WARN_AFTER_LOST_WRITES:
                _logger.warning("pipe closed by peer or os.write(pipe, data) raised exception.")
            self._writes_after_loss += 1
            return
        if self._buffer:
            self._buffer += data
            self._maybe_pause_protocol()
            return
        try:
            sent = self._os_write(self._fileno, data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._writes_after_loss += 1
            self._fatal_error(exc, "Fatal write error on pipe transport")
            return
        if sent == len(data):
            return
        self._buffer += memoryview(data)[sent:]
        self._add_writer(self._fileno, self._write_ready)
        self._maybe_pause_protocol()

    def writelines(self, list_of_data: Iterable[BytesLike]) -> None:
        """Write every buffer of ``list_of_data``, in order, as one write."""
        self.write(b"".join(list_of_data))

    def _write_ready(self) -> None:
        try:
            sent = self._os_write(self._fileno, self._buffer)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._buffer.clear()
            self._writes_after_loss += 1
            self._remove_writer(self._fileno)
            self._fatal_error(exc, "Fatal write error on pipe transport")
            return
        del self._buffer[:sent]
        if self._buffer:
            return
        self._remove_writer(self._fileno)
        self._maybe_resume_protocol()  # the protocol may write again here
        if self._buffer or not self._closing:
            return
        self._remove_reader(self._fileno)
        self._schedule_connection_lost(None)

    def can_write_eof(self) -> bool:
        """Always True: end of file is closing the write end."""
        return True

    def write_eof(self) -> None:
        """Close the write end once the buffer has drained."""
        if self._closing:
            return
        self._closing = True
        if not self._buffer:
            self._remove_reader(self._fileno)
            self._schedule_connection_lost(None)

    def close(self) -> None:
        """Flush what is buffered, then close (the same as :meth:`write_eof`)."""
        if self._pipe is not None and not self._closing:
            self.write_eof()

    def abort(self) -> None:
        """Close at once, dropping buffered data; ``connection_lost(None)`` follows."""
        if self._lost_scheduled:
            return
        self._force_close(None)

    # ------------------------------------------------------------------
    # Endings
    # ------------------------------------------------------------------

    def _watch_peer(self) -> None:
        if not self._closing:  # closed before connection_made ran: nothing to watch
            self._add_reader(self._fileno, self._peer_gone)

    def _peer_gone(self) -> None:
        """The fd turned readable: the reading end was closed."""
        if self._loop.get_debug():
            _logger.info("%r was closed by peer", self)
        self._force_close(BrokenPipeError() if self._buffer else None)

    # An OSError (EPIPE, ECONNRESET, ...) is how a pipe ends when the reader
    # leaves: the base class's _fatal_error logs it in debug mode only, as
    # asyncio does.

    def _force_close(self, exc: BaseException | None) -> None:
        self._closing = True
        if self._buffer:
            self._remove_writer(self._fileno)
            self._buffer.clear()
        self._remove_reader(self._fileno)
        self._schedule_connection_lost(exc)
