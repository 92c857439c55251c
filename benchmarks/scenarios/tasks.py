"""Tasks: creating and gathering them, and switching between them."""

from __future__ import annotations

import asyncio

from benchmarks.scenarios._common import on_fresh_loop
from benchmarks.scenarios._registry import LoopFactory, Sample, scenario

#: Tasks gathered at once; large enough to amortise gather(), small enough
#: that memory use stays modest at any size.
_GATHER_BATCH = 1000


async def _noop() -> None:
    return None


def _create_and_gather(loop: asyncio.AbstractEventLoop, n: int) -> int:
    async def main() -> None:
        create_task = loop.create_task
        for start in range(0, n, _GATHER_BATCH):
            count = min(_GATHER_BATCH, n - start)
            await asyncio.gather(*[create_task(_noop()) for _ in range(count)])

    loop.run_until_complete(main())
    return n


@scenario("tasks_gather", family="tasks", unit="tasks/s", size=75_000)
def tasks_gather(new_loop: LoopFactory, n: int) -> Sample:
    """create_task of a trivial coroutine, gathered 1000 at a time (tasks/s)."""
    return on_fresh_loop(new_loop, n, _create_and_gather)


async def _player(rounds: int) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


def _ping_pong(loop: asyncio.AbstractEventLoop, n: int) -> int:
    rounds = max(1, n // 2)

    async def main() -> None:
        await asyncio.gather(_player(rounds), _player(rounds))

    loop.run_until_complete(main())
    return 2 * rounds


@scenario("sleep0_pingpong", family="tasks", unit="switches/s", size=200_000)
def sleep0_pingpong(new_loop: LoopFactory, n: int) -> Sample:
    """Two tasks alternate through await asyncio.sleep(0) (task switches/s)."""
    return on_fresh_loop(new_loop, n, _ping_pong)
