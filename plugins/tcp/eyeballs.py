"""Happy Eyeballs (RFC 8305): racing connection attempts with staggered starts.

The first attempt starts at once. The next one starts when the previous
attempt fails, or when ``delay`` seconds pass without a winner, whichever
comes first. The first attempt to succeed wins; every other attempt is
cancelled, and any that managed to succeed anyway is handed to ``discard``
(so its socket is closed, not leaked).

What it must never do: leave a task running or a result undisposed after it
returns, including when the caller is cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

_T = TypeVar("_T")


async def staggered_race(
    loop: Any,
    attempts: Sequence[Callable[[], Awaitable[_T]]],
    delay: float,
    discard: Callable[[_T], object],
) -> _T | None:
    """Run ``attempts`` with staggered starts; return the first success or None.

    Failures are not raised here: each attempt records its own errors.
    """
    pending = list(attempts)
    running: set[asyncio.Task[_T]] = set()
    winner: asyncio.Task[_T] | None = None
    try:
        while pending or running:
            if pending:
                running.add(loop.create_task(pending.pop(0)()))
            done, _ = await asyncio.wait(
                running,
                timeout=delay if pending else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in done:
                running.discard(task)
                if winner is None and not task.cancelled() and task.exception() is None:
                    winner = task
                elif not task.cancelled() and task.exception() is None:
                    discard(task.result())
            if winner is not None:
                return winner.result()
            if not done:
                continue  # the delay passed: start the next attempt
            # Something failed: start the next attempt now rather than wait.
        return None
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        for task in running:
            if not task.cancelled() and task.exception() is None:
                discard(task.result())
