"""The kqueue poller plugin (macOS and the BSDs).

kqueue keeps one filter per direction, so registering, modifying and
unregistering are expressed as EV_ADD / EV_DELETE changes of the read and
write filters. Results come back as kevents, one per filter, and are merged
into the kernel's (fd, mask) form. On Linux the plugin declares itself
unavailable.
"""

from __future__ import annotations

import select
from typing import Any

from loopkit.plugin import EVENT_READ, EVENT_WRITE, PollerInfo, hookimpl

NAME = "kqueue"


class KqueuePoller:
    """A ``select.kqueue`` object and what is registered in it."""

    name = NAME

    def __init__(self) -> None:
        self._kqueue: Any = select.kqueue()  # type: ignore[attr-defined,unused-ignore]
        self._masks: dict[int, int] = {}

    def _change(self, fd: int, old: int, new: int) -> None:
        kevent: Any = select.kevent  # type: ignore[attr-defined,unused-ignore]
        changes = []
        for bit, kfilter in (
            (EVENT_READ, select.KQ_FILTER_READ),  # type: ignore[attr-defined,unused-ignore]
            (EVENT_WRITE, select.KQ_FILTER_WRITE),  # type: ignore[attr-defined,unused-ignore]
        ):
            if new & bit and not old & bit:
                changes.append(kevent(fd, kfilter, select.KQ_EV_ADD))  # type: ignore[attr-defined,unused-ignore]
            elif old & bit and not new & bit:
                changes.append(kevent(fd, kfilter, select.KQ_EV_DELETE))  # type: ignore[attr-defined,unused-ignore]
        if changes:
            self._kqueue.control(changes, 0, 0)

    def register(self, fd: int, events: int) -> None:
        """Watch fd for the given events."""
        self._change(fd, 0, events)
        self._masks[fd] = events

    def modify(self, fd: int, events: int) -> None:
        """Change what is watched on fd."""
        self._change(fd, self._masks.get(fd, 0), events)
        self._masks[fd] = events

    def unregister(self, fd: int) -> None:
        """Stop watching fd; a closed fd was already dropped by the kernel."""
        old = self._masks.pop(fd, 0)
        try:
            self._change(fd, old, 0)
        except OSError:
            pass

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` seconds (None: forever)."""
        if timeout is not None and timeout < 0:
            timeout = 0
        max_events = max(len(self._masks) * 2, 1)
        kevents = self._kqueue.control(None, max_events, timeout)
        masks: dict[int, int] = {}
        for kev in kevents:
            bit = EVENT_READ if kev.filter == select.KQ_FILTER_READ else EVENT_WRITE  # type: ignore[attr-defined,unused-ignore]
            masks[kev.ident] = masks.get(kev.ident, 0) | bit
        return list(masks.items())

    def close(self) -> None:
        """Close the kqueue fd."""
        self._kqueue.close()
        self._masks.clear()


def _available() -> bool:
    return hasattr(select, "kqueue")


@hookimpl
def loopkit_pollers() -> list[PollerInfo]:
    """Offer kqueue where the platform has it (not on Linux)."""
    return [
        PollerInfo(
            name=NAME,
            create=KqueuePoller,
            priority=40,
            is_available=_available,
            description="BSD/macOS kqueue(2)",
        )
    ]
