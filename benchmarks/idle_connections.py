"""Server memory per idle TCP connection: RSS of a server process, per connection.

Usage::

    python benchmarks/idle_connections.py [--loops asyncio,loopkit,uvloop]
        [--counts 5000 10000 50000]

Many idle connections (websockets, long polling) is where a server's memory
per connection shows. For each loop and count this starts a server process
(a ``loop.create_server`` Protocol server on loopback that does nothing with
its connections), opens the connections from this process with plain
blocking sockets, waits until the server has accepted them all, and reads
the server's RSS (``/proc/self/status``, after a full garbage collection)
before and after. The difference divided by the count is the figure.

Both processes raise their soft fd limit to the hard limit; a count that
limit cannot hold, or that needs more client ports than the system's
ephemeral range (``/proc/sys/net/ipv4/ip_local_port_range``) offers on one
loopback address, is reported as skipped, with the reason, not measured.
Linux only (``/proc``). The scenario framework of ``run.py``
measures time, not memory, so this is a script of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loops import factory, is_available

#: fds each process needs besides the connections (stdio, listener, poller...).
_SPARE_FDS = 64


def raise_fd_limit() -> int:
    """Raise the soft fd limit to the hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def ephemeral_ports() -> int:
    """How many client ports the system hands out (its ephemeral port range)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
            low, high = map(int, ports.read().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default range
    return high - low + 1


def skip_reason(count: int, fd_limit: int, ports: int) -> str | None:
    """Why ``count`` connections cannot be measured here, or None if they can."""
    if count + _SPARE_FDS > fd_limit:
        return f"needs {count + _SPARE_FDS} fds, the hard fd limit is {fd_limit}"
    if count > ports:
        return f"needs {count} client ports, the ephemeral port range has {ports}"
    return None


def rss_kib() -> int:
    """This process's resident set size in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class _Idle(asyncio.Protocol):
    """Accepts a connection and keeps it, doing nothing."""

    open = 0

    def connection_made(self, transport: Any) -> None:
        _Idle.open += 1

    def connection_lost(self, exc: BaseException | None) -> None:
        _Idle.open -= 1


def serve(loop_name: str) -> None:
    """The server process: answer ``rss`` and ``open`` lines on stdin."""
    raise_fd_limit()
    loop = factory(loop_name)()
    server = loop.run_until_complete(loop.create_server(_Idle, "127.0.0.1", 0, backlog=4096))
    print(server.sockets[0].getsockname()[1], flush=True)
    stdin = sys.stdin.fileno()

    def command() -> None:
        line = sys.stdin.readline().strip()
        if line == "rss":
            gc.collect()
            print(rss_kib(), flush=True)
        elif line == "open":
            print(_Idle.open, flush=True)
        else:  # "quit" or end of input
            loop.stop()

    loop.add_reader(stdin, command)
    try:
        loop.run_forever()
    finally:
        loop.remove_reader(stdin)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


def _ask(server: subprocess.Popen[str], line: str) -> int:
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(line + "\n")
    server.stdin.flush()
    return int(server.stdout.readline())


def _connect(port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]


def _wait_open(server: subprocess.Popen[str], count: int) -> None:
    for _ in range(10_000):
        if _ask(server, "open") == count:
            return
    raise RuntimeError(f"the server never held {count} connections")


def measure(loop_name: str, count: int) -> float:
    """KiB of server RSS per idle connection, with ``count`` connections."""
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", loop_name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        # Warm up: the first connections grow the allocator's pools and the
        # loop's tables once; they are then closed and not counted.
        warm = _connect(port, min(1000, count))
        _wait_open(server, len(warm))
        for sock in warm:
            sock.close()
        _wait_open(server, 0)
        before = _ask(server, "rss")
        socks = _connect(port, count)
        _wait_open(server, count)
        after = _ask(server, "rss")
        for sock in socks:
            sock.close()
        return (after - before) / count
    finally:
        if server.stdin is not None:
            server.stdin.write("quit\n")
            server.stdin.close()
        server.wait(30)
        if server.stdout is not None:
            server.stdout.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", default="asyncio,loopkit,uvloop")
    parser.add_argument("--counts", type=int, nargs="+", default=[5000, 10000, 50000])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    limit = raise_fd_limit()
    ports = ephemeral_ports()
    print(f"server RSS per idle TCP connection, KiB (fd limit {limit})")
    for count in args.counts:
        reason = skip_reason(count, limit, ports)
        if reason is not None:
            print(f"  {count:>6} connections: skipped ({reason})")
            continue
        for loop_name in args.loops.split(","):
            if not is_available(loop_name):
                continue
            print(f"  {count:>6} connections  {loop_name:8} {measure(loop_name, count):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
