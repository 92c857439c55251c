"""A child watcher set through asyncio's policy, used the way asyncio uses it.

On Python 3.11-3.13 a program may give asyncio a child watcher
(``asyncio.set_child_watcher(watcher)``, deprecated since 3.12 and gone in
3.14). asyncio then starts every subprocess inside ``with watcher:``,
refuses with RuntimeError when ``watcher.is_active()`` is false (a watcher
not attached to a running loop, say), and leaves the reaping to
``watcher.add_child_handler``. loopkit does the same for such a watcher, so a
program that relies on its watcher (or on the RuntimeError) behaves alike on
both loops.

Two kinds of watcher are *not* used this way: none at all (the usual case,
and always on 3.14+), and the self-sufficient watchers that asyncio's policy
makes by itself on the first ``get_child_watcher()`` call
(``ThreadedChildWatcher``, and ``PidfdChildWatcher`` from 3.12 on: always
active, bound to no loop). For those, loopkit's own pidfd or thread watch
(:mod:`loopkit.plugins.subprocess.watcher`) does exactly their job.

What this module must never do: create a watcher (it only reads the one the
policy holds), or reap a child itself when a policy watcher was given it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from loopkit.plugins.subprocess.watcher import Child, watches

#: Raised, as asyncio raises it, when the policy's watcher is not active.
INACTIVE_MESSAGE = (
    "asyncio.get_child_watcher() is not activated, subprocess support is not installed."
)


def _self_sufficient_types() -> tuple[type, ...]:
    """asyncio's watchers that need no loop and are always active, on this version."""
    types: list[type] = []
    threaded = getattr(asyncio, "ThreadedChildWatcher", None)
    if threaded is not None:
        types.append(threaded)
    pidfd = getattr(asyncio, "PidfdChildWatcher", None)
    if pidfd is not None and sys.version_info >= (3, 12):  # 3.11's needs attach_loop()
        types.append(pidfd)
    return tuple(types)


def policy_child_watcher() -> Any | None:
    """The watcher the current asyncio policy holds, if loopkit must use it; else None.

    The policy's stored watcher is read, never created: asyncio's
    ``get_child_watcher()`` would make one (and warn on 3.12+).
    """
    if not hasattr(asyncio, "AbstractChildWatcher"):  # Python 3.14+: no watchers
        return None
    watcher = getattr(asyncio.get_event_loop_policy(), "_watcher", None)
    if watcher is None or type(watcher) in _self_sufficient_types():
        return None
    return watcher


class PolicyWatch:
    """Hands one child to the policy's watcher; reports its exit on the loop.

    The same interface as :class:`~loopkit.plugins.subprocess.watcher.ChildWatch`
    (``way``, ``detach()``), so the transport does not care which it has.
    The watcher reaps the child and calls back from wherever it runs (a
    thread, a signal handler, the loop); the exit is recorded on the loop
    thread, after which no signal is sent to the pid.
    """

    way = "policy"

    def __init__(
        self, loop: Any, child: Child, callback: Callable[[int], None], watcher: Any
    ) -> None:
        self._loop = loop
        self.child = child
        self._callback = callback
        self._done = False
        watcher.add_child_handler(child.pid, self._reported)
        self._watches = watches(loop)
        self._watches.add(self)

    def _reported(self, pid: int, returncode: int) -> None:
        try:
            self._loop.call_soon_threadsafe(self._finish, returncode)
        except RuntimeError:  # the loop was closed meanwhile: the watcher reaped it
            pass

    def _finish(self, returncode: int) -> None:
        if self._done:
            return
        self._done = True
        self._watches.discard(self)
        self._callback(self.child.reaped_elsewhere(returncode))

    def detach(self) -> None:
        """The loop is closing: stop reporting (the watcher still reaps the child)."""
        self._done = True
        self._watches.discard(self)


def checked_watcher(entered: Any, watcher: Any) -> Any:
    """The watcher to ask ``is_active()`` and to give the child, as this Python's asyncio.

    3.11's asyncio uses what ``watcher.__enter__()`` returned; 3.12 and 3.13
    use the watcher itself. Raises RuntimeError if it is not active.
    """
    used = entered if sys.version_info < (3, 12) else watcher
    if not used.is_active():
        raise RuntimeError(INACTIVE_MESSAGE)
    return used
