"""The staggered race behind happy eyeballs, with attempts the test controls.

The attempts here are coroutines waiting on futures the test resolves, so
the interleavings that matter (two winners at once, cancellation while an
attempt is finishing) happen deterministically.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from loopkit.plugins.tcp.eyeballs import staggered_race


def attempts_on(futures: list[asyncio.Future[str]], started: list[int]) -> list[Any]:
    def make(index: int) -> Any:
        async def attempt() -> str:
            started.append(index)
            return await futures[index]

        return attempt

    return [make(i) for i in range(len(futures))]


def test_first_success_wins_and_a_simultaneous_one_is_discarded(run: Any, loop: Any) -> None:
    async def main() -> None:
        futs = [loop.create_future() for _ in range(2)]
        started: list[int] = []
        discarded: list[str] = []
        race = loop.create_task(
            staggered_race(loop, attempts_on(futs, started), 0.01, discarded.append)
        )
        while len(started) < 2:
            await asyncio.sleep(0.01)
        futs[0].set_result("first")
        futs[1].set_result("second")
        assert await race in ("first", "second")
        assert len(discarded) == 1 and discarded[0] != await race

    run(main())


def test_a_failure_starts_the_next_attempt_at_once(run: Any, loop: Any) -> None:
    async def main() -> None:
        futs = [loop.create_future() for _ in range(2)]
        started: list[int] = []
        race = loop.create_task(staggered_race(loop, attempts_on(futs, started), 60, print))
        await asyncio.sleep(0.01)
        assert started == [0]
        futs[0].set_exception(OSError("nope"))
        await asyncio.sleep(0.01)
        assert started == [0, 1]
        futs[1].set_result("ok")
        assert await race == "ok"

    run(main())


def test_all_failing_gives_none(run: Any, loop: Any) -> None:
    async def main() -> None:
        async def fail() -> str:
            raise OSError("no")

        assert await staggered_race(loop, [fail, fail, fail], 0.01, print) is None

    run(main())


def test_cancelling_the_race_cancels_and_disposes_everything(run: Any, loop: Any) -> None:
    async def main() -> None:
        futs = [loop.create_future() for _ in range(3)]
        started: list[int] = []
        discarded: list[str] = []
        race = loop.create_task(
            staggered_race(loop, attempts_on(futs, started), 0.01, discarded.append)
        )
        while len(started) < 3:
            await asyncio.sleep(0.01)
        race.cancel()
        with pytest.raises(asyncio.CancelledError):
            await race
        assert all(fut.cancelled() for fut in futs)
        assert discarded == []

    run(main())
