"""Loop lifecycle: how fast a loop is made and closed."""

from __future__ import annotations

import time

from benchmarks.scenarios._registry import LoopFactory, Sample, scenario


@scenario("loop_create_close", family="lifecycle", unit="loops/s", size=5_000)
def loop_create_close(new_loop: LoopFactory, n: int) -> Sample:
    """new_event_loop() then close(), n times (loops/s).

    A warm-up first, so one-time work (loopkit's cached assembly, imports)
    is not counted: this is the cost every further loop pays.
    """
    for _ in range(max(1, n // 10)):
        new_loop().close()
    start_cpu = time.process_time()
    start = time.perf_counter()
    for _ in range(n):
        new_loop().close()
    elapsed = time.perf_counter() - start
    return Sample(ops=n, seconds=elapsed, cpu_seconds=time.process_time() - start_cpu)
