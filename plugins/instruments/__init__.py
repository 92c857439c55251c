"""The instruments plugin: what each loop iteration spent, and on what (opt-in).

asyncio's debug mode can only say that one callback was slow. This plugin
measures whole iterations: the time spent waiting in the poller, the time
spent on everything else (dispatching events, moving due timers, running
callbacks), how many callbacks, timers and I/O events there were, and it
logs iterations whose non-waiting part is slow, whichever callbacks made it
so. The figures are read with ``loop.stats()``.

It must never cost anything to loops that did not ask for it: it is an
opt-in plugin (``enable=["instruments"]`` or ``LOOPKIT_ENABLE=instruments``),
and it watches through the kernel's iteration-observer seam
(:meth:`loopkit.plugin.LoopServices.observe`), which a loop without an
observer never enters. It is also the worked example of an observer.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from loopkit.plugin import hookimpl, services

PLUGIN_NAME = "instruments"
_logger = logging.getLogger("asyncio")
_perf_counter = time.perf_counter

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


class Meter:
    """Observes one loop's iterations (an iteration observer) and keeps the totals.

    The kernel calls it around each poll and at the start and end of each
    iteration; the busy time of an iteration is its whole time less the
    time spent waiting in the poller.
    """

    __slots__ = ("_iteration_started", "_poll_started", "poll_time", "slow", "totals")

    def __init__(self, slow: float) -> None:
        self.totals = LoopStats()
        #: Iterations busy for this long (seconds) are counted and logged.
        self.slow = slow
        self.poll_time = 0.0
        self._iteration_started = 0.0
        self._poll_started = 0.0

    def __repr__(self) -> str:
        return f"<instruments Meter iterations={self.totals.iterations}>"

    def iteration_started(self) -> None:
        self.poll_time = 0.0
        self._iteration_started = _perf_counter()

    def poll_started(self) -> None:
        self._poll_started = _perf_counter()

    def poll_finished(self, events: int) -> None:
        self.poll_time += _perf_counter() - self._poll_started
        self.totals.io_events += events

    def iteration_finished(self, handles: int, timers: int) -> None:
        busy = _perf_counter() - self._iteration_started - self.poll_time
        totals = self.totals
        totals.iterations += 1
        totals.poll_time += self.poll_time
        totals.busy_time += busy
        totals.callbacks += handles - timers
        totals.timers_fired += timers
        if busy > totals.longest_iteration:
            totals.longest_iteration = busy
        if busy >= self.slow:
            totals.slow_iterations += 1
            _logger.warning(
                "Loop iteration took %.3f seconds outside the poller "
                "(%d callbacks, %d timers; waited %.3f seconds)",
                busy,
                handles - timers,
                timers,
                self.poll_time,
            )


def _meter(loop: Any) -> Meter:
    """The loop's meter (made by the created hook below)."""
    meter: Meter = services(loop).state(PLUGIN_NAME, _no_meter)
    return meter


def _no_meter() -> Meter:
    raise RuntimeError("the instruments plugin did not set this loop up")


def stats(self: Any) -> LoopStats:
    """A snapshot of this loop's iteration statistics."""
    return dataclasses.replace(_meter(self).totals)


def reset_stats(self: Any) -> None:
    """Start the totals again from zero."""
    _meter(self).totals = LoopStats()


def _get_slow(self: Any) -> float:
    return _meter(self).slow


def _set_slow(self: Any, seconds: float) -> None:
    _meter(self).slow = seconds


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
        "slow_iteration_duration": property(
            _get_slow,
            _set_slow,
            doc="Iterations busy for this long (seconds) are counted and logged.",
        ),
    }


@hookimpl
def loopkit_loop_created(loop: Any) -> None:
    """Observe this loop's iterations with a new meter."""
    loop_services = services(loop)
    meter = loop_services.state(PLUGIN_NAME, lambda: Meter(DEFAULT_SLOW_ITERATION))
    loop_services.observe(meter)
