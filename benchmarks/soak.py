"""Soak test: a mixed workload on one loopkit loop for minutes, watching for growth.

Usage::

    python benchmarks/soak.py [--duration SECONDS] [--interval SECONDS] [--json FILE]

The workload, all on loopback, all at once:

* TCP: several echo clients ping-ponging 1 KiB messages with an echo server
  (their round trips are the latency samples), plus a new short-lived
  connection every 0.2 s (connect, one echo, close);
* UDP: an echo endpoint and a client ping-ponging datagrams;
* timers: bursts of ``call_later`` with random delays, half of them
  cancelled, and short-lived tasks;
* a thread calling ``call_soon_threadsafe`` about a thousand times a second;
* a subprocess (``python -c ...`` with a pipe) every 2 s;
* a TLS connection (a throwaway ``trustme`` CA; skipped when trustme is not
  installed) every 3 s, with one echo through it.

Every ``--interval`` seconds (default 5) it samples the resident set size
(``/proc/self/statm``), the number of open fds (``/proc/self/fd``), the p50
and p99 of the echo round trips of that interval, and how much of each
workload ran.

The verdict (a simple rule, the same on every run): the samples are split
into thirds by time, the first sample left out as warm-up. A quantity
*grew* when the median of the last third exceeds the median of the first
third by more than its allowance:

* RSS: 5% of the first third's median, and at least 2 MiB;
* open fds: 2 (sampling races with the short-lived connections);
* p99 latency: 100%, and at least 1 ms (doubling, not noise).

It exits 0 when nothing grew, 1 when something did, 2 when the workload
itself failed. It measures; it never tunes anything, and it must never
talk to anything but loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import loopkit

HOST = "127.0.0.1"
MESSAGE = bytes(range(256)) * 4  # 1 KiB
ECHO_CLIENTS = 4
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def percentile(values: list[float], fraction: float) -> float:
    """The value at ``fraction`` of the sorted list (nearest rank); 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Counters:
    """What ran since the last sample."""

    echoes: int = 0
    connections: int = 0
    datagrams: int = 0
    timers: int = 0
    threadsafe: int = 0
    subprocesses: int = 0
    tls: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass
class Sample:
    t: float
    rss_mib: float
    fds: int
    p50_ms: float
    p99_ms: float
    echoes: int
    connections: int
    datagrams: int
    timers: int
    threadsafe: int
    subprocesses: int
    tls: int


class Echo(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


class UdpClient(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.replies.put_nowait(data)


class Soak:
    def __init__(self, duration: float, interval: float) -> None:
        self.duration = duration
        self.interval = interval
        self.counts = Counters()
        self.samples: list[Sample] = []
        self.stopping = False
        self.tls_contexts: tuple[Any, Any] | None = self._tls_contexts()

    @staticmethod
    def _tls_contexts() -> tuple[Any, Any] | None:
        try:
            import ssl

            import trustme
        except ImportError:
            return None
        ca = trustme.CA()
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost").configure_cert(server_ctx)
        client_ctx = ssl.create_default_context()
        ca.configure_trust(client_ctx)
        return server_ctx, client_ctx

    async def echo_client(self, port: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while not self.stopping:
                started = time.perf_counter()
                writer.write(MESSAGE)
                await reader.readexactly(len(MESSAGE))
                self.counts.latencies.append(time.perf_counter() - started)
                self.counts.echoes += 1
        finally:
            writer.close()
            await writer.wait_closed()

    async def connection_churn(self, port: int) -> None:
        while not self.stopping:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(b"hello")
            await reader.readexactly(5)
            writer.close()
            await writer.wait_closed()
            self.counts.connections += 1
            await asyncio.sleep(0.2)

    async def udp(self) -> None:
        loop = asyncio.get_running_loop()
        server, _ = await loop.create_datagram_endpoint(UdpEcho, local_addr=(HOST, 0))
        client, proto = await loop.create_datagram_endpoint(
            UdpClient, remote_addr=server.get_extra_info("sockname")
        )
        try:
            while not self.stopping:
                client.sendto(b"ping")
                try:
                    await asyncio.wait_for(proto.replies.get(), 1.0)
                except TimeoutError:
                    continue  # a datagram may be dropped; that is not a leak
                self.counts.datagrams += 1
                await asyncio.sleep(0.001)
        finally:
            client.close()
            server.close()

    async def timers(self) -> None:
        loop = asyncio.get_running_loop()
        rng = random.Random(1)

        def fired() -> None:
            self.counts.timers += 1

        while not self.stopping:
            handles = [loop.call_later(rng.uniform(0.001, 0.05), fired) for _ in range(200)]
            for handle in handles[::2]:
                handle.cancel()
            tasks = [loop.create_task(asyncio.sleep(rng.uniform(0, 0.01))) for _ in range(20)]
            await asyncio.gather(*tasks)
            await asyncio.sleep(0.05)

    def threadsafe_thread(self, loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
        def tick() -> None:
            self.counts.threadsafe += 1

        while not stop.wait(0.001):
            try:
                loop.call_soon_threadsafe(tick)
            except RuntimeError:  # the loop closed under us
                return

    async def subprocesses(self) -> None:
        while not self.stopping:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "print('x' * 100)", stdout=asyncio.subprocess.PIPE
            )
            out, _ = await proc.communicate()
            if out.strip() != b"x" * 100 or proc.returncode != 0:
                raise RuntimeError(f"subprocess gave {out!r}, {proc.returncode}")
            self.counts.subprocesses += 1
            await asyncio.sleep(2.0)

    async def tls(self) -> None:
        if self.tls_contexts is None:
            return
        server_ctx, client_ctx = self.tls_contexts
        server = await asyncio.start_server(self._tls_echo, HOST, 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        try:
            while not self.stopping:
                reader, writer = await asyncio.open_connection(
                    HOST, port, ssl=client_ctx, server_hostname="localhost"
                )
                writer.write(b"secret")
                await reader.readexactly(6)
                writer.close()
                await writer.wait_closed()
                self.counts.tls += 1
                await asyncio.sleep(3.0)
        finally:
            server.close()
            await server.wait_closed()

    @staticmethod
    async def _tls_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(1024):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def take_sample(self, started: float) -> Sample:
        counts, self.counts = self.counts, Counters()
        sample = Sample(
            t=round(time.monotonic() - started, 1),
            rss_mib=round(rss_bytes() / 2**20, 2),
            fds=open_fds(),
            p50_ms=round(percentile(counts.latencies, 0.50) * 1000, 3),
            p99_ms=round(percentile(counts.latencies, 0.99) * 1000, 3),
            **{k: v for k, v in asdict(counts).items() if k != "latencies"},
        )
        self.samples.append(sample)
        return sample

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        stop_thread = threading.Event()
        thread = threading.Thread(target=self.threadsafe_thread, args=(loop, stop_thread))
        thread.start()
        work = [
            *(loop.create_task(self.echo_client(port)) for _ in range(ECHO_CLIENTS)),
            loop.create_task(self.connection_churn(port)),
            loop.create_task(self.udp()),
            loop.create_task(self.timers()),
            loop.create_task(self.subprocesses()),
            loop.create_task(self.tls()),
        ]
        started = time.monotonic()
        try:
            print_header()
            while time.monotonic() - started < self.duration:
                done = [task for task in work if task.done()]
                for task in done:
                    task.result()  # a workload that failed fails the soak
                await asyncio.sleep(self.interval)
                print_sample(self.take_sample(started))
        finally:
            self.stopping = True
            stop_thread.set()
            await asyncio.gather(*work, return_exceptions=True)
            for task in work:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            thread.join()
            server.close()
            await server.wait_closed()


COLUMNS = (
    "t",
    "rss_mib",
    "fds",
    "p50_ms",
    "p99_ms",
    "echoes",
    "connections",
    "datagrams",
    "timers",
    "threadsafe",
    "subprocesses",
    "tls",
)


def print_header() -> None:
    print(" ".join(f"{name:>12}" for name in COLUMNS), flush=True)


def print_sample(sample: Sample) -> None:
    values = asdict(sample)
    print(" ".join(f"{values[name]:>12}" for name in COLUMNS), flush=True)


#: name -> (relative allowance, absolute allowance)
ALLOWANCES = {"rss_mib": (0.05, 2.0), "fds": (0.0, 2.0), "p99_ms": (1.0, 1.0)}


def verdict(samples: list[Sample]) -> dict[str, dict[str, Any]]:
    """Compare the first and last thirds (warm-up sample dropped); see the module doc."""
    usable = samples[1:] if len(samples) > 3 else samples
    third = max(1, len(usable) // 3)
    first, last = usable[:third], usable[-third:]
    result = {}
    for name, (relative, absolute) in ALLOWANCES.items():
        before = statistics.median(getattr(s, name) for s in first)
        after = statistics.median(getattr(s, name) for s in last)
        allowance = max(relative * before, absolute)
        result[name] = {
            "first_third": before,
            "last_third": after,
            "allowance": round(allowance, 3),
            "grew": after - before > allowance,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--json", type=Path, help="also write samples and verdict here")
    args = parser.parse_args(argv)

    soak = Soak(args.duration, args.interval)
    print(
        f"loopkit soak: {args.duration:g} s, a sample every {args.interval:g} s, "
        f"TLS {'on' if soak.tls_contexts else 'off (trustme not installed)'}",
        flush=True,
    )
    try:
        loopkit.run(soak.main())
    except Exception as exc:
        print(f"the workload failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if not soak.samples:
        print("no sample taken: --duration shorter than --interval", file=sys.stderr)
        return 2
    result = verdict(soak.samples)
    totals = {name: sum(getattr(s, name) for s in soak.samples) for name in COLUMNS[5:]}
    print("totals: " + ", ".join(f"{name} {value}" for name, value in totals.items()))
    for name, outcome in result.items():
        state = "GREW" if outcome["grew"] else "steady"
        print(
            f"{name}: first third {outcome['first_third']}, last third "
            f"{outcome['last_third']} (allowance {outcome['allowance']}): {state}"
        )
    grew = [name for name, outcome in result.items() if outcome["grew"]]
    print("verdict: " + (f"grew: {', '.join(grew)}" if grew else "nothing grew"))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "samples": [asdict(s) for s in soak.samples],
                    "totals": totals,
                    "verdict": result,
                },
                indent=2,
            )
        )
    return 1 if grew else 0


if __name__ == "__main__":
    sys.exit(main())
