"""Callback scheduling: call_soon in bulk, chained, and from another thread."""

from __future__ import annotations

import asyncio
import threading

from benchmarks.scenarios._common import on_fresh_loop
from benchmarks.scenarios._registry import LoopFactory, Sample, scenario

#: Callbacks queued at once by call_soon; the last of a batch queues the next.
_BATCH = 1000


def _call_soon_batches(loop: asyncio.AbstractEventLoop, n: int) -> int:
    left = n

    def tick() -> None:
        nonlocal left
        left -= 1
        if not left:
            loop.stop()

    def last_of_batch() -> None:
        tick()
        if left:
            queue_batch()

    def queue_batch() -> None:
        call_soon = loop.call_soon
        for _ in range(min(_BATCH, left) - 1):
            call_soon(tick)
        call_soon(last_of_batch)

    queue_batch()
    loop.run_forever()
    return n


@scenario("call_soon", family="callbacks", unit="callbacks/s", size=300_000)
def call_soon(new_loop: LoopFactory, n: int) -> Sample:
    """call_soon in batches of 1000 from a callback, each batch run by the loop (callbacks/s)."""
    return on_fresh_loop(new_loop, n, _call_soon_batches)


def _call_soon_chain(loop: asyncio.AbstractEventLoop, n: int) -> int:
    left = n

    def tick() -> None:
        nonlocal left
        left -= 1
        if left:
            loop.call_soon(tick)
        else:
            loop.stop()

    loop.call_soon(tick)
    loop.run_forever()
    return n


@scenario("call_soon_chain", family="callbacks", unit="iterations/s", size=200_000)
def call_soon_chain(new_loop: LoopFactory, n: int) -> Sample:
    """Each callback schedules the next: one callback per loop iteration (iterations/s)."""
    return on_fresh_loop(new_loop, n, _call_soon_chain)


def _call_soon_threadsafe(loop: asyncio.AbstractEventLoop, n: int) -> int:
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if done == n:
            loop.stop()

    def produce() -> None:
        schedule = loop.call_soon_threadsafe
        for _ in range(n):
            schedule(tick)

    producer = threading.Thread(target=produce)
    loop.call_soon(producer.start)
    loop.run_forever()
    producer.join()
    return n


@scenario("call_soon_threadsafe", family="callbacks", unit="callbacks/s", size=100_000)
def call_soon_threadsafe(new_loop: LoopFactory, n: int) -> Sample:
    """Another thread sends n callbacks; timed until the loop has run them all (callbacks/s)."""
    return on_fresh_loop(new_loop, n, _call_soon_threadsafe)
