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
and resolves the caller's future with the outcome; :func:`watch` is the
watcher part alone, for calls whose retry is more than "call it again"
(sock_sendall's partial progress). It lives here rather than in a module of
its own so that a trimmed loop imports no module beyond its families.

What it must never do: leave a watcher behind once the future is done
(result, error or cancellation), remove a watcher that a later call put on
the same fd, or swallow an error of the socket (it goes to the future).
"""

from __future__ import annotations

from asyncio import futures
from collections.abc import Callable
from typing import Any

__all__ = ["TRY_AGAIN", "retry_when_ready", "watch"]

#: What a non-blocking socket raises when it is not ready.
TRY_AGAIN = (BlockingIOError, InterruptedError)


def watch(
    loop: Any,
    fd: int,
    writing: bool,
    callback: Callable[..., None],
    fut: futures.Future[Any],
    *args: Any,
) -> None:
    """Call ``callback(fut, *args)`` whenever ``fd`` is ready, until ``fut`` is done.

    An fd owned by a live transport is refused (RuntimeError, as asyncio).
    """
    loop._ensure_fd_free(fd)
    if writing:
        handle = loop._add_writer(fd, callback, fut, *args)
        remove = loop._remove_writer
    else:
        handle = loop._add_reader(fd, callback, fut, *args)
        remove = loop._remove_reader

    def unwatch(_: futures.Future[Any]) -> None:
        # A cancelled handle was replaced by a later watcher on the same fd:
        # that one is not ours to remove.
        if not handle.cancelled():
            remove(fd)

    fut.add_done_callback(unwatch)


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
    else:
        fut.set_result(result)


def retry_when_ready(
    loop: Any,
    fd: int,
    writing: bool,
    operation: Callable[..., Any],
    *args: Any,
) -> futures.Future[Any]:
    """A future of ``operation(*args)``, retried each time ``fd`` is ready.

    "Try again" from the operation means "not yet"; any other exception
    ends the wait and becomes the future's.
    """
    fut: futures.Future[Any] = loop.create_future()
    watch(loop, fd, writing, _retry, fut, operation, *args)
    return fut
