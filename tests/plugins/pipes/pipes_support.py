"""Protocols that record what a pipe transport tells them, for the pipe tests."""

from __future__ import annotations

import asyncio
import os
from typing import Any


def open_fds() -> int:
    """How many fds this process has open right now."""
    return len(os.listdir("/proc/self/fd"))


class Recorder(asyncio.Protocol):
    """Records every callback as a tuple; ``lost`` resolves at connection_lost."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.data = bytearray()
        self.transport: Any = None
        self.lost: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self.resumed: asyncio.Event = asyncio.Event()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.events.append(("made",))

    def data_received(self, data: bytes) -> None:
        self.data += data
        if not self.events or self.events[-1] != ("data",):
            self.events.append(("data",))

    def eof_received(self) -> None:
        self.events.append(("eof",))

    def pause_writing(self) -> None:
        self.events.append(("pause",))
        self.resumed.clear()

    def resume_writing(self) -> None:
        self.events.append(("resume",))
        self.resumed.set()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append(("lost", type(exc)))
        self.lost.set_result(exc)

    def names(self) -> list[str]:
        """The callback names in order, without arguments."""
        return [event[0] for event in self.events]
