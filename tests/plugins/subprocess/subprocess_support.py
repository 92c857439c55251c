"""Helpers for the subprocess tests: a recording protocol and leak checks."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

#: The running interpreter, for child programs written in Python.
PYTHON = sys.executable


def open_fds() -> int:
    """How many fds this process has open right now."""
    return len(os.listdir("/proc/self/fd"))


def is_reaped(pid: int) -> bool:
    """True if ``pid`` is no child of ours any more (exited *and* reaped)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def process_exists(pid: int) -> bool:
    """True while ``pid`` is running or a zombie; checked without reaping it."""
    return os.path.exists(f"/proc/{pid}")


class Recorder(asyncio.SubprocessProtocol):
    """Records the callbacks in order; ``done`` resolves at connection_lost."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.output: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        self.lost_exc: dict[int, BaseException | None] = {}
        self.transport: Any = None
        self.exited = asyncio.get_running_loop().create_future()
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.events.append("made")

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.output[fd] += data
        name = f"data{fd}"
        if self.events[-1] != name:
            self.events.append(name)

    def pipe_connection_lost(self, fd: int, exc: BaseException | None) -> None:
        self.lost_exc[fd] = exc
        self.events.append(f"pipe_lost{fd}")

    def process_exited(self) -> None:
        self.events.append("exited")
        self.exited.set_result(self.transport.get_returncode())

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append("lost")
        self.done.set_result(exc)


def check_order(events: list[str]) -> None:
    """Assert the order every asyncio version guarantees (see the docs)."""
    assert events[0] == "made"
    assert events[-1] == "lost"
    assert events.count("exited") == 1
    for fd in (0, 1, 2):
        if f"data{fd}" in events:
            assert events.index(f"data{fd}") < events.index(f"pipe_lost{fd}")
