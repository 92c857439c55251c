"""The examples in docs/examples run, each in its own interpreter, and do what they say."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def _run(name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_hello_world_prints_and_stops() -> None:
    result = _run("hello_world.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello World\n"
    assert result.stderr == ""


def test_current_date_prints_once_a_second_until_the_duration_ends() -> None:
    result = _run("current_date.py", EXAMPLE_DURATION="1.2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # At 0 s and at 1 s; the next one (2 s) would pass the 1.2 s end.
    assert len(lines) == 2
    stamps = [datetime.fromisoformat(line) for line in lines]
    assert 0.9 <= (stamps[1] - stamps[0]).total_seconds() < 3.0
    assert result.stderr == ""


def test_current_date_takes_the_duration_as_an_argument() -> None:
    result = _run("current_date.py", "0.5")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_watch_fd_receives_the_data_sent_on_the_socket_pair() -> None:
    result = _run("watch_fd.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Received: abc\n"
    assert result.stderr == ""


def test_from_uvloop_runs_every_idiom_on_a_loopkit_loop() -> None:
    result = _run("from_uvloop.py")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = 4 if sys.version_info >= (3, 12) else 3
    assert len(lines) == expected
    assert all(line.endswith(": loopkit") for line in lines)


def test_which_loop_names_the_plugins_of_the_running_loop() -> None:
    result = _run("which_loop.py")
    assert result.returncode == 0, result.stderr
    assert "assembled by loopkit from the plugins:" in result.stdout
    assert "tcp" in result.stdout
