"""The epoll poller plugin (Linux).

epoll's result list already has the shape the kernel wants (EPOLLIN and
EPOLLOUT equal the kernel's EVENT_READ / EVENT_WRITE), so ``poll`` is the
C method of the epoll object itself: no Python frame per iteration.
"""

from __future__ import annotations

import select

from loopkit.plugin import PollerInfo, hookimpl

NAME = "epoll"


class EpollPoller:
    """An epoll instance, registered with level-triggered interest."""

    name = NAME

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self.poll = self._epoll.poll  # (timeout: float | None) -> [(fd, mask)]

    def register(self, fd: int, events: int) -> None:
        """Watch fd; a regular file or a closed fd raises OSError (EPERM/EBADF)."""
        self._epoll.register(fd, events)

    def modify(self, fd: int, events: int) -> None:
        """Change what is watched on fd.

        epoll drops an fd by itself when it is closed. If its number was then
        reused by a new file, the loop still believes it registered and asks
        for a modify, which epoll answers with ENOENT: register the new file.
        """
        try:
            self._epoll.modify(fd, events)
        except FileNotFoundError:
            self._epoll.register(fd, events)

    def unregister(self, fd: int) -> None:
        """Stop watching fd; an fd already closed (so already dropped) is fine."""
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass

    def fileno(self) -> int:
        """The epoll fd (for tests and diagnostics)."""
        return self._epoll.fileno()

    def close(self) -> None:
        """Close the epoll fd."""
        self._epoll.close()


def _available() -> bool:
    return hasattr(select, "epoll")


@hookimpl
def loopkit_pollers() -> list[PollerInfo]:
    """Offer epoll where the platform has it, with the highest priority."""
    return [
        PollerInfo(
            name=NAME,
            create=EpollPoller,
            priority=40,
            is_available=_available,
            description="Linux epoll(7), level-triggered",
        )
    ]
