"""Watching a child process until it exits, and reaping it exactly once.

Two ways, chosen per child:

* **pidfd** (Linux 5.3+): ``os.pidfd_open(pid)`` gives an fd that becomes
  readable when the child exits. It is watched with the kernel's ``add_reader``
  like any other fd, so no thread and no signal handler is involved, and it
  works the same on a loop running outside the main thread. When it fires,
  ``os.waitpid(pid, WNOHANG)`` reaps the child on the loop thread.
* **thread** (anywhere else): one daemon thread per child blocks in
  ``os.waitid(..., WNOWAIT)`` until the child exits, reaps it, and hands the
  return code to the loop with ``call_soon_threadsafe``.

``LOOPKIT_CHILD_WATCHER=thread`` forces the thread way (``pidfd`` asks for
pidfd, which still falls back to a thread where pidfd is unavailable).

Rules this module keeps: a child is reaped once, by this module only (or,
for a child handed to a watcher set through asyncio's policy, by that
watcher: :mod:`loopkit.plugins.subprocess.policywatch`), never through the
``Popen`` object, whose ``returncode`` is filled in so that it never reaps
on its own; no signal is sent to a pid once it has
been reaped (the number could belong to another process by then); and a
loop closed while children still run hands them to a reaper thread, so no
zombie is left behind.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from loopkit.plugin import services

_logger = logging.getLogger("asyncio")

#: Environment variable that forces a way of watching children.
ENV_CHILD_WATCHER = "LOOPKIT_CHILD_WATCHER"

#: Reported when the exit status was read by someone else, as asyncio does.
UNKNOWN_RETURNCODE = 255

_pidfd_works: bool | None = None


#: The key of the plugin's per-loop state: the set of live watches of the
#: loop's children (reaped on close).
STATE_KEY = "subprocess"


def watches(loop: Any) -> set[Any]:
    """The live child watches of ``loop`` (its per-loop state, made on first use)."""
    return services(loop).state(STATE_KEY, set)


def pidfd_available() -> bool:
    """Whether ``os.pidfd_open`` exists and the kernel allows it (probed once)."""
    global _pidfd_works
    if _pidfd_works is None:
        if not hasattr(os, "pidfd_open"):
            _pidfd_works = False
        else:
            try:
                os.close(os.pidfd_open(os.getpid()))
            except OSError:
                _pidfd_works = False
            else:
                _pidfd_works = True
    return _pidfd_works


def wants_pidfd() -> bool:
    """Whether new children should be watched through a pidfd."""
    choice = os.environ.get(ENV_CHILD_WATCHER, "").strip().lower()
    if choice == "thread":
        return False
    return pidfd_available()


class Child:
    """One child process: its reaping and its signals, made mutually safe.

    ``reap_*`` and ``send_signal`` hold the same lock, so a signal can never
    reach a pid that was reaped a moment before (and possibly reused).
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.returncode: int | None = None
        self._lock = threading.Lock()

    @property
    def reaped(self) -> bool:
        """True once the exit status was collected."""
        return self.returncode is not None

    def _record(self, status: int | None) -> int:
        if status is None:
            # Someone else waited for it; Popen may know the code.
            known = self.proc.returncode
            if known is not None:
                code = known
            else:
                _logger.warning(
                    "child process pid %d exit status already read: will report returncode 255",
                    self.pid,
                )
                code = UNKNOWN_RETURNCODE
        else:
            code = os.waitstatus_to_exitcode(status)
        self.returncode = code
        if self.proc.returncode is None:
            self.proc.returncode = code
        return code

    def reaped_elsewhere(self, returncode: int) -> int:
        """Record the exit a policy child watcher reaped and reported; the code kept."""
        with self._lock:
            if self.returncode is not None:
                return self.returncode
            self.returncode = returncode
            if self.proc.returncode is None:
                self.proc.returncode = returncode
            return returncode

    def reap_nohang(self) -> int | None:
        """Reap the child if it has exited; its return code, or None if it runs."""
        with self._lock:
            if self.returncode is not None:
                return self.returncode
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return self._record(None)
            if pid == 0:
                return None
            return self._record(status)

    def reap_blocking(self) -> int:
        """Wait (in a thread) for the child to exit, then reap it."""
        if hasattr(os, "waitid"):
            try:
                # Wait without reaping, so that send_signal() is never
                # racing a reap that already freed the pid.
                os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                pass
            with self._lock:
                if self.returncode is not None:
                    return self.returncode
                try:
                    _, status = os.waitpid(self.pid, 0)
                except ChildProcessError:
                    return self._record(None)
                return self._record(status)
        # Without waitid (macOS before Python 3.13), reap directly.
        late_status: int | None
        try:  # pragma: no cover - not reached on Linux
            late_status = os.waitpid(self.pid, 0)[1]
        except ChildProcessError:  # pragma: no cover
            late_status = None
        with self._lock:  # pragma: no cover
            if self.returncode is not None:
                return self.returncode
            return self._record(late_status)

    def kill_if_running(self) -> None:
        """``Popen.kill()`` (what asyncio's ``close()`` calls), unless already reaped.

        Popen may reap the child itself here (its ``poll()``); the status
        then reaches the watcher through ``proc.returncode``.
        """
        with self._lock:
            if self.returncode is not None or self.proc.returncode is not None:
                return
            try:
                self.proc.kill()
            except (ProcessLookupError, PermissionError):  # gone, or a setuid child
                pass

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` unless the child was already reaped (then do nothing)."""
        with self._lock:
            if self.returncode is not None:
                return
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass


def _reap_in_thread(child: Child, deliver: Callable[[int], None] | None) -> threading.Thread:
    def wait() -> None:
        code = child.reap_blocking()
        if deliver is not None:
            deliver(code)

    thread = threading.Thread(target=wait, name=f"loopkit-child-{child.pid}", daemon=True)
    thread.start()
    return thread


def kill_and_reap(child: Child) -> None:
    """A child no watch could be set up for: kill it, and reap it in a thread."""
    child.kill_if_running()
    _reap_in_thread(child, None)


class ChildWatch:
    """Calls ``callback(returncode)`` on the loop once the child has exited and was reaped."""

    def __init__(self, loop: Any, child: Child, callback: Callable[[int], None]) -> None:
        self._loop = loop
        kernel = services(loop)
        self._watches = watches(loop)
        self.child = child
        self._callback = callback
        self._pidfd: int | None = None
        self._thread: threading.Thread | None = None
        self._done = False
        self.way = "thread"
        if wants_pidfd():
            try:
                self._pidfd = os.pidfd_open(child.pid)
            except OSError:
                self._pidfd = None
        if self._pidfd is not None:
            self.way = "pidfd"
            self._remove_reader = kernel.remove_reader
            kernel.add_reader(self._pidfd, self._pidfd_ready)
        else:
            self._thread = _reap_in_thread(child, self._from_thread)
        self._watches.add(self)

    def _pidfd_ready(self) -> None:
        code = self.child.reap_nohang()
        if code is None:  # woken early: keep watching
            return
        self._close_pidfd()
        # Reported one iteration later, as asyncio's watchers do: pipe
        # events that became ready in the same poll reach the protocol first.
        self._loop.call_soon(self._finish, code)

    def _from_thread(self, code: int) -> None:
        try:
            self._loop.call_soon_threadsafe(self._finish, code)
        except RuntimeError:  # the loop was closed meanwhile: the child is reaped anyway
            pass

    def _finish(self, code: int) -> None:
        if self._done:
            return
        self._done = True
        self._watches.discard(self)
        self._callback(code)

    def _close_pidfd(self) -> None:
        pidfd = self._pidfd
        if pidfd is not None:
            self._pidfd = None
            self._remove_reader(pidfd)
            os.close(pidfd)

    def detach(self) -> None:
        """The loop is closing: stop reporting, but still reap the child.

        A child that has not exited yet is left running (as asyncio leaves
        it) and reaped by a thread when it does exit.
        """
        self._done = True
        self._watches.discard(self)
        if self._pidfd is not None:
            self._close_pidfd()
            if self.child.reap_nohang() is None:
                _reap_in_thread(self.child, None)
