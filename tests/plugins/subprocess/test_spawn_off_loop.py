"""Starting a child never blocks the loop: ``Popen`` runs in a helper thread.

A child that takes its time to exec (here a ``preexec_fn`` that waits
0.3 s) holds up ``Popen``; the loop must keep running meanwhile, and a
start-up cancelled during that time must leave no child, fd or thread.
"""

from __future__ import annotations

import asyncio
import select
import time
from collections.abc import Callable
from typing import Any

import pytest
from subprocess_support import PYTHON, Recorder

Run = Callable[..., Any]

SLOW_EXEC = 0.3


def _slow_exec() -> None:
    # select, not time.sleep: runs in the child between fork and exec.
    select.select([], [], [], SLOW_EXEC)


def test_the_loop_runs_while_a_child_is_being_started(run: Run) -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        ticks = 0
        starting = True

        async def ticker() -> None:
            nonlocal ticks
            while starting:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        try:
            transport, proto = await loop.subprocess_exec(
                Recorder, PYTHON, "-c", "pass", preexec_fn=_slow_exec
            )
        finally:
            starting = False
            await task
        await proto.done
        transport.close()
        return ticks

    assert run(main()) >= 5


def test_a_start_cancelled_while_the_child_is_being_made_leaves_nothing(run: Run) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        task = asyncio.create_task(
            loop.subprocess_exec(Recorder, PYTHON, "-c", "pass", preexec_fn=_slow_exec)
        )
        await asyncio.sleep(0.05)
        assert time.monotonic() - started < SLOW_EXEC  # Popen is still running
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The child was made, then killed and reaped: the leak check sees none.

    run(main())


def test_a_start_cancelled_twice_still_leaves_nothing(run: Run) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(
            loop.subprocess_exec(Recorder, PYTHON, "-c", "pass", preexec_fn=_slow_exec)
        )
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
