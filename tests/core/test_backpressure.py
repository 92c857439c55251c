"""A flood of ``call_soon_threadsafe`` from other threads does not starve the loop.

Producers post no-op callbacks as fast as they can; the loop must still end
an ``asyncio.sleep`` in time, its ready queue must stay bounded, and the
callbacks of one thread must still run in the order they were posted.
Every flood here stops by itself within a few seconds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from loopkit.core.backpressure import HIGH_WATER

#: How long a producer floods at most (the test asks it to stop earlier).
_FLOOD_SECONDS = 2.0


def _noop() -> None:
    pass


class _Flood:
    """``count`` threads posting no-op callbacks to ``loop`` until stopped.

    Entered on the running loop; leaving joins the threads there, which
    blocks the loop for a moment, as long as a producer needs to notice.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self.loop = loop
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._produce) for _ in range(count)]

    def _produce(self) -> None:
        post = self.loop.call_soon_threadsafe
        deadline = time.monotonic() + _FLOOD_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline:
            for _ in range(200):
                post(_noop)

    def __enter__(self) -> _Flood:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


@pytest.mark.parametrize("producers", [1, 2, 4, 8])
def test_a_sleep_ends_in_time_and_the_queue_stays_bounded_under_a_flood(
    loop: Any, producers: int
) -> None:
    longest = 0

    def sample() -> None:
        nonlocal longest
        longest = max(longest, len(loop._ready))
        sampler[0] = loop.call_later(0.002, sample)

    sampler = [loop.call_later(0.002, sample)]

    async def main() -> float:
        with _Flood(loop, producers):
            await asyncio.sleep(0.2)  # let the flood build up
            started = time.monotonic()
            await asyncio.sleep(0.05)
            return time.monotonic() - started

    slept = loop.run_until_complete(main())
    sampler[0].cancel()
    assert slept < 0.3, slept
    # HIGH_WATER, one callback per producer past it, and the loop's own few.
    assert longest <= HIGH_WATER + producers + 100, (longest, slept)


def test_callbacks_of_one_thread_keep_their_order_through_the_throttle(loop: Any) -> None:
    count = HIGH_WATER * 5
    seen: list[int] = []

    def post_all() -> None:
        for i in range(count):
            loop.call_soon_threadsafe(seen.append, i)
        loop.call_soon_threadsafe(loop.stop)

    producer = threading.Thread(target=post_all)
    loop.call_soon(producer.start)
    loop.run_forever()
    producer.join()
    assert seen == list(range(count))


def test_the_loop_thread_never_waits_and_keeps_call_soon_order(loop: Any) -> None:
    order: list[int] = []

    def burst() -> None:
        for i in range(0, HIGH_WATER * 3, 2):
            loop.call_soon(order.append, i)
            loop.call_soon_threadsafe(order.append, i + 1)
        loop.call_soon(loop.stop)

    loop.call_soon(burst)
    started = time.monotonic()
    loop.run_forever()
    assert time.monotonic() - started < 1.0
    assert order == list(range(HIGH_WATER * 3))


def test_a_thread_never_waits_for_a_loop_that_is_not_running(loop: Any) -> None:
    def post_many() -> None:
        for _ in range(HIGH_WATER * 3):
            loop.call_soon_threadsafe(_noop)

    producer = threading.Thread(target=post_many)
    started = time.monotonic()
    producer.start()
    producer.join()
    assert time.monotonic() - started < 1.0
    assert len(loop._ready) == HIGH_WATER * 3
