"""Waiting for a socket to be ready, then trying its operation again.

Every ``sock_*`` call (the stream ones of tcp, the datagram ones of udp, a
third party's) first tries its operation directly; only when the kernel
says "try again" does it come here. :func:`retry_when_ready` registers a
one-shot watcher on the fd that retries the operation on each readiness
event until it succeeds or fails, and gives the awaiting caller the
outcome; :func:`watched` is the watcher part alone, for calls whose retry is
more than "call it again" (sock_sendall's partial progress).
:func:`connect_socket` is a non-blocking connect built on them, for stream
families that connect their own sockets (tcp, unix).

Watching goes through the loop's kernel services (:func:`loopkit.plugin.services`),
never through the loop's private attributes.

What it must never do: leave a watcher behind once the wait is over
(result, error or cancellation), remove a watcher that a later call put on
the same fd, or swallow an error of the socket (it goes to the caller).
"""

from __future__ import annotations

import socket
import sys
from asyncio import futures
from collections.abc import Callable, Coroutine
from typing import Any

from loopkit.core.services import services

__all__ = ["TRY_AGAIN", "check_not_ssl_socket", "connect_socket", "retry_when_ready", "watched"]

#: What a non-blocking socket raises when it is not ready.
TRY_AGAIN = (BlockingIOError, InterruptedError)


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
    kernel = services(loop)
    kernel.check_fd_free(fd)
    if writing:
        handle = kernel.add_writer(fd, callback, fut, *args)
    else:
        handle = kernel.add_reader(fd, callback, fut, *args)
    try:
        return await fut
    finally:
        # A cancelled handle was replaced by a later watcher on the same fd:
        # that one is not ours to remove.
        if not handle.cancelled():
            if writing:
                kernel.remove_writer(fd)
            else:
                kernel.remove_reader(fd)
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


def _connect_outcome(sock: socket.socket, address: Any) -> None:
    """Raise the error of a finished non-blocking connect, if it failed."""
    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, f"Connect call failed {address}")


async def connect_socket(loop: Any, sock: socket.socket, address: Any) -> None:
    """Connect a non-blocking socket, without the sock_connect argument checks."""
    try:
        sock.connect(address)
        return
    except TRY_AGAIN:
        pass
    await retry_when_ready(loop, sock.fileno(), True, _connect_outcome, sock, address)


def check_not_ssl_socket(sock: Any) -> None:
    """Refuse an :class:`ssl.SSLSocket` (asyncio does its own TLS over plain sockets)."""
    ssl_module = sys.modules.get("ssl")  # no SSLSocket can exist before ssl is imported
    if ssl_module is not None and isinstance(sock, ssl_module.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")
