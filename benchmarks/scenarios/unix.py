"""Unix-socket echo of 1 KiB, 100 KiB and 1 MiB messages: Protocols and asyncio streams.

The same load generator as the TCP scenarios, over an AF_UNIX stream socket
in a temporary directory (removed afterwards). Server CPU µs per request is
the reported value; requests/s go to the throughput table.
"""

from __future__ import annotations

from benchmarks.scenarios._echo import echo_scenario, measure_echo, serve_protocol, serve_streams
from benchmarks.scenarios._registry import LoopFactory, Sample


@echo_scenario("unix_proto_1k", "unix", size=15_000)
def unix_proto_1k(new_loop: LoopFactory, n: int) -> Sample:
    """Unix-socket echo, 1 KiB messages, Protocol server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_protocol, "unix", 1024)


@echo_scenario("unix_streams_1k", "unix", size=15_000)
def unix_streams_1k(new_loop: LoopFactory, n: int) -> Sample:
    """Unix-socket echo, 1 KiB messages, asyncio streams server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_streams, "unix", 1024)


@echo_scenario("unix_proto_100k", "unix", size=5_000)
def unix_proto_100k(new_loop: LoopFactory, n: int) -> Sample:
    """Unix-socket echo, 100 KiB messages, Protocol server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_protocol, "unix", 100 * 1024)


@echo_scenario("unix_streams_100k", "unix", size=5_000)
def unix_streams_100k(new_loop: LoopFactory, n: int) -> Sample:
    """Unix-socket echo, 100 KiB messages, asyncio streams server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_streams, "unix", 100 * 1024)


@echo_scenario("unix_proto_1m", "unix", size=600)
def unix_proto_1m(new_loop: LoopFactory, n: int) -> Sample:
    """Unix-socket echo, 1 MiB messages, Protocol server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_protocol, "unix", 1024 * 1024)


@echo_scenario("unix_streams_1m", "unix", size=600)
def unix_streams_1m(new_loop: LoopFactory, n: int) -> Sample:
    """Unix-socket echo, 1 MiB messages, asyncio streams server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_streams, "unix", 1024 * 1024)
