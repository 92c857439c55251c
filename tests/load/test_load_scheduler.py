"""The scheduler under load: a million timers, eight threads waking one loop.

Bounded: each test makes at most a million handles and finishes in seconds
on a small machine. Figures (time, peak RSS) go to the terminal summary.
"""

from __future__ import annotations

import gc
import random
import sys
import threading

import pytest
from loadfigures import Figures, rss_kib

import loopkit

pytestmark = pytest.mark.slow

TIMERS = 1_000_000
THREADS = 8
CALLS_PER_THREAD = 100_000


def test_a_million_timers_half_cancelled_fire_in_order_and_free_their_memory(
    figures: Figures,
) -> None:
    """Live timers fire by deadline, ties in scheduling order; none cancelled runs.

    Memory is measured as the interpreter's count of allocated blocks: once
    the loop is closed and the test's own lists are gone, it is back close
    to where it started (a leaked handle per timer would be a million).
    """
    gc.collect()
    blocks_before = sys.getallocatedblocks()
    loop = loopkit.new_event_loop()
    try:
        rng = random.Random(1_000_000)
        fired: list[int] = []
        now = loop.time()
        # 250 distinct deadlines within 0.25 s: thousands of ties each.
        whens = [now + rng.randrange(250) / 1000 for _ in range(TIMERS)]
        handles = [loop.call_at(when, fired.append, index) for index, when in enumerate(whens)]
        for handle in handles[::2]:
            handle.cancel()
        loop.call_at(now + 0.25, loop.stop)  # after every deadline above
        figures.add("timers scheduled", f"{TIMERS:,} ({TIMERS // 2:,} cancelled)")
        figures.add("RSS with the timers scheduled", f"{rss_kib() / 1024:.1f} MiB")
        loop.run_forever()
        # A stable sort of the live indices by deadline keeps ties in index order.
        expected = sorted(range(1, TIMERS, 2), key=whens.__getitem__)
        assert len(fired) == TIMERS // 2
        assert fired == expected
        del handles, whens, fired, expected
    finally:
        loop.close()
    del loop
    gc.collect()
    blocks_left = sys.getallocatedblocks() - blocks_before
    figures.add("allocated blocks left after closing", f"{blocks_left:,}")
    figures.add("RSS after closing", f"{rss_kib() / 1024:.1f} MiB")
    assert blocks_left < TIMERS // 100


def test_eight_threads_of_call_soon_threadsafe_run_every_call_exactly_once(
    figures: Figures,
) -> None:
    loop = loopkit.new_event_loop()
    runs = [bytearray(CALLS_PER_THREAD) for _ in range(THREADS)]
    total = THREADS * CALLS_PER_THREAD
    done = [0]

    def count(thread: int, index: int) -> None:
        runs[thread][index] += 1
        done[0] += 1
        if done[0] == total:
            loop.stop()

    def send(thread: int) -> None:
        call = loop.call_soon_threadsafe
        for index in range(CALLS_PER_THREAD):
            call(count, thread, index)

    senders = [threading.Thread(target=send, args=(t,), name=f"sender-{t}") for t in range(THREADS)]
    try:
        watchdog = loop.call_later(50, loop.stop)
        for sender in senders:
            sender.start()
        loop.run_forever()
        watchdog.cancel()
    finally:
        for sender in senders:
            sender.join()
        loop.close()
    figures.add("calls", f"{THREADS} threads x {CALLS_PER_THREAD:,}")
    assert done[0] == total
    assert all(run.count(1) == CALLS_PER_THREAD for run in runs)
