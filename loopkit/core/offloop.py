"""The loop's helper threads: calls that may block, kept off the loop thread.

The loop thread never makes a call that can wait on the disk or on a child
(spawning a process, ``os.sendfile``, looking at or removing a socket
file): such calls run in a small pool of threads that belongs to the loop,
made on first use and shut down, without waiting, when the loop closes.

Why not the loop's default executor: a program may replace that one (with a
pool busy with its own jobs) or shut it down, and a spawn or a sendfile
must neither wait behind it nor fail because of it.

Plugins reach these through :class:`loopkit.core.services.LoopServices`
(``off_loop``, ``settled_off_loop``, ``off_loop_pool``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

#: Helper threads per loop, at most: calls beyond wait their turn.
OFF_LOOP_THREADS = 4


class OffLoop:
    """One loop's helper threads (the pool is made on first use)."""

    __slots__ = ("_loop", "_pool")

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def pool(self) -> concurrent.futures.ThreadPoolExecutor:
        """The pool, made on first use; RuntimeError on a closed loop."""
        pool = self._pool
        if pool is None:
            if self._loop.is_closed():
                raise RuntimeError("Event loop is closed")
            pool = self._pool = concurrent.futures.ThreadPoolExecutor(
                OFF_LOOP_THREADS, thread_name_prefix="loopkit-offloop"
            )
        return pool

    def run(self, func: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        """``func(*args)`` in a helper thread; await the returned future.

        Cancelling the future drops a call that has not started; one that
        has started runs to its end (use :meth:`settled` for a call whose
        effect must be undone if the caller gives up).
        """
        return asyncio.wrap_future(self.pool().submit(func, *args), loop=self._loop)

    async def settled(self, func: Callable[..., _T], *args: Any) -> tuple[_T, bool]:
        """``(func(*args), cancelled)``, for a call whose result must not be lost.

        A cancellation before the call began drops it and is raised. One that
        comes while it runs cannot stop it: the result is awaited anyway and
        returned with ``cancelled`` True, so that the caller undoes it (kills
        the child, closes the socket) before raising CancelledError. Should
        the call fail after a cancellation, CancelledError is raised.
        """
        call = self.pool().submit(func, *args)
        done = asyncio.wrap_future(call, loop=self._loop)
        try:
            return await asyncio.shield(done), False
        except asyncio.CancelledError:
            if call.cancel():
                raise  # never began: nothing to undo
        # Running: wait for its result (shielded again: a second cancellation
        # must not lose it either).
        while True:
            try:
                return await asyncio.shield(done), True
            except asyncio.CancelledError:
                if not done.done():
                    continue
                raise  # pragma: no cover - the call can no longer be cancelled
            except Exception:
                raise asyncio.CancelledError() from None  # it failed: nothing to undo

    def close(self) -> None:
        """The loop is closing: the threads end once their calls are done.

        Not waited for, as the default executor is not: a call already
        queued (the removal of a server's socket file, say) still runs.
        """
        pool = self._pool
        if pool is not None:
            self._pool = None
            pool.shutdown(wait=False)
