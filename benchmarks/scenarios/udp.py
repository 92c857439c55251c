"""UDP echo over loopback, 1 KiB datagrams, datagram-endpoint server.

Eight load-generator clients each send a datagram and wait for its echo
before the next. Server CPU µs per datagram is the reported value;
datagrams per wall-clock second go to the throughput table.
"""

from __future__ import annotations

from benchmarks.scenarios._echo import echo_scenario, measure_echo, serve_datagrams
from benchmarks.scenarios._registry import LoopFactory, Sample


@echo_scenario("udp_echo_1k", "udp", size=15_000, per="datagram")
def udp_echo_1k(new_loop: LoopFactory, n: int) -> Sample:
    """UDP echo, 1 KiB datagrams, DatagramProtocol server (server CPU µs/datagram)."""
    return measure_echo(new_loop, n, serve_datagrams, "udp", 1024)
