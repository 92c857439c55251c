"""The process-wide channel that carries signal numbers to loopkit loops.

Signal dispositions and the interpreter's wake-up fd
(:func:`signal.set_wakeup_fd`) belong to the process, not to a loop. This
module is the one place that owns them on loopkit's behalf:

* one non-blocking socket pair, created when the first loop adds a signal
  handler and closed when the last loop lets go of its handlers. Its write
  end is the interpreter's wake-up fd: the C-level signal handler writes one
  byte, the signal number, per signal caught. Its read end is watched by
  every loop that has at least one handler, so whichever of them is running
  wakes up and reads the numbers;
* the wake-up fd that was installed before loopkit took over, put back when
  the channel closes (unless somebody replaced loopkit's fd in between: then
  theirs is left in place);
* for each signal, the loops that have a handler for it, newest last. The
  newest one *owns* the signal, like the newest ``signal.signal()`` call owns
  a disposition: a number read by another loop is forwarded to the owner
  with ``call_soon_threadsafe``, so it runs on its own loop even when that
  loop was idle at the time.

A child made by ``os.fork()`` inherits all of this but none of the loops'
work: it forgets it (see :func:`_forget_in_child`).

This module must never run a user callback (it hands signal numbers to the
owning loop's :class:`~loopkit.plugins.signals.table.SignalTable`), and must
never hold a loop after that loop has closed or removed its last handler.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from typing import Any

from loopkit.plugin import services
from loopkit.plugins.signals.table import existing_table

_log = logging.getLogger("loopkit.plugins.signals")

#: Bytes read from the channel per recv; a flood is drained in a few calls.
_READ_SIZE = 4096


class _SocketPair:
    """The two ends of the channel, both non-blocking and not inheritable."""

    __slots__ = ("reader", "writer")

    def __init__(self) -> None:
        self.reader, self.writer = socket.socketpair()
        self.reader.setblocking(False)
        self.writer.setblocking(False)

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


_pair: _SocketPair | None = None
#: The wake-up fd found when loopkit installed its own (-1: none).
_saved_wakeup_fd = -1
#: Loops with at least one signal handler, in the order they attached.
_attached: list[Any] = []
#: signal number -> loops with a handler for it, the owner last.
_owners: dict[int, list[Any]] = {}


def attach(loop: Any) -> None:
    """Make sure signals reach ``loop``: install the wake-up fd, watch the channel.

    Called on every ``add_signal_handler``. Setting the wake-up fd is also
    the main-thread check: the interpreter refuses it elsewhere, and that
    refusal becomes RuntimeError as in asyncio. If another library replaced
    loopkit's wake-up fd since the last call, loopkit takes it back and
    remembers theirs as the one to restore.
    """
    global _pair, _saved_wakeup_fd
    created = _pair is None
    pair = _pair if _pair is not None else _SocketPair()
    try:
        previous = signal.set_wakeup_fd(pair.writer.fileno(), warn_on_full_buffer=False)
    except (ValueError, OSError) as exc:
        if created:
            pair.close()
        raise RuntimeError(str(exc)) from None
    if created:
        _pair = pair
    if previous != pair.writer.fileno():
        _saved_wakeup_fd = previous
    if loop not in _attached:
        services(loop).add_reader(pair.reader.fileno(), _read_signals, loop)
        _attached.append(loop)


def detach(loop: Any) -> None:
    """``loop`` has no handler left: stop watching; the last one out restores the fd.

    Failures to restore are logged, as asyncio logs a failed
    ``set_wakeup_fd(-1)``. If the interpreter refuses (not the main thread)
    the channel stays open, because the interpreter still writes to it:
    closing it would let the C handler write into whatever file reuses the
    fd number.
    """
    global _pair, _saved_wakeup_fd
    if loop not in _attached:
        return
    _attached.remove(loop)
    pair = _pair
    if pair is None:  # pragma: no cover - attached implies a channel
        return
    if not loop.is_closed():
        services(loop).remove_reader(pair.reader.fileno())
    if _attached:
        return
    ours = pair.writer.fileno()
    try:
        current = signal.set_wakeup_fd(_saved_wakeup_fd)
    except ValueError as exc:
        if "main thread" in str(exc):
            _log.info("set_wakeup_fd(%d) failed: %s", _saved_wakeup_fd, exc)
            return
        current = _restore_default(exc)
    except OSError as exc:
        current = _restore_default(exc)
    if current not in (ours, -1):
        # Somebody installed their own fd after ours: it stays.
        signal.set_wakeup_fd(current)
    _saved_wakeup_fd = -1
    _pair = None
    pair.close()


def _restore_default(exc: BaseException) -> int:
    """The saved fd is gone (closed since): fall back to no wake-up fd at all."""
    _log.info("set_wakeup_fd(%d) failed: %s", _saved_wakeup_fd, exc)
    return signal.set_wakeup_fd(-1)


def claim(loop: Any, sig: int) -> None:
    """``loop`` now owns ``sig`` (it added the newest handler for it)."""
    loops = _owners.setdefault(sig, [])
    if loop in loops:
        loops.remove(loop)
    loops.append(loop)


def release(loop: Any, sig: int) -> bool:
    """``loop`` no longer handles ``sig``; True if another loop still does."""
    loops = _owners.get(sig)
    if loops is None:
        return False
    if loop in loops:
        loops.remove(loop)
    if loops:
        return True
    del _owners[sig]
    return False


def owner(sig: int) -> Any:
    """The loop whose handler runs for ``sig``, or None."""
    loops = _owners.get(sig)
    return loops[-1] if loops else None


def _read_signals(loop: Any) -> None:
    """Reader callback of the channel: hand each signal number to its owner."""
    pair = _pair
    if pair is None:
        return
    reader = pair.reader
    while True:
        try:
            data = reader.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # closed under us by the last loop detaching
            return
        if not data:  # pragma: no cover - our write end is never shut down
            return
        for sig in data:
            target = owner(sig)
            if target is None:
                continue  # a signal with a Python handler of its own (SIGINT)
            found = existing_table(target)
            if found is None:  # pragma: no cover - an owner has a table
                continue
            if target is loop:
                found.dispatch(sig)
            else:
                try:
                    target.call_soon_threadsafe(found.dispatch, sig)
                except RuntimeError:  # closed meanwhile from another thread
                    pass
        if len(data) < _READ_SIZE:
            return


def _forget_in_child() -> None:
    """After ``os.fork()``: the child must not feed signals to its parent's loops.

    The socket pair is shared with the parent, so a signal the child gets
    would be read, and handled, by the parent. The child gets no wake-up fd,
    the default dispositions back for the signals loopkit caught (nothing in
    the child would run their handlers), and its copies of the sockets
    closed. asyncio 3.12+ resets the wake-up fd at fork the same way; it
    leaves the dispositions, which makes such a child deaf to SIGTERM.
    """
    global _pair, _saved_wakeup_fd
    pair = _pair
    if pair is None:
        return
    try:
        current = signal.set_wakeup_fd(-1)
        if current != pair.writer.fileno():
            signal.set_wakeup_fd(current)
        for sig in _owners:
            signal.signal(
                sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
            )
    except ValueError:  # forked from a thread other than the main one
        pass
    _owners.clear()
    _attached.clear()
    _saved_wakeup_fd = -1
    _pair = None
    pair.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
