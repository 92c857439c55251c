"""The poll(2) poller plugin (POSIX).

poll() reports POLLIN / POLLOUT with the kernel's own bit values; only the
timeout needs converting (seconds to whole milliseconds, rounded up so that a
short timer never turns into a busy loop).
"""

from __future__ import annotations

import math
import os
import select

from loopkit.plugin import PollerInfo, hookimpl

NAME = "poll"


class PollPoller:
    """A ``select.poll`` object."""

    name = NAME

    def __init__(self) -> None:
        self._poll = select.poll()
        self._native_poll = self._poll.poll
        self.modify = self._poll.modify
        self._closed = False

    def register(self, fd: int, events: int) -> None:
        """Watch fd; a closed fd raises OSError now rather than POLLNVAL later."""
        os.fstat(fd)
        self._poll.register(fd, events)

    def unregister(self, fd: int) -> None:
        """Stop watching fd."""
        try:
            self._poll.unregister(fd)
        except KeyError:
            pass

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` seconds (None: forever)."""
        if timeout is None:
            return self._native_poll()
        if timeout <= 0:
            return self._native_poll(0)
        return self._native_poll(math.ceil(timeout * 1000.0))

    def close(self) -> None:
        """poll objects hold no fd; nothing to release."""
        self._closed = True


def _available() -> bool:
    return hasattr(select, "poll")


@hookimpl
def loopkit_pollers() -> list[PollerInfo]:
    """Offer poll(2) wherever the platform has it."""
    return [
        PollerInfo(
            name=NAME,
            create=PollPoller,
            priority=20,
            is_available=_available,
            description="POSIX poll(2)",
        )
    ]
