"""The instruments plugin: what each loop iteration spent, and on what (opt-in).

asyncio's debug mode can only say that one callback was slow. This plugin
measures whole iterations: the time spent waiting in the poller, the time
spent on everything else (dispatching events, moving due timers, running
callbacks), how many callbacks, timers and I/O events there were, and it
logs iterations whose non-waiting part is slow, whichever callbacks made it
so. The figures are read with ``loop.stats()``.

It must never cost anything to loops that did not ask for it: it is an
opt-in plugin (``enable=["instruments"]`` or ``LOOPKIT_ENABLE=instruments``),
and it works by *overriding* ``_run_once`` in its own assembled class and
wrapping the loop's poller call and ready queue per instance, so the kernel's
own ``_run_once`` stays exactly the same function for every other loop.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from asyncio import events
from typing import Any

from loopkit.core.errorhandling import _logger
from loopkit.core.hookspecs import hookimpl
from loopkit.core.kernel import KernelLoop

#: An iteration whose non-waiting part takes this long (seconds) is logged.
DEFAULT_SLOW_ITERATION = 0.1


@dataclasses.dataclass
class LoopStats:
    """Totals since the loop was made (or since ``loop.reset_stats()``)."""

    iterations: int = 0
    #: Seconds spent waiting in the poller.
    poll_time: float = 0.0
    #: Seconds spent in iterations outside the poller: callbacks, timers, dispatch.
    busy_time: float = 0.0
    #: Ready callbacks run (timers not included).
    callbacks: int = 0
    #: Timer callbacks run.
    timers_fired: int = 0
    #: (fd, mask) results the poller returned.
    io_events: int = 0
    #: Iterations whose busy time reached ``loop.slow_iteration_duration``.
    slow_iterations: int = 0
    #: The longest busy time of a single iteration, in seconds.
    longest_iteration: float = 0.0


class _Meter:
    """Per-loop counters for the iteration in progress and the totals."""

    __slots__ = ("callbacks", "events", "poll_time", "timers", "totals")

    def __init__(self) -> None:
        self.totals = LoopStats()
        self.poll_time = 0.0
        self.callbacks = 0
        self.timers = 0
        self.events = 0


class _CountingQueue(collections.deque[events.Handle]):
    """The ready queue of an instrumented loop: counts what the kernel takes out."""

    __slots__ = ("_meter",)

    def __init__(self, meter: _Meter) -> None:
        super().__init__()
        self._meter = meter

    def popleft(self) -> events.Handle:
        handle = super().popleft()
        if not handle._cancelled:  # type: ignore[attr-defined]
            if isinstance(handle, events.TimerHandle):
                self._meter.timers += 1
            else:
                self._meter.callbacks += 1
        return handle


def _run_once(self: Any) -> None:
    """The kernel's iteration, measured."""
    meter: _Meter = self._loopkit_meter
    meter.poll_time = 0.0
    meter.callbacks = meter.timers = meter.events = 0
    started = time.perf_counter()
    try:
        KernelLoop._run_once(self)
    finally:
        busy = time.perf_counter() - started - meter.poll_time
        totals = meter.totals
        totals.iterations += 1
        totals.poll_time += meter.poll_time
        totals.busy_time += busy
        totals.callbacks += meter.callbacks
        totals.timers_fired += meter.timers
        totals.io_events += meter.events
        if busy > totals.longest_iteration:
            totals.longest_iteration = busy
        if busy >= self.slow_iteration_duration:
            totals.slow_iterations += 1
            _logger().warning(
                "Loop iteration took %.3f seconds outside the poller "
                "(%d callbacks, %d timers, %d I/O events; waited %.3f seconds)",
                busy,
                meter.callbacks,
                meter.timers,
                meter.events,
                meter.poll_time,
            )


def stats(self: Any) -> LoopStats:
    """A snapshot of this loop's iteration statistics."""
    meter: _Meter = self._loopkit_meter
    return dataclasses.replace(meter.totals)


def reset_stats(self: Any) -> None:
    """Start the totals again from zero."""
    self._loopkit_meter.totals = LoopStats()


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop methods this plugin adds (read to explain them on loops without it)."""
    return ["stats", "reset_stats", "slow_iteration_duration"]


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """The public face of the plugin: ``loop.stats()`` and the slow threshold."""
    return {
        "stats": stats,
        "reset_stats": reset_stats,
        "slow_iteration_duration": DEFAULT_SLOW_ITERATION,
    }


@hookimpl
def loopkit_loop_overrides() -> dict[str, Any]:
    """Replace the iteration with its measured version, for this assembly only."""
    return {"_run_once": _run_once}


@hookimpl
def loopkit_loop_created(loop: Any) -> None:
    """Wrap this loop's poller call and ready queue with counters."""
    meter = _Meter()
    loop._loopkit_meter = meter
    queue = _CountingQueue(meter)
    queue.extend(loop._ready)
    loop._ready = queue
    native_poll = loop._poll
    perf_counter = time.perf_counter

    def measured_poll(timeout: float | None) -> list[tuple[int, int]]:
        started = perf_counter()
        result: list[tuple[int, int]] = native_poll(timeout)
        meter.poll_time += perf_counter() - started
        meter.events += len(result)
        return result

    loop._poll = measured_poll
