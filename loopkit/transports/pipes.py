"""What the read and the write pipe transports share, beyond the lifecycle.

Checking that an fd is something a pipe transport can drive, switching it to
non-blocking mode and registering the transport as the fd's owner; after
``connection_lost`` (delivered once by
:class:`~loopkit.transports.base.TransportBase`), removing every watcher,
closing the pipe object and dropping every reference.

This module must never touch the loop's poller directly: watching goes
through the kernel services bound by the base class.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from loopkit.transports.base import TransportBase, wake_waiter

__all__ = ["PipeTransportBase", "pipe_kind", "wake_waiter"]


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


class PipeTransportBase(TransportBase):
    """State and teardown common to both pipe directions.

    Subclasses call :meth:`_adopt` from ``__init__`` (after
    ``TransportBase.__init__``) and
    :meth:`~loopkit.transports.base.TransportBase._schedule_connection_lost`
    whenever they are done with the fd.
    """

    _pipe: Any = None  # read by __del__ even if __init__ failed early
    _fileno: int

    def _adopt(self, pipe: Any, refusal: str) -> str:
        """Take ``pipe`` over; ValueError (``refusal``) if it is no pipe-like fd."""
        fileno = pipe.fileno()
        kind = pipe_kind(fileno)
        if kind is None:
            raise ValueError(refusal)
        self._extra["pipe"] = pipe
        self._pipe = pipe
        self._fileno = fileno
        os.set_blocking(fileno, False)
        self._claim_fd(fileno)
        return kind

    def _open_resource(self) -> Any:
        return self._pipe

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

    def _connection_lost_done(self) -> None:
        # Nothing may stay watched on an fd about to be closed (and reused).
        self._remove_reader(self._fileno)
        self._remove_writer(self._fileno)
        self._release_fd(self._fileno)
        self._pipe.close()
        self._pipe = None
        self._protocol = None
