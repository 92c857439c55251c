"""Method-call cost: a loop method against the same method on a plain class.

loopkit promises that after assembly a loop method is an ordinary method of
an ordinary class. These scenarios time a few cheap loop methods, one from
the kernel that reads state (``get_debug``), one that calls into C
(``time``) and one that a plugin contributes (``set_default_executor``, from
the executor plugin), and time the same calls on :class:`PlainLoop`, a plain
class written the ordinary way. Both sides are timed in the same process,
alternately, best of several rounds; ratio ~1 means "costs what a plain
method costs". The figures include the ``for`` loop's own overhead, which
both sides pay alike (calls are unrolled ten per iteration to keep it small).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Any

from benchmarks.scenarios._registry import LoopFactory, Sample, scenario

#: Alternating rounds per side; the fastest round of each side is kept.
_ROUNDS = 5


class PlainLoop:
    """The stand-in: the same methods, in a class that is not assembled."""

    def __init__(self) -> None:
        self._debug = False
        self._default_executor: concurrent.futures.ThreadPoolExecutor | None = None

    def time(self) -> float:
        return time.monotonic()

    def get_debug(self) -> bool:
        return self._debug

    def set_default_executor(self, executor: concurrent.futures.ThreadPoolExecutor) -> None:
        if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            raise TypeError("executor must be ThreadPoolExecutor")
        self._default_executor = executor


def _call_time(obj: Any, iterations: int, _arg: object) -> None:
    for _ in range(iterations):
        obj.time()
        obj.time()
        obj.time()
        obj.time()
        obj.time()
        obj.time()
        obj.time()
        obj.time()
        obj.time()
        obj.time()


def _call_get_debug(obj: Any, iterations: int, _arg: object) -> None:
    for _ in range(iterations):
        obj.get_debug()
        obj.get_debug()
        obj.get_debug()
        obj.get_debug()
        obj.get_debug()
        obj.get_debug()
        obj.get_debug()
        obj.get_debug()
        obj.get_debug()
        obj.get_debug()


def _call_set_default_executor(obj: Any, iterations: int, arg: object) -> None:
    for _ in range(iterations):
        obj.set_default_executor(arg)
        obj.set_default_executor(arg)
        obj.set_default_executor(arg)
        obj.set_default_executor(arg)
        obj.set_default_executor(arg)
        obj.set_default_executor(arg)
        obj.set_default_executor(arg)
        obj.set_default_executor(arg)
        obj.set_default_executor(arg)
        obj.set_default_executor(arg)


_Caller = Callable[[Any, int, object], None]


def _compare(new_loop: LoopFactory, n: int, call: _Caller, arg: object = None) -> Sample:
    """Best-of-rounds time of ``n`` calls on a real loop and on PlainLoop."""
    iterations = max(1, n // 10)
    loop = new_loop()
    plain = PlainLoop()
    try:
        call(loop, max(1, iterations // 10), arg)
        call(plain, max(1, iterations // 10), arg)
        # Best round per side and per clock: [loop wall, loop cpu, plain wall, plain cpu].
        best = [float("inf")] * 4
        for _ in range(_ROUNDS):
            for side, obj in ((0, loop), (2, plain)):
                start_cpu = time.process_time()
                start = time.perf_counter()
                call(obj, iterations, arg)
                best[side] = min(best[side], time.perf_counter() - start)
                best[side + 1] = min(best[side + 1], time.process_time() - start_cpu)
    finally:
        loop.close()
    return Sample(
        ops=iterations * 10,
        seconds=best[0],
        cpu_seconds=best[1],
        baseline_seconds=best[2],
        baseline_cpu_seconds=best[3],
    )


_COMMON: dict[str, Any] = {
    "family": "methods",
    "unit": "ns/call",
    "kind": "cost",
    "baseline_label": "plain class",
}


@scenario("method_get_debug", size=1_000_000, **_COMMON)
def method_get_debug(new_loop: LoopFactory, n: int) -> Sample:
    """loop.get_debug() vs the same method on a plain class (ns/call)."""
    return _compare(new_loop, n, _call_get_debug)


@scenario("method_time", size=500_000, **_COMMON)
def method_time(new_loop: LoopFactory, n: int) -> Sample:
    """loop.time() vs the same method on a plain class (ns/call)."""
    return _compare(new_loop, n, _call_time)


@scenario("method_plugin", size=500_000, **_COMMON)
def method_plugin(new_loop: LoopFactory, n: int) -> Sample:
    """loop.set_default_executor(pool), a plugin's method, vs a plain class (ns/call)."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return _compare(new_loop, n, _call_set_default_executor, pool)
    finally:
        pool.shutdown(wait=False)
