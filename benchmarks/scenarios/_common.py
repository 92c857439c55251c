"""Helpers shared by scenario modules: run a body on a fresh loop, timed.

Never put a scenario here: underscore modules are not scanned for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from benchmarks.scenarios._registry import LoopFactory, Sample

#: A scenario body: do ``n`` units of work on ``loop``; return operations done.
Body = Callable[[asyncio.AbstractEventLoop, int], int]


def on_fresh_loop(new_loop: LoopFactory, n: int, body: Body) -> Sample:
    """Warm up on a throwaway loop, then time ``body`` with ``n`` on a fresh one.

    The warm-up lets the interpreter specialise the hot code and the
    allocator settle, so the timed run measures steady state. It runs on a
    loop of its own so that the timed loop starts clean: no counters,
    caches or queues left behind by the warm-up can change what the timed
    run does (asyncio's cancelled-timer count, for one, would carry over).
    """
    warm = new_loop()
    try:
        body(warm, max(1, n // 10))
    finally:
        warm.close()
    loop = new_loop()
    try:
        start_cpu = time.process_time()
        start = time.perf_counter()
        ops = body(loop, n)
        elapsed = time.perf_counter() - start
        elapsed_cpu = time.process_time() - start_cpu
    finally:
        loop.close()
    return Sample(ops=ops, seconds=elapsed, cpu_seconds=elapsed_cpu)
