"""The interface between the kernel and an I/O readiness backend.

A poller only reports readiness; it never calls back into the loop. Event
masks use the values of ``select.POLLIN`` / ``select.POLLOUT`` (which equal
``EPOLLIN`` / ``EPOLLOUT`` on Linux) so that the epoll and poll backends can
hand the kernel the operating system's own result list untouched. Backends
whose native results look different (select, kqueue) translate into this form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from loopkit.core.records import FrozenRecord, always

#: The fd can be read (or accepts a connection).
EVENT_READ = 0x001
#: The fd can be written.
EVENT_WRITE = 0x004
#: Error, hang-up or invalid fd: wakes both the reader and the writer so that
#: their next system call reports the condition.
EVENT_ERROR = 0x008 | 0x010 | 0x020

#: Bits that make the reader of an fd runnable.
WAKES_READER = EVENT_READ | EVENT_ERROR
#: Bits that make the writer of an fd runnable.
WAKES_WRITER = EVENT_WRITE | EVENT_ERROR

#: The longest single wait handed to a backend, in seconds. Longer timer
#: delays are waited for in several steps, so that no backend sees a value
#: that overflows its native millisecond or timespec type.
MAX_POLL_TIMEOUT = 24 * 3600.0


class Poller(Protocol):
    """What the kernel needs from an I/O backend.

    ``poll`` is looked up once per loop and then called directly on every
    iteration, so a backend may bind it straight to a C function.
    """

    name: str

    def register(self, fd: int, events: int) -> None:
        """Start watching ``fd`` for ``events`` (EVENT_READ | EVENT_WRITE)."""

    def modify(self, fd: int, events: int) -> None:
        """Change the events watched on an fd that is already registered."""

    def unregister(self, fd: int) -> None:
        """Stop watching ``fd``; an fd that was already closed is not an error."""

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` seconds (None: forever) and return (fd, mask) pairs."""

    def close(self) -> None:
        """Release the backend's own resources. Idempotent."""


class PollerInfo(FrozenRecord):
    """A poller backend as a plugin offers it.

    ``priority`` orders the backends when the user does not choose one: the
    available backend with the highest priority wins. ``is_available`` is
    asked before ``create`` so that a backend can decline on platforms that
    lack its system call (kqueue on Linux, epoll on macOS). Immutable, with
    a repr and field-wise equality (see ``loopkit.core.records``).
    """

    # Field order, not sorted: it is the order of construction and of the repr.
    __slots__ = (  # noqa: RUF023
        "name",
        "create",
        "priority",
        "is_available",
        "description",
    )

    name: str
    create: Callable[[], Poller]
    priority: int
    is_available: Callable[[], bool]
    description: str

    def __init__(
        self,
        name: str,
        create: Callable[[], Poller],
        priority: int = 0,
        is_available: Callable[[], bool] = always,
        description: str = "",
    ) -> None:
        self._set(name, create, priority, is_available, description)
