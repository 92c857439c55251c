"""A poller that wraps the best real one and lies in the ways real kernels may.

* *Spurious wake-up*: return at once with no events (what a signal does to
  a real ``epoll_wait``; the loop must recompute its timeout, not fire
  timers early).
* *Held-back readiness*: wait for real, then report nothing this round.
  The real pollers are level-triggered, so the events come again on the
  next round: readiness arrives late, never lost.
* *Spurious readiness*: add a transport's fd as ready although it may not
  be. Only the transports' own I/O callbacks (``_read_ready``,
  ``_read_ready_buffered``, ``_write_ready``, a server's ``_accept_ready``)
  are woken this way: their system call answers EAGAIN and they must wait
  for the next event. A callback that reads readiness itself as news (a
  write pipe's "peer closed" watcher, a pending connect) is never picked.

It never changes which fds are registered, and never invents an fd.
"""

from __future__ import annotations

import weakref
from typing import Any

import loopkit.plugin
from loopkit.core.poller import EVENT_READ, EVENT_WRITE, Poller
from loopkit.testing.faults.plan import LoopFaults
from loopkit.testing.faults.wrappers import FaultySocket

_IO_CALLBACKS = frozenset({"_read_ready", "_read_ready_buffered", "_write_ready"})


def best_real_poller() -> Poller:
    """The highest-priority built-in poller available here (epoll on Linux)."""
    from loopkit.plugins.pollers import epoll, kqueue, poll, select

    for module in (epoll, kqueue, poll, select):
        for info in module.loopkit_pollers():
            if info.is_available():
                poller: Poller = info.create()
                return poller
    raise RuntimeError("no real poller is available")  # pragma: no cover


class FaultyPoller:
    """Delegates to a real poller; ``poll`` sometimes lies (see the module doc)."""

    name = "faulty"

    def __init__(self, real: loopkit.plugin.Poller | None = None) -> None:
        self._real = real if real is not None else best_real_poller()
        self._faults: LoopFaults | None = None
        self._loop: Any = None
        self.register = self._real.register
        self.modify = self._real.modify
        self.unregister = self._real.unregister

    def attach(self, loop: Any, faults: LoopFaults) -> None:
        """Called when the loop is made: whose watchers may be woken spuriously."""
        self._loop = weakref.ref(loop)
        self._faults = faults

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        faults = self._faults
        if faults is None:
            return self._real.poll(timeout)
        plan = faults.plan
        if timeout != 0 and faults.chance(plan.spurious_wakeup_rate, "spurious-wakeup"):
            return []
        events = self._real.poll(timeout)
        if events and faults.chance(plan.held_back_rate, "held-back"):
            events = []
        if plan.spurious_ready_rate and faults.rng.random() < plan.spurious_ready_rate:
            extra = self._spurious_event(faults)
            if extra is not None:
                faults.injected["poll", "spurious-ready"] += 1
                events = [*events, extra]
        return events

    def _spurious_event(self, faults: LoopFaults) -> tuple[int, int] | None:
        loop = self._loop() if self._loop is not None else None
        if loop is None:
            return None
        candidates = [
            (fd, bit)
            for table, bit in ((loop._readers, EVENT_READ), (loop._writers, EVENT_WRITE))
            for fd, handle in table.items()
            if _tolerates_spurious(handle)
        ]
        if not candidates:
            return None
        return faults.rng.choice(candidates)

    def close(self) -> None:
        self._real.close()


def _tolerates_spurious(handle: Any) -> bool:
    """Whether this watcher's callback does a non-blocking system call and copes with EAGAIN."""
    if handle._cancelled:
        return False
    callback = handle._callback
    name = getattr(callback, "__name__", "")
    owner = getattr(callback, "__self__", None)
    if owner is None:
        return False
    if name in _IO_CALLBACKS:
        return getattr(owner, "_loopkit_faults_adopted", False) is True
    if name == "_accept_ready":
        args = handle._args
        return bool(args) and isinstance(args[0], FaultySocket) and args[0].gettimeout() == 0
    return False
