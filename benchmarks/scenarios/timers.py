"""Timers: call_later scheduled and fired, with and without cancellations."""

from __future__ import annotations

import asyncio

from benchmarks.scenarios._common import on_fresh_loop
from benchmarks.scenarios._registry import LoopFactory, Sample, scenario

#: Delays cycle through this many distinct microsecond steps (0 .. 1 ms), so
#: the timer heap really has to order its entries, while the whole batch is
#: due almost at once and no run measures the clock instead of the loop.
_DISTINCT_DELAYS = 1000


def _timers(loop: asyncio.AbstractEventLoop, n: int, cancel_every_other: bool) -> int:
    expected = n - n // 2 if cancel_every_other else n
    fired = 0

    def fire() -> None:
        nonlocal fired
        fired += 1
        if fired == expected:
            loop.stop()

    def schedule() -> None:
        call_later = loop.call_later
        handles = [call_later((i % _DISTINCT_DELAYS) * 1e-6, fire) for i in range(n)]
        if cancel_every_other:
            for handle in handles[1::2]:
                handle.cancel()

    loop.call_soon(schedule)
    loop.run_forever()
    return n


@scenario("timers", family="timers", unit="timers/s", size=100_000)
def timers(new_loop: LoopFactory, n: int) -> Sample:
    """n call_later timers (0-1 ms) scheduled, then all fired (timers/s)."""
    return on_fresh_loop(new_loop, n, lambda loop, k: _timers(loop, k, False))


@scenario("timers_half_cancelled", family="timers", unit="timers/s", size=100_000)
def timers_half_cancelled(new_loop: LoopFactory, n: int) -> Sample:
    """n timers scheduled, every other one cancelled, the rest fired (timers scheduled/s)."""
    return on_fresh_loop(new_loop, n, lambda loop, k: _timers(loop, k, True))
