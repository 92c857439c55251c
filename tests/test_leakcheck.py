"""The suite's leak check finds each kind of leak and names it exactly.

Each test here makes one leak, asks :func:`leakcheck.find_leaks` about it,
then cleans up, so the suite-wide fixture sees nothing left behind.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

import loopkit
from loopkit.testing import leaks as leakcheck


def test_a_new_fd_is_named_with_what_it_refers_to() -> None:
    before = leakcheck.Snapshot()
    sock = socket.socket()
    try:
        leaks = leakcheck.find_leaks(before, grace=0)
        assert leaks == [f"fd {sock.fileno()} -> {os.readlink(f'/proc/self/fd/{sock.fileno()}')}"]
        assert "socket:[" in leaks[0]
    finally:
        sock.close()
    assert leakcheck.find_leaks(before, grace=0) == []


def test_an_fd_held_only_by_garbage_is_not_a_leak() -> None:
    before = leakcheck.Snapshot()
    sock = socket.socket()
    cycle: list[object] = [sock]
    cycle.append(cycle)
    del sock, cycle
    with pytest.warns(ResourceWarning):
        assert leakcheck.find_leaks(before, grace=0) == []


def test_a_thread_still_running_is_named() -> None:
    before = leakcheck.Snapshot()
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="stuck-worker")
    thread.start()
    try:
        leaks = leakcheck.find_leaks(before, grace=0.05)
        assert len(leaks) == 1
        assert leaks[0].startswith("thread 'stuck-worker'")
    finally:
        release.set()
        thread.join()


def test_a_thread_that_is_finishing_gets_a_grace_period() -> None:
    before = leakcheck.Snapshot()
    release = threading.Event()
    thread = threading.Thread(target=release.wait, args=(0.1,), name="finishing")
    thread.start()
    assert leakcheck.find_leaks(before, grace=2.0) == []
    assert not thread.is_alive()


def test_a_child_not_waited_for_is_named_even_as_a_zombie() -> None:
    before = leakcheck.Snapshot()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        while not leakcheck.child_processes().get(child.pid, "").endswith("state Z"):
            time.sleep(0.01)  # until it has exited, unreaped
        leaks = leakcheck.find_leaks(before, grace=0)
        assert leaks == [
            f"child pid {child.pid} ({leakcheck.child_processes()[child.pid]}) not waited for"
        ]
        assert "state Z" in leaks[0]
    finally:
        child.wait()
    assert leakcheck.find_leaks(before, grace=0) == []


def test_an_unclosed_loop_is_named_loopkit_or_asyncio() -> None:
    before = leakcheck.Snapshot()
    loops = [loopkit.new_event_loop(), asyncio.new_event_loop()]
    try:
        leaks = leakcheck.find_leaks(before, grace=0)
        unclosed = [leak for leak in leaks if not leak.startswith("fd ")]  # loops hold fds
        assert sorted(unclosed) == sorted(f"unclosed loop {loop!r}" for loop in loops)
    finally:
        for loop in loops:
            loop.close()
    assert leakcheck.find_leaks(before, grace=0) == []


def test_a_loop_dropped_without_closing_is_named() -> None:
    """Its __del__ would close it quietly; the check still sees it open."""
    before = leakcheck.Snapshot()
    loopkit.new_event_loop()  # dropped at once
    leaks = [leak for leak in leakcheck.find_leaks(before, grace=0) if not leak.startswith("fd ")]
    assert leaks == ["unclosed loop <loopkit.Loop running=False closed=False debug=False>"]
    for loop in leakcheck.new_loops(before):
        loop.close()
    assert leakcheck.find_leaks(before, grace=0) == []


def test_a_pending_task_is_named_with_its_loop() -> None:
    before = leakcheck.Snapshot()
    loop = loopkit.new_event_loop()
    try:
        task = loop.create_task(asyncio.sleep(3600), name="forgotten")
        loop.run_until_complete(asyncio.sleep(0))
        leaks = [
            leak for leak in leakcheck.find_leaks(before, grace=0) if not leak.startswith("fd ")
        ]
        assert leaks[0] == f"unclosed loop {loop!r}"
        assert leaks[1].startswith("pending task <Task pending name='forgotten'")
        assert leaks[1].endswith(f"on {loop!r}")
        assert len(leaks) == 2
        task.cancel()
        loop.run_until_complete(asyncio.wait([task]))
    finally:
        loop.close()
    assert leakcheck.find_leaks(before, grace=0) == []


@pytest.mark.leaks_allowed("shows the opt-out: the thread outlives the test on purpose")
def test_leaks_allowed_marks_a_test_that_keeps_a_resource() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait, args=(0.2,), daemon=True)
    thread.start()
    assert thread.is_alive()
