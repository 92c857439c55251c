"""What the read and the write pipe transports share.

Checking that an fd is something a pipe transport can drive, switching it to
non-blocking mode, registering the transport as the fd's owner, reporting a
fatal error, and delivering ``connection_lost`` exactly once (then closing
the pipe object and dropping every reference).

This module must never touch the loop's poller directly: watching goes
through ``loop._add_reader`` / ``loop._add_writer`` like any plugin.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import warnings
from typing import Any

_logger = logging.getLogger("asyncio")


def pipe_kind(fd: int) -> str | None:
    """``"fifo"``, ``"socket"`` or ``"char"`` for a usable fd, None otherwise.

    Regular files and directories are refused: they are always "ready", so
    polling them would spin (asyncio refuses them the same way).
    """
    mode = os.fstat(fd).st_mode
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "char"
    return None


class PipeTransportBase:
    """State and teardown common to both pipe directions.

    Subclasses call :meth:`_adopt` from ``__init__`` and
    :meth:`_schedule_connection_lost` whenever they are done with the fd.
    """

    _pipe: Any
    _fileno: int
    _loop: Any
    _protocol: Any
    _closing: bool
    _lost_scheduled: bool
    _extra: dict[str, Any]

    def _adopt(self, loop: Any, pipe: Any, protocol: Any, refusal: str) -> str:
        """Take ``pipe`` over; ValueError (``refusal``) if it is no pipe-like fd."""
        fileno = pipe.fileno()
        kind = pipe_kind(fileno)
        if kind is None:
            raise ValueError(refusal)
        self._extra["pipe"] = pipe
        self._loop = loop
        self._pipe = pipe
        self._fileno = fileno
        self._protocol = protocol
        self._closing = False
        self._lost_scheduled = False
        os.set_blocking(fileno, False)
        loop._fd_owners[fileno] = self
        return kind

    def get_protocol(self) -> Any:
        """The protocol receiving this transport's events."""
        return self._protocol

    def set_protocol(self, protocol: Any) -> None:
        """Send this transport's future events to ``protocol``."""
        self._protocol = protocol

    def is_closing(self) -> bool:
        """True once the transport is closing or closed."""
        return self._closing

    def _describe(self) -> str:
        if self._pipe is None:
            state = "closed"
        elif self._closing:
            state = "closing"
        else:
            state = "open"
        return f"<{type(self).__name__} fd={self._fileno} {state}>"

    def __repr__(self) -> str:
        return self._describe()

    def _report_fatal(self, exc: BaseException, message: str, *, quiet: bool) -> None:
        """Log ``exc`` through the loop's handler unless it is an expected end.

        ``quiet`` errors (a peer that went away) are only logged in debug
        mode, as asyncio does, since they are how pipes normally end.
        """
        if quiet:
            if self._loop.get_debug():
                _logger.debug("%r: %s", self, message, exc_info=True)
            return
        self._loop.call_exception_handler(
            {
                "message": message,
                "exception": exc,
                "transport": self,
                "protocol": self._protocol,
            }
        )

    def _schedule_connection_lost(self, exc: BaseException | None) -> None:
        """Arrange for ``connection_lost(exc)`` on the next iteration, once only."""
        self._closing = True
        if self._lost_scheduled:
            return
        self._lost_scheduled = True
        if self._loop.is_closed():
            # No callback can run any more (a transport dropped after its
            # loop was closed): just release the fd.
            self._pipe.close()
            self._pipe = None
            self._protocol = None
            return
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            loop = self._loop
            # Nothing may stay watched on an fd about to be closed (and reused).
            loop._remove_reader(self._fileno)
            loop._remove_writer(self._fileno)
            if loop._fd_owners.get(self._fileno) is self:
                del loop._fd_owners[self._fileno]
            self._pipe.close()
            self._pipe = None
            self._protocol = None
            self._loop = None

    def __del__(self, _warn: Any = warnings.warn) -> None:
        pipe = getattr(self, "_pipe", None)
        if pipe is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            pipe.close()


def wake_waiter(waiter: asyncio.Future[None]) -> None:
    """Resolve ``waiter`` unless whoever awaited it gave up (cancelled it)."""
    if not waiter.cancelled():
        waiter.set_result(None)
