"""The kit as a third party uses it: ``-p loopkit.testing`` in a project of its own.

Each test writes a small project into a temporary directory (no conftest of
this repository is in reach) and runs pytest on it in a child process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SELECTORS_STYLE_POLLER = '''
import select
from loopkit.plugin import PollerInfo
from loopkit.testing import PollerContract

class SelectorsStylePoller:
    """Reports writable as 2, the selectors module's EVENT_WRITE: a common mistake."""
    name = "wrongbits"
    def __init__(self):
        self._poll = select.poll()
    def register(self, fd, events):
        self._poll.register(fd, events)
    def modify(self, fd, events):
        self._poll.modify(fd, events)
    def unregister(self, fd):
        try:
            self._poll.unregister(fd)
        except KeyError:
            pass
    def poll(self, timeout):
        ms = None if timeout is None else max(0, int(timeout * 1000))
        return [(fd, (m & ~select.POLLOUT) | (2 if m & select.POLLOUT else 0))
                for fd, m in self._poll.poll(ms)]
    def close(self):
        pass

class TestWrongBits(PollerContract):
    poller_info = PollerInfo(name="wrongbits", create=SelectorsStylePoller)
'''


def _run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOPKIT_", "PYTEST_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "loopkit.testing",
            "-p",
            "no:cacheprovider",
            "-q",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        timeout=120,
    )


def test_a_poller_with_selectors_bits_fails_with_the_convention_explained(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_wrongbits.py").write_text(SELECTORS_STYLE_POLLER)
    result = _run_pytest(tmp_path, "-k", "pollout")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "EVENT_WRITE = select.POLLOUT = 4" in result.stdout
    assert "failed" in result.stdout.splitlines()[-1]


def test_the_ini_option_turns_the_leak_check_on_for_every_test(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(
        "import socket\nkept = []\n"
        "def test_keeps_a_socket():\n    kept.append(socket.socket())\n"
        "def test_clean():\n    socket.socket().close()\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\nloopkit_leak_check = true\n")
    result = _run_pytest(tmp_path)
    assert result.returncode == 1, result.stdout
    assert "the test leaked:" in result.stdout
    assert "socket:[" in result.stdout
    assert "2 passed, 1 error" in result.stdout
