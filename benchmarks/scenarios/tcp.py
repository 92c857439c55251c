"""TCP echo over loopback: Protocols, asyncio streams and the sock_* calls.

Each scenario serves echo on the loop under test while the separate load
generator (``benchmarks/loadgen.py``, 8 clients) makes the requests. The
reported value is the server process's CPU time per request (µs, lower is
better), always on the CPU clock; requests per wall-clock second go to the
throughput table.
"""

from __future__ import annotations

from benchmarks.scenarios._echo import (
    echo_scenario,
    measure_echo,
    serve_protocol,
    serve_sock_calls,
    serve_streams,
)
from benchmarks.scenarios._registry import LoopFactory, Sample


@echo_scenario("tcp_proto_1k", "tcp", size=15_000, quick_size=800)
def tcp_proto_1k(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 1 KiB messages, Protocol server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_protocol, "tcp", 1024)


@echo_scenario("tcp_proto_10k", "tcp", size=8_000)
def tcp_proto_10k(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 10 KiB messages, Protocol server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_protocol, "tcp", 10 * 1024)


@echo_scenario("tcp_proto_100k", "tcp", size=5_000)
def tcp_proto_100k(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 100 KiB messages, Protocol server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_protocol, "tcp", 100 * 1024)


@echo_scenario("tcp_proto_1m", "tcp", size=600)
def tcp_proto_1m(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 1 MiB messages, Protocol server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_protocol, "tcp", 1024 * 1024)


@echo_scenario("tcp_streams_1k", "tcp", size=15_000)
def tcp_streams_1k(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 1 KiB messages, asyncio streams server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_streams, "tcp", 1024)


@echo_scenario("tcp_streams_10k", "tcp", size=8_000)
def tcp_streams_10k(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 10 KiB messages, asyncio streams server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_streams, "tcp", 10 * 1024)


@echo_scenario("tcp_streams_100k", "tcp", size=5_000)
def tcp_streams_100k(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 100 KiB messages, asyncio streams server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_streams, "tcp", 100 * 1024)


@echo_scenario("tcp_streams_1m", "tcp", size=600)
def tcp_streams_1m(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 1 MiB messages, asyncio streams server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_streams, "tcp", 1024 * 1024)


@echo_scenario("tcp_sock_1k", "tcp", size=15_000)
def tcp_sock_1k(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 1 KiB messages, sock_recv/sock_sendall server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_sock_calls, "tcp", 1024)


@echo_scenario("tcp_sock_10k", "tcp", size=8_000)
def tcp_sock_10k(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 10 KiB messages, sock_recv/sock_sendall server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_sock_calls, "tcp", 10 * 1024)


@echo_scenario("tcp_sock_100k", "tcp", size=5_000)
def tcp_sock_100k(new_loop: LoopFactory, n: int) -> Sample:
    """TCP echo, 100 KiB messages, sock_recv/sock_sendall server (server CPU µs/request)."""
    return measure_echo(new_loop, n, serve_sock_calls, "tcp", 100 * 1024)
