"""loopkit's transport-family plugins, importable as ``loopkit.plugins.<family>``.

Each family (tcp, udp, unix, pipes, signals, subprocess) is a plugin package
registered in the ``loopkit`` entry-point group, exactly as a third-party
plugin would be. This package itself registers nothing.

It holds the one piece of code that two families share and that belongs to
neither: waiting for a socket to be ready, then trying its operation again.
Every ``sock_*`` call (stream ones in tcp, datagram ones in udp) first tries
its operation directly; only when the kernel says "try again" does it come
here. :func:`retry_when_ready` registers a one-shot watcher on the fd that
retries the operation on each readiness event until it succeeds or fails,
and gives the awaiting caller the outcome; :func:`watched` is the watcher
part alone, for calls whose retry is more than "call it again"
(sock_sendall's partial progress). It lives here rather than in a module of
its own so that a trimmed loop imports no module beyond its families.

What it must never do: leave a watcher behind once the wait is over
(result, error or cancellation), remove a watcher that a later call put on
the same fd, or swallow an error of the socket (it goes to the caller).

It also holds the loop's helper threads (:func:`off_loop`): the loop thread
never makes a call that can block on the disk or on a child (spawning a
process, ``os.sendfile``, looking at or removing a socket file); such calls
run there. The helper is the loop's own, not its default executor: a program
may replace that one (with a pool busy with its own jobs) or shut it down,
and a spawn or a sendfile must not wait behind it or fail for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from asyncio import futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = [
    "TRY_AGAIN",
    "close_off_loop",
    "loop_buffer",
    "off_loop",
    "off_loop_pool",
    "retry_when_ready",
    "settled_off_loop",
    "watched",
]

_T = TypeVar("_T")

#: Helper threads per loop, at most: calls beyond wait their turn.
OFF_LOOP_THREADS = 4

#: What a non-blocking socket raises when it is not ready.
TRY_AGAIN = (BlockingIOError, InterruptedError)


def loop_buffer(loop: Any, name: str, size: int) -> memoryview:
    """The loop's buffer kept in attribute ``name``, of at least ``size``
    bytes, made on first use.

    Each family reads into one buffer per loop (a loop runs in one thread at
    a time, reads are synchronous, and what is read is copied out before
    anyone else runs, so the buffer is free again at once). ``getattr``: the
    TLS layer also runs on loops that are not loopkit's, which lack the
    attribute until it is first set.
    """
    view: memoryview | None = getattr(loop, name, None)
    if view is None or view.nbytes < size:
        view = memoryview(bytearray(size))
        setattr(loop, name, view)
    return view


async def watched(
    loop: Any,
    fd: int,
    writing: bool,
    callback: Callable[..., None],
    fut: futures.Future[Any],
    *args: Any,
) -> Any:
    """Await ``fut`` while ``callback(fut, *args)`` runs whenever ``fd`` is ready.

    The watcher goes as soon as the awaiting coroutine resumes, whatever
    ended the wait (result, error, cancellation): removing it there, rather
    than from a done callback of ``fut``, spares a callback through the
    ready queue per wait. An fd owned by a live transport is refused
    (RuntimeError, as asyncio).
    """
    loop._ensure_fd_free(fd)
    if writing:
        handle = loop._add_writer(fd, callback, fut, *args)
    else:
        handle = loop._add_reader(fd, callback, fut, *args)
    try:
        return await fut
    finally:
        # A cancelled handle was replaced by a later watcher on the same fd:
        # that one is not ours to remove.
        if not handle._cancelled:
            if writing:
                loop._remove_writer(fd)
            else:
                loop._remove_reader(fd)
        # An error raised here keeps this frame in its traceback: without
        # this, error -> frame -> fut -> error is a cycle, kept until the
        # garbage collector runs (asyncio's sock_connect drops it too).
        del fut


def _retry(fut: futures.Future[Any], operation: Callable[..., Any], *args: Any) -> None:
    if fut.done():
        return
    try:
        result = operation(*args)
    except TRY_AGAIN:
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
        del fut  # this frame is in exc's traceback: no fut -> exc cycle
    else:
        fut.set_result(result)


def retry_when_ready(
    loop: Any,
    fd: int,
    writing: bool,
    operation: Callable[..., Any],
    *args: Any,
) -> Coroutine[Any, Any, Any]:
    """Await this for ``operation(*args)``, retried each time ``fd`` is ready.

    "Try again" from the operation means "not yet"; any other exception
    ends the wait and is raised to the awaiting caller.
    """
    return watched(loop, fd, writing, _retry, loop.create_future(), operation, *args)


def off_loop_pool(loop: Any) -> concurrent.futures.ThreadPoolExecutor:
    """The loop's helper threads (made on first use; see :func:`off_loop`)."""
    pool: concurrent.futures.ThreadPoolExecutor | None = getattr(loop, "_loopkit_off_loop", None)
    if pool is None:
        if loop.is_closed():
            raise RuntimeError("Event loop is closed")
        pool = concurrent.futures.ThreadPoolExecutor(
            OFF_LOOP_THREADS, thread_name_prefix="loopkit-offloop"
        )
        loop._loopkit_off_loop = pool
    return pool


def off_loop(loop: Any, func: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
    """``func(*args)`` in one of the loop's helper threads; await the result.

    For a call that may block on the disk or on a child. Cancelling the
    returned future drops a call that has not started; one that has started
    runs to its end (a caller that must undo its effect submits to
    :func:`off_loop_pool` itself and keeps the concurrent future).
    """
    return asyncio.wrap_future(off_loop_pool(loop).submit(func, *args), loop=loop)


async def settled_off_loop(loop: Any, func: Callable[..., _T], *args: Any) -> tuple[_T, bool]:
    """``(func(*args), cancelled)``, run in a helper thread, for a call whose result
    must not be lost (a child, a bound socket).

    A cancellation before the call began drops it and is raised. One that
    comes while it runs cannot stop it: the result is awaited anyway and
    returned with ``cancelled`` True, so that the caller undoes it (kills
    the child, closes the socket) before raising CancelledError. Should the
    call fail after a cancellation, CancelledError is raised.
    """
    call = off_loop_pool(loop).submit(func, *args)
    done = asyncio.wrap_future(call, loop=loop)
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


def close_off_loop(loop: Any) -> None:
    """The loop is closing: its helper threads end once their calls are done.

    Not waited for, as the default executor is not: a call already queued
    (the removal of a server's socket file, say) still runs.
    """
    pool = getattr(loop, "_loopkit_off_loop", None)
    if pool is not None:
        loop._loopkit_off_loop = None
        pool.shutdown(wait=False)
