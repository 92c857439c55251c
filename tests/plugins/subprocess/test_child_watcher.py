"""How child exits are noticed: a pidfd in the poller, or a thread per child."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from subprocess_support import (
    PYTHON,
    Recorder,
    check_order,
    is_reaped,
    open_fds,
    process_exists,
)

import loopkit
from loopkit.plugins.subprocess import watcher

Run = Callable[..., Any]

needs_pidfd = pytest.mark.skipif(not watcher.pidfd_available(), reason="no pidfd here")


@pytest.fixture(params=["pidfd", "thread"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test runs once per way of watching children (pidfd only where it exists)."""
    if request.param == "pidfd" and not watcher.pidfd_available():
        pytest.skip("no pidfd here")
    monkeypatch.setenv(watcher.ENV_CHILD_WATCHER, request.param)
    yield request.param


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("loopkit-child-")}


async def _run_child(*args: str) -> tuple[Any, Recorder]:
    transport, proto = await asyncio.get_running_loop().subprocess_exec(Recorder, *args)
    await proto.done
    transport.close()
    return transport, proto


def test_each_way_reports_the_exit_and_reaps(run: Run, way: str) -> None:
    async def main() -> None:
        transport, proto = await asyncio.get_running_loop().subprocess_exec(
            Recorder, PYTHON, "-c", "import sys; print('hi'); sys.exit(5)"
        )
        assert transport._watch.way == way
        await proto.done
        transport.close()
        assert transport.get_returncode() == 5
        assert proto.output[1] == b"hi\n"
        check_order(proto.events)
        assert is_reaped(transport.get_pid())

    run(main())


@needs_pidfd
def test_pidfd_needs_no_thread(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(watcher.ENV_CHILD_WATCHER, raising=False)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        before = _threads()  # reapers of earlier tests may still be finishing
        transport, proto = await loop.subprocess_exec(Recorder, "sleep", "30")
        try:
            assert transport._watch.way == "pidfd"
            assert _threads() - before == set()
        finally:
            transport.kill()
            await proto.done
            transport.close()

    run(main())


def test_the_thread_way_leaves_no_thread_behind(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(watcher.ENV_CHILD_WATCHER, "thread")

    async def main() -> None:
        for _ in range(3):
            await _run_child("true")

    run(main())
    deadline = time.monotonic() + 5
    while _threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _threads() == set()


@needs_pidfd
def test_pidfd_works_with_every_poller(poller_loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> int | None:
        transport, _proto = await _run_child(PYTHON, "-c", "raise SystemExit(9)")
        assert transport._watch.way == "pidfd"
        return transport.get_returncode()  # type: ignore[no-any-return]

    assert poller_loop.run_until_complete(asyncio.wait_for(main(), 10)) == 9


def test_a_loop_outside_the_main_thread_runs_children(way: str) -> None:
    results: list[Any] = []

    def in_thread() -> None:
        async def main() -> None:
            transport, proto = await _run_child(PYTHON, "-c", "print('from a thread')")
            results.append((transport.get_returncode(), bytes(proto.output[1])))
            results.append(is_reaped(transport.get_pid()))

        try:
            loopkit.run(asyncio.wait_for(main(), 10))
        except BaseException as exc:  # reported to the main thread below
            results.append(exc)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(20)
    assert results == [(0, b"from a thread\n"), True]


def test_closing_the_loop_with_a_child_running_leaves_no_zombie(way: str) -> None:
    loop = loopkit.new_event_loop()
    try:

        async def start() -> Any:
            transport, _ = await loop.subprocess_exec(Recorder, "sleep", "30")
            return transport

        transport = loop.run_until_complete(asyncio.wait_for(start(), 10))
        pid = transport.get_pid()
    finally:
        loop.close()
    # The loop is gone; the child still runs (asyncio does not kill it either).
    assert process_exists(pid)
    os.kill(pid, signal.SIGKILL)
    # Nobody here waits for it: only loopkit's reaper can make it vanish.
    deadline = time.monotonic() + 5
    while process_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not process_exists(pid)
    assert is_reaped(pid)
    transport.close()  # dropping it after the loop closed is harmless


def test_many_children_leak_no_fd(run: Run, way: str) -> None:
    async def main() -> None:
        await asyncio.gather(*[_run_child(PYTHON, "-c", "print(1)") for _ in range(5)])

    run(main())  # warm up: the first child may open fds kept for the process
    before = open_fds()
    run(main())
    assert open_fds() == before
