"""The select(2) poller plugin: available everywhere, limited to FD_SETSIZE fds.

select() answers with three lists; they are merged into the kernel's
(fd, mask) form. Used only when nothing better exists or when asked for.
"""

from __future__ import annotations

import select

from loopkit.plugin import EVENT_READ, EVENT_WRITE, PollerInfo, hookimpl

NAME = "select"


class SelectPoller:
    """Two fd sets handed to ``select.select``."""

    name = NAME

    def __init__(self) -> None:
        self._readers: set[int] = set()
        self._writers: set[int] = set()

    def register(self, fd: int, events: int) -> None:
        """Watch fd; an invalid fd raises now instead of failing every later poll."""
        select.select([fd], [], [], 0)
        self.modify(fd, events)

    def modify(self, fd: int, events: int) -> None:
        """Change what is watched on fd."""
        if events & EVENT_READ:
            self._readers.add(fd)
        else:
            self._readers.discard(fd)
        if events & EVENT_WRITE:
            self._writers.add(fd)
        else:
            self._writers.discard(fd)

    def unregister(self, fd: int) -> None:
        """Stop watching fd."""
        self._readers.discard(fd)
        self._writers.discard(fd)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` seconds (None: forever)."""
        if timeout is not None and timeout < 0:
            timeout = 0
        readable, writable, _ = select.select(self._readers, self._writers, [], timeout)
        if not writable:
            return [(fd, EVENT_READ) for fd in readable]
        masks = dict.fromkeys(readable, EVENT_READ)
        for fd in writable:
            masks[fd] = masks.get(fd, 0) | EVENT_WRITE
        return list(masks.items())

    def close(self) -> None:
        """Forget every fd."""
        self._readers.clear()
        self._writers.clear()


@hookimpl
def loopkit_pollers() -> list[PollerInfo]:
    """Offer select(2), the lowest-priority fallback."""
    return [
        PollerInfo(
            name=NAME,
            create=SelectPoller,
            priority=10,
            description="select(2), limited to FD_SETSIZE descriptors",
        )
    ]
