"""What a test leaves behind: file descriptors, threads, child processes, loops, tasks.

The suite-wide fixture in ``tests/conftest.py`` takes a :class:`Snapshot`
before each test and asks :func:`find_leaks` afterwards. Each finding is one
line naming the resource exactly (``fd 17 -> socket:[4242]``, ``thread
'asyncio_0'``, ``child pid 123 (sleep, state Z)``, ``unclosed loop <...>``,
``pending task <Task ...>``), so a failure says what to fix.

This module only observes. It never closes, joins, kills or reaps anything
itself (the fixture decides what to clean up after reporting), and it never
counts resources that existed before the test started.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from loopkit.core.kernel import KernelLoop

#: Every event loop made since the last :func:`forget_loops`, held strongly:
#: a loop a test dropped without closing would otherwise be closed by its
#: ``__del__`` (with only a ResourceWarning) before anyone could see it open.
_loops: list[asyncio.AbstractEventLoop] = []
_installed = False
#: Off while a test marked ``leaks_allowed`` runs: its loops are not held
#: (a test may drop a loop on purpose, to see it warn when collected).
tracking = True


def install_loop_tracker() -> None:
    """Record every loopkit and asyncio loop made from now on (idempotent).

    Wraps ``KernelLoop.__init__`` and ``asyncio.BaseEventLoop.__init__``; the
    wrappers add the new loop to a weak set and do nothing else.
    """
    global _installed
    if _installed:
        return
    _installed = True
    for cls in (KernelLoop, asyncio.BaseEventLoop):
        _wrap_init(cls)


def _wrap_init(cls: type[Any]) -> None:
    original: Callable[..., None] = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if tracking:
            _loops.append(self)
        original(self, *args, **kwargs)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    cls.__init__ = __init__


def open_fds() -> dict[int, str]:
    """This process's open fds and what each refers to."""
    fds: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the listing's own fd, closed by now
            continue
    return fds


def child_processes() -> dict[int, str]:
    """Direct children of this process (zombies included): pid -> "name, state X"."""
    pids = _child_pids()
    children: dict[int, str] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat_file:
                stat = stat_file.read().decode("ascii", "replace")
        except OSError:  # reaped while we looked
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        comm_end = stat.rfind(")")
        fields = stat[comm_end + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == os.getpid():
            comm = stat[stat.find("(") + 1 : comm_end]
            children[pid] = f"{comm}, state {fields[0]}"
    return children


def _child_pids() -> set[int]:
    """The pids whose parent is this process.

    Each thread's ``children`` file lists them cheaply where the kernel has
    CONFIG_PROC_CHILDREN; otherwise every process in /proc is looked at.
    """
    pids: set[int] = set()
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as children_file:
                pids.update(int(pid) for pid in children_file.read().split())
    except FileNotFoundError:
        return {int(entry) for entry in os.listdir("/proc") if entry.isdigit()}
    return pids


@dataclass
class Snapshot:
    """The resources alive when a test began."""

    fds: dict[int, str] = field(default_factory=open_fds)
    threads: set[threading.Thread] = field(default_factory=lambda: set(threading.enumerate()))
    children: set[int] = field(default_factory=lambda: set(child_processes()))
    loops: int = field(default_factory=lambda: len(_loops))


def new_loops(before: Snapshot) -> list[asyncio.AbstractEventLoop]:
    """The loops made since ``before``."""
    return _loops[before.loops :]


def forget_loops() -> None:
    """Let go of every loop recorded so far (after a test's check)."""
    _loops.clear()


def _pending_tasks(loops: Iterable[asyncio.AbstractEventLoop]) -> list[str]:
    found = []
    for loop in loops:
        for task in asyncio.all_tasks(loop):
            if not task.done():
                found.append(f"pending task {task!r} on {loop!r}")
    return found


def find_leaks(before: Snapshot, grace: float = 1.0) -> list[str]:
    """Everything alive now that was not alive at ``before``, one line each.

    Resources that are going away on their own (an executor thread finishing
    its shutdown, a child being reaped by a watcher thread, an fd held only
    by garbage) get up to ``grace`` seconds: garbage is collected, threads are
    joined, and the check is repeated before anything is reported.
    """
    deadline = time.monotonic() + grace
    leaks = _find_once(before, deadline)
    while leaks:
        # Collecting garbage is the slow part: only done when something is left.
        gc.collect()
        leaks = _find_once(before, deadline)
        if not leaks or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    return leaks


def _find_once(before: Snapshot, deadline: float) -> list[str]:
    leaks: list[str] = []
    loops = new_loops(before)
    for loop in loops:
        if not loop.is_closed():
            leaks.append(f"unclosed loop {loop!r}")
    # Tasks still pending on a loop the test made: on an open loop they
    # would run later by surprise; on a closed one they can never finish.
    leaks.extend(_pending_tasks(loops))
    for thread in threading.enumerate():
        if thread in before.threads or thread is threading.current_thread():
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            leaks.append(f"thread {thread.name!r} ({thread!r})")
    for pid, description in child_processes().items():
        if pid not in before.children:
            leaks.append(f"child pid {pid} ({description}) not waited for")
    for fd, target in sorted(open_fds().items()):
        if before.fds.get(fd) != target:
            leaks.append(f"fd {fd} -> {target}")
    return leaks
