"""The fault injector as a loopkit plugin object.

Hooks used, and why each is the least invasive seam:

* ``loopkit_pollers``: offers the ``faulty`` poller (wrapping the best real
  one) with the highest priority, so a loop made without ``poller=`` polls
  through it; naming a real poller turns poller faults off.
* ``loopkit_loop_created``: gives the loop its :class:`LoopFaults` and
  replaces ``loop._fd_owners`` (the kernel's fd -> transport map that every
  transport fills when it takes its fd) with a map that also *adopts* each
  transport: its socket becomes a faulty socket, a pipe transport gets a
  faulty ``_os_read`` / ``_os_readv`` / ``_os_write``. No transport code changes.
* ``loopkit_loop_overrides`` of ``_add_reader`` / ``_add_writer``: adopts
  the non-blocking sockets passed to watchers, which is how a server's
  listening sockets (``accept``) and the ``sock_*`` calls' sockets are
  reached. It then calls the kernel's own method.

It must never be used outside tests.
"""

from __future__ import annotations

import collections
import os
import socket
import weakref
from collections.abc import Callable
from typing import Any

from loopkit.core.hookspecs import hookimpl
from loopkit.core.kernel import KernelLoop
from loopkit.core.poller import PollerInfo
from loopkit.testing.faults.plan import FaultPlan, LoopFaults
from loopkit.testing.faults.poller import FaultyPoller
from loopkit.testing.faults.wrappers import (
    adopt_socket,
    faulty_read,
    faulty_readv,
    faulty_write,
    socket_class_for,
)

#: Loops made so far per label: the n-th loop of a test gets the same
#: generator whether the test runs alone or in a whole session.
_loops_per_label: collections.Counter[str] = collections.Counter()


class _AdoptingOwners(weakref.WeakValueDictionary[int, Any]):
    """The kernel's fd -> transport map, adopting each transport it is given."""

    def __init__(self, adopt: Callable[[Any], None]) -> None:
        super().__init__()
        self._adopt = adopt

    def __setitem__(self, fd: int, transport: Any) -> None:
        super().__setitem__(fd, transport)
        self._adopt(transport)


def faults_of(loop: Any) -> LoopFaults:
    """The :class:`LoopFaults` of a loop made with a :class:`FaultInjector`."""
    faults: LoopFaults = loop._loopkit_faults
    return faults


def _adopt_args(loop: Any, args: tuple[Any, ...]) -> None:
    klass = getattr(loop, "_loopkit_fault_socket_class", None)
    if klass is None:
        return
    for arg in args:
        if isinstance(arg, socket.socket) and arg.gettimeout() == 0:
            adopt_socket(arg, klass)


def _add_reader(self: Any, fd: Any, callback: Callable[..., object], *args: Any) -> Any:
    _adopt_args(self, args)
    return KernelLoop._add_reader(self, fd, callback, *args)


def _add_writer(self: Any, fd: Any, callback: Callable[..., object], *args: Any) -> Any:
    _adopt_args(self, args)
    return KernelLoop._add_writer(self, fd, callback, *args)


class FaultInjector:
    """A plugin object: loops made with it inject faults according to ``plan``."""

    LOOPKIT_PLUGIN_NAME = "faultinject"

    def __init__(self, plan: FaultPlan, label: Callable[[], str] | None = None) -> None:
        self.plan = plan
        self._label = label or (lambda: "")

    @hookimpl
    def loopkit_pollers(self) -> list[PollerInfo]:
        return [
            PollerInfo(
                name="faulty",
                create=FaultyPoller,
                priority=1000,
                description="test-only: the best real poller, with injected faults",
            )
        ]

    @hookimpl
    def loopkit_loop_overrides(self) -> dict[str, Any]:
        return {"_add_reader": _add_reader, "_add_writer": _add_writer}

    @hookimpl
    def loopkit_loop_created(self, loop: Any) -> None:
        label = self._label()
        _loops_per_label[label] += 1
        faults = LoopFaults(self.plan, f"{label}#{_loops_per_label[label]}")
        loop._loopkit_faults = faults
        klass = socket_class_for(faults)
        loop._loopkit_fault_socket_class = klass
        if isinstance(loop._poller, FaultyPoller):
            loop._poller.attach(loop, faults)

        def adopt(transport: Any) -> None:
            if getattr(transport, "_loopkit_faults_adopted", False):
                return
            sock = getattr(transport, "_sock", None)
            adopted = sock is not None and adopt_socket(sock, klass)
            if "_os_read" in dir(type(transport)):
                transport._os_read = faulty_read(faults)
                adopted = True
            if "_os_readv" in dir(type(transport)):
                transport._os_readv = faulty_readv(faults)
                adopted = True
            if "_os_write" in dir(type(transport)):
                transport._os_write = faulty_write(faults)
                adopted = True
            if adopted:
                transport._loopkit_faults_adopted = True

        owners = _AdoptingOwners(adopt)
        owners.update(loop._fd_owners)
        loop._fd_owners = owners


def label_from_pytest() -> str:
    """The running test's id (without the phase), to derive a per-test generator."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    return current.rsplit(" ", 1)[0]
