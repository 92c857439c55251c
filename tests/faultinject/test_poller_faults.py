"""A lying poller: early wake-ups, late readiness and false readiness change nothing visible."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from loopkit.testing.faults import FaultPlan, faults_of

MakeLoop = Callable[[FaultPlan], asyncio.AbstractEventLoop]


class Echo(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


def test_spurious_wakeups_never_fire_a_timer_early_or_out_of_order(
    make_loop: MakeLoop,
) -> None:
    loop = make_loop(FaultPlan(seed=21, spurious_wakeup_rate=0.5))
    fired: list[tuple[int, float, float]] = []
    start = loop.time()
    for number, delay in enumerate((0.03, 0.01, 0.02, 0.05, 0.04)):
        when = start + delay

        def fire(number: int = number, when: float = when) -> None:
            fired.append((number, when, loop.time()))

        loop.call_at(when, fire)
    loop.call_at(start + 0.06, loop.stop)
    loop.run_forever()
    assert [number for number, _, _ in fired] == [1, 2, 0, 4, 3]
    assert all(ran >= when - 0.002 for _, when, ran in fired)  # clock resolution
    assert faults_of(loop).injected["poll", "spurious-wakeup"] > 0


def test_held_back_and_false_readiness_still_echo_every_byte(make_loop: MakeLoop) -> None:
    loop = make_loop(FaultPlan(seed=22, held_back_rate=0.3, spurious_ready_rate=0.5))
    payload = bytes(range(256)) * 64

    async def main() -> bytes:
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        received = bytearray()
        for start in range(0, len(payload), 1024):
            writer.write(payload[start : start + 1024])
            received += await reader.readexactly(1024)
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return bytes(received)

    assert loop.run_until_complete(asyncio.wait_for(main(), 10)) == payload
    injected = faults_of(loop).injected
    assert injected["poll", "held-back"] > 0
    assert injected["poll", "spurious-ready"] > 0
