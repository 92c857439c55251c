"""Whole programs receiving real signals: the documented example and asyncio.Runner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "signals.py"


def _default_sigint() -> None:
    """Give the child the SIGINT disposition of a program started from a terminal.

    A test run started in the background by a non-interactive shell (as CI
    may start it) inherits SIGINT *ignored*; Python then installs no
    KeyboardInterrupt handler and asyncio.Runner no Ctrl-C handling.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def wait_for_line(process: subprocess.Popen[str], startswith: str) -> list[str]:
    """Read stdout lines until one starts with ``startswith``; return them all."""
    assert process.stdout is not None
    lines: list[str] = []
    while True:
        line = process.stdout.readline()
        if not line:
            _, err = process.communicate(timeout=5)
            pytest.fail(f"program ended before {startswith!r}: {lines!r}\n{err}")
        lines.append(line.rstrip("\n"))
        if line.startswith(startswith):
            return lines


@pytest.mark.parametrize(("sig", "name"), [(signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")])
def test_example_stops_on_signal_and_exits_cleanly(sig: int, name: str) -> None:
    process = start([str(EXAMPLE)])
    try:
        lines = wait_for_line(process, f"pid {process.pid}:")
        assert lines[0] == "Event loop running for 1 hour, press Ctrl+C to interrupt."
        os.kill(process.pid, sig)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert out.splitlines() == [f"got signal {name}: exit", "loop closed, bye"]
    assert err == ""
    assert process.returncode == 0


RUNNER_PROGRAM = textwrap.dedent(
    """
    import asyncio, loopkit

    async def main():
        print("ready", flush=True)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            print("main task cancelled", flush=True)
            raise

    with asyncio.Runner(loop_factory=loopkit.new_event_loop) as runner:
        try:
            runner.run(main())
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
    """
)


def test_asyncio_runner_turns_ctrl_c_into_cancelling_the_main_task() -> None:
    process = start(["-c", RUNNER_PROGRAM])
    try:
        wait_for_line(process, "ready")
        os.kill(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert out.splitlines() == ["main task cancelled", "KeyboardInterrupt"]
    assert err == ""
    assert process.returncode == 0


ADDED_SIGINT_PROGRAM = textwrap.dedent(
    """
    import asyncio, signal, loopkit

    async def main():
        loop = asyncio.get_running_loop()
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGINT, got.set_result, "SIGINT handled")
        print("ready", flush=True)
        print(await got, flush=True)
        loop.remove_signal_handler(signal.SIGINT)

    with asyncio.Runner(loop_factory=loopkit.new_event_loop) as runner:
        runner.run(main())
    print("default handler back:", signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    """
)


def test_sigint_handler_added_under_asyncio_runner_takes_precedence() -> None:
    process = start(["-c", ADDED_SIGINT_PROGRAM])
    try:
        wait_for_line(process, "ready")
        os.kill(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert out.splitlines() == ["SIGINT handled", "default handler back: True"]
    assert err == ""
    assert process.returncode == 0


FORK_PROGRAM = textwrap.dedent(
    """
    import asyncio, os, signal, time, loopkit

    loop = loopkit.new_event_loop()
    seen = []
    loop.add_signal_handler(signal.SIGUSR1, seen.append, "usr1")
    pid = os.fork()
    if pid == 0:
        # The child has no loop of its own: SIGUSR1 does what it does by default.
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    loop.run_until_complete(asyncio.sleep(0.2))
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGUSR1
    print("child killed by SIGUSR1:", killed)
    print("parent handler calls:", seen)
    loop.close()
    """
)


def test_forked_child_does_not_feed_signals_to_the_parents_loop() -> None:
    process = start(["-W", "ignore::DeprecationWarning", "-c", FORK_PROGRAM])
    out, err = process.communicate(timeout=30)
    assert out.splitlines() == ["child killed by SIGUSR1: True", "parent handler calls: []"]
    assert err == ""
    assert process.returncode == 0
