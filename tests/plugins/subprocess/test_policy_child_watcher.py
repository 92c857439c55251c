"""A child watcher set through asyncio's policy (3.11-3.13) is used as asyncio uses it.

Each behaviour test runs on asyncio's loop and on loopkit's (fixture
``any_loop``): the same refusal when the watcher is inactive, the same
hand-over of the child when it is active. Without such a watcher loopkit
keeps its own pidfd / thread watch.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from subprocess_support import PYTHON, is_reaped, process_exists

pytestmark = [
    pytest.mark.skipif(
        not hasattr(asyncio, "AbstractChildWatcher"), reason="asyncio has no child watchers"
    ),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # the watcher API, 3.12+
]


@pytest.fixture
def policy() -> Iterator[Any]:
    """A fresh asyncio default policy, current for the test; its watcher closed after."""
    fresh = asyncio.DefaultEventLoopPolicy()
    asyncio.set_event_loop_policy(fresh)
    try:
        yield fresh
    finally:
        fresh.set_child_watcher(None)  # closes the watcher it held
        asyncio.set_event_loop_policy(None)


def _set_watcher(policy: Any, watcher: Any) -> None:
    policy.set_child_watcher(watcher)


#: asyncio's watcher base class (gone in 3.14).
_WatcherBase: Any = getattr(asyncio, "AbstractChildWatcher", object)


with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # subclassing warns on 3.12+

    class RecordingWatcher(_WatcherBase):  # type: ignore[misc]
        """A watcher that records how it is used; when active, it reaps in a thread."""

        def __init__(self, active: bool) -> None:
            self.active = active
            self.calls: list[str] = []
            self.pids: list[int] = []
            self._threads: list[threading.Thread] = []

        def __enter__(self) -> RecordingWatcher:
            self.calls.append("enter")
            return self

        def __exit__(self, exc_type: Any, *rest: Any) -> None:
            self.calls.append(f"exit {exc_type.__name__ if exc_type else None}")

        def is_active(self) -> bool:
            self.calls.append("is_active")
            return self.active

        def add_child_handler(self, pid: int, callback: Callable[..., Any], *args: Any) -> None:
            self.calls.append("add_child_handler")
            self.pids.append(pid)

            def reap() -> None:
                _, status = os.waitpid(pid, 0)
                callback(pid, os.waitstatus_to_exitcode(status), *args)

            thread = threading.Thread(target=reap, name=f"recording-watcher-{pid}")
            self._threads.append(thread)
            thread.start()

        def remove_child_handler(self, pid: int) -> bool:
            return False

        def attach_loop(self, loop: Any) -> None:
            pass

        def close(self) -> None:
            for thread in self._threads:
                thread.join(5)


def test_an_inactive_policy_watcher_refuses_to_start_a_process(
    any_loop: asyncio.AbstractEventLoop, policy: Any, tmp_path: Path
) -> None:
    """RuntimeError before anything runs: the child program never starts."""
    watcher = RecordingWatcher(active=False)
    _set_watcher(policy, watcher)
    marker = tmp_path / "started"

    async def main() -> None:
        with pytest.raises(RuntimeError, match="not activated"):
            await asyncio.create_subprocess_exec(
                PYTHON, "-c", f"open({str(marker)!r}, 'w').close()"
            )

    any_loop.run_until_complete(asyncio.wait_for(main(), 10))
    assert watcher.calls == ["enter", "is_active", "exit RuntimeError"]
    assert not marker.exists()


def test_an_active_policy_watcher_reaps_the_child_and_reports_its_exit(
    any_loop: asyncio.AbstractEventLoop, policy: Any
) -> None:
    watcher = RecordingWatcher(active=True)
    _set_watcher(policy, watcher)

    async def main() -> tuple[int, int]:
        proc = await asyncio.create_subprocess_exec(PYTHON, "-c", "raise SystemExit(7)")
        return proc.pid, await proc.wait()

    pid, code = any_loop.run_until_complete(asyncio.wait_for(main(), 10))
    assert code == 7
    assert watcher.pids == [pid]
    assert watcher.calls == ["enter", "is_active", "add_child_handler", "exit None"]
    assert is_reaped(pid)


def test_asyncios_sigchld_watcher_attached_to_the_loop_serves_it(
    any_loop: asyncio.AbstractEventLoop, policy: Any
) -> None:
    """asyncio's SafeChildWatcher, attached to the loop, reaps on SIGCHLD."""
    watcher = asyncio.SafeChildWatcher()  # type: ignore[attr-defined]
    watcher.attach_loop(any_loop)
    _set_watcher(policy, watcher)

    async def main() -> tuple[bytes, int]:
        proc = await asyncio.create_subprocess_exec(
            PYTHON, "-c", "print('hi')", stdout=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate()
        return out, proc.returncode  # type: ignore[return-value]

    try:
        assert any_loop.run_until_complete(asyncio.wait_for(main(), 10)) == (b"hi\n", 0)
    finally:
        watcher.attach_loop(None)


def test_a_safe_child_watcher_not_attached_is_inactive(
    any_loop: asyncio.AbstractEventLoop, policy: Any
) -> None:
    """The real case behind the RuntimeError: a SIGCHLD watcher no loop serves."""
    watcher = asyncio.SafeChildWatcher()  # type: ignore[attr-defined]
    _set_watcher(policy, watcher)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="not activated"):
            await asyncio.create_subprocess_exec(PYTHON, "-c", "pass")

    any_loop.run_until_complete(asyncio.wait_for(main(), 10))


@pytest.mark.parametrize("held", ["none", "asyncio's default"])
def test_without_a_watcher_of_its_own_the_program_gets_loopkits_watch(
    run: Callable[..., Any], policy: Any, held: str
) -> None:
    """No watcher set, or only the one asyncio's policy made by itself on
    ``get_child_watcher()`` (threaded or pidfd: always active, bound to no loop):
    loopkit watches the child itself."""
    if held != "none":
        policy.get_child_watcher()

    async def main() -> str:
        proc = await asyncio.create_subprocess_exec(PYTHON, "-c", "pass")
        assert await proc.wait() == 0
        return str(proc._transport._watch.way)  # type: ignore[attr-defined]

    assert run(main()) in ("pidfd", "thread")


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.11 only: asks __enter__'s result")
def test_on_311_the_watcher_entered_is_the_one_asked(
    any_loop: asyncio.AbstractEventLoop, policy: Any
) -> None:
    """3.11's asyncio asks what ``__enter__`` returned whether it is active."""

    class Entered(RecordingWatcher):
        def __init__(self) -> None:
            super().__init__(active=True)
            self.inner = RecordingWatcher(active=False)

        def __enter__(self) -> RecordingWatcher:
            self.calls.append("enter")
            return self.inner

    watcher = Entered()
    _set_watcher(policy, watcher)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="not activated"):
            await asyncio.create_subprocess_exec(PYTHON, "-c", "pass")

    any_loop.run_until_complete(asyncio.wait_for(main(), 10))
    assert watcher.calls == ["enter", "exit RuntimeError"]
    assert watcher.inner.calls == ["is_active"]


def test_a_watcher_refusing_the_child_fails_the_call_and_the_child_is_not_left(
    run: Callable[..., Any], policy: Any
) -> None:
    """``add_child_handler`` raising: the call fails with its error; the child,
    which no one would reap now, is killed and reaped, its pipes closed."""

    class Refusing(RecordingWatcher):
        def add_child_handler(self, pid: int, callback: Callable[..., Any], *args: Any) -> None:
            self.pids.append(pid)
            raise ValueError("no more children")

    watcher = Refusing(active=True)
    _set_watcher(policy, watcher)

    async def main() -> None:
        with pytest.raises(ValueError, match="no more children"):
            await asyncio.create_subprocess_exec(
                PYTHON, "-c", "import time; time.sleep(30)", stdout=asyncio.subprocess.PIPE
            )

    run(main())
    [pid] = watcher.pids
    deadline = time.monotonic() + 10
    while process_exists(pid) and time.monotonic() < deadline:  # a zombie still exists
        time.sleep(0.01)
    assert not process_exists(pid)
