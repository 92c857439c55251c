"""``add_signal_handler`` / ``remove_signal_handler``: the per-loop side of signals.

A loop keeps its handlers in its :class:`~loopkit.plugins.signals.table.SignalTable`
(signal number -> :class:`asyncio.Handle`), the plugin's per-loop state. The Python-level handler
installed with :func:`signal.signal` does nothing: the interpreter's C-level
handler writes the signal number to the wake-up fd, and the loop that owns
the signal queues the Handle as an ordinary callback (see
:mod:`loopkit.plugins.signals.channel`). So a callback never runs inside a
signal handler, and it may call any loop method.

This module must never touch the wake-up fd or another loop's handlers
itself: that is the channel's job.
"""

from __future__ import annotations

import errno
import signal
import sys
import warnings
from asyncio import coroutines, events
from collections.abc import Callable
from types import FrameType
from typing import Any

from loopkit.plugin import services
from loopkit.plugins.signals import channel
from loopkit.plugins.signals.table import existing_table, table


class UncatchableSignalError(ValueError, RuntimeError):
    """SIGKILL and SIGSTOP cannot be handled.

    asyncio's documentation promises ValueError for an uncatchable signal
    while its code raises RuntimeError ("sig 9 cannot be caught"); this
    error is both, so code written against either keeps working.
    """


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: the wake-up fd already carries the number."""


def _check_signal(sig: Any) -> None:
    if not isinstance(sig, int):
        raise TypeError(f"sig must be an int, not {sig!r}")
    if sig not in signal.valid_signals():
        raise ValueError(f"invalid signal number {sig}")


def _default_disposition(sig: int) -> Any:
    """What a signal nobody handles gets back: Python's own defaults."""
    return signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL


def add_signal_handler(self: Any, sig: int, callback: Callable[..., object], *args: Any) -> None:
    """Call ``callback(*args)`` on this loop each time ``sig`` arrives.

    The callback runs as an ordinary loop callback, never inside the signal
    handler. A signal that arrives while the loop waits for I/O wakes it. A
    second call for the same signal replaces the handler. Only from the main
    thread (RuntimeError elsewhere); TypeError for a coroutine; ValueError
    for an invalid signal number, :class:`UncatchableSignalError` (a
    ValueError and a RuntimeError) for SIGKILL and SIGSTOP.
    """
    if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
        raise TypeError("coroutines cannot be used with add_signal_handler()")
    _check_signal(sig)
    services(self).check_closed()
    handlers = table(self).handlers
    channel.attach(self)
    replaced = handlers.get(sig)
    try:
        signal.signal(sig, _ignore_signal)
        # Interrupted system calls restart instead of failing with EINTR.
        signal.siginterrupt(sig, False)
    except OSError as exc:
        if not handlers:
            channel.detach(self)
        if exc.errno == errno.EINVAL:
            raise UncatchableSignalError(f"sig {sig} cannot be caught") from None
        raise
    handlers[sig] = events.Handle(callback, args, self, None)
    channel.claim(self, sig)
    if replaced is not None:
        replaced.cancel()


def remove_signal_handler(self: Any, sig: int) -> bool:
    """Remove this loop's handler for ``sig``; True if there was one.

    A dispatch already queued for the removed handler does not run. Unless
    another loop also handles ``sig``, its default disposition comes back
    (SIGINT: :func:`signal.default_int_handler`, so Ctrl-C raises
    KeyboardInterrupt again). When the loop's last handler goes, the
    wake-up fd that was installed before comes back too.
    """
    _check_signal(sig)
    found = existing_table(self)
    if found is None:
        return False
    handlers = found.handlers
    handle = handlers.pop(sig, None)
    if handle is None:
        return False
    handle.cancel()
    try:
        if not channel.release(self, sig):
            signal.signal(sig, _default_disposition(sig))
    finally:
        if not handlers:
            channel.detach(self)
    return True


def closing(loop: Any) -> None:
    """Closing a loop removes its handlers and gives the wake-up fd back.

    During interpreter shutdown the handlers are dropped without touching
    dispositions (warning with ResourceWarning), as asyncio does.
    """
    found = existing_table(loop)
    if found is None or not found.handlers:
        return
    handlers = found.handlers
    if sys.is_finalizing():
        warnings.warn(
            f"Closing the loop {loop!r} on interpreter shutdown stage, "
            "skipping signal handlers removal",
            ResourceWarning,
            source=loop,
            stacklevel=2,
        )
        handlers.clear()
        return
    errors: list[BaseException] = []
    for sig in list(handlers):
        try:
            remove_signal_handler(loop, sig)
        except Exception as exc:
            errors.append(exc)
    handlers.clear()
    channel.detach(loop)
    if errors:
        raise errors[0]
