"""The file descriptor another thread writes to, to wake a sleeping loop.

On Linux this is an eventfd: one fd, and any number of writes before the loop
reads collapse into a single readable state. Elsewhere it is a non-blocking
pipe. This module knows nothing of the loop; the kernel owns the policy of
when to write (only when no wake-up is already pending).
"""

from __future__ import annotations

import os


class Wakeup:
    """A level-triggered "wake up" signal readable through a poller."""

    __slots__ = ("_read_fd", "_uses_eventfd", "_write_fd")

    _read_fd: int
    _write_fd: int
    _uses_eventfd: bool

    def __init__(self) -> None:
        eventfd = getattr(os, "eventfd", None)
        if eventfd is not None:
            fd = eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._read_fd = self._write_fd = fd
            self._uses_eventfd = True
        else:  # pragma: no cover - exercised on platforms without eventfd
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._read_fd, False)
            os.set_blocking(self._write_fd, False)
            self._uses_eventfd = False

    def fileno(self) -> int:
        """The fd to register for reading."""
        return self._read_fd

    def signal(self) -> None:
        """Make the fd readable. Safe from any thread; never blocks."""
        try:
            if self._uses_eventfd:
                os.eventfd_write(self._write_fd, 1)
            else:  # pragma: no cover
                os.write(self._write_fd, b"\0")
        except (BlockingIOError, InterruptedError):
            # Already readable to the brim: the loop will wake anyway.
            pass
        except (OSError, ValueError):
            # Closed by loop.close() racing with a late caller (the fd is -1
            # then, which os calls refuse with ValueError): nothing to wake.
            pass

    def drain(self) -> None:
        """Consume every pending wake-up so the fd stops being readable."""
        try:
            if self._uses_eventfd:
                os.eventfd_read(self._read_fd)
            else:  # pragma: no cover
                while os.read(self._read_fd, 4096):
                    pass
        except (BlockingIOError, InterruptedError):
            pass

    def close(self) -> None:
        """Close the fds. Idempotent."""
        if self._read_fd >= 0:
            os.close(self._read_fd)
            if self._write_fd != self._read_fd:
                os.close(self._write_fd)
            self._read_fd = self._write_fd = -1
