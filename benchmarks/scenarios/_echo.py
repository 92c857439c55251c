"""Echo servers on the loop under test, driven by the separate load generator.

A transport scenario starts an echo server on a fresh loop, then starts
``benchmarks/loadgen.py`` in its own process against it. The load generator
warms the server up, prints ``start``, makes the measured requests and
prints ``done``; this module watches that control pipe with ``add_reader``
on the loop itself and reads the clocks (this process's CPU time, its
user-mode part, and wall time) when each line arrives. The window therefore holds only the measured
requests: server start-up, connection set-up and warm-up are outside it.

The servers here are what an application would write with each API
(Protocols, asyncio streams, the ``sock_*`` calls, datagram endpoints).
This module must never import a loop implementation, and never measure
anything inside the load generator.
"""

from __future__ import annotations

import asyncio
import cProfile
import inspect
import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.scenarios._registry import LoopFactory, Measure, Sample, scenario

_BENCHMARKS = Path(__file__).resolve().parent.parent
LOADGEN = _BENCHMARKS / "loadgen.py"
#: A self-signed certificate for CN=localhost / 127.0.0.1, valid for a century;
#: it protects nothing (the TLS echo benchmark needs one, that is all).
TLS_CERT = _BENCHMARKS / "tls_cert.pem"
TLS_KEY = _BENCHMARKS / "tls_key.pem"

#: Concurrent clients the load generator runs.
CLIENTS = 8
#: Bytes asked for per read by the streams and sock_* servers.
_READ_SIZE = 256 * 1024

#: Set by ``worker.py --profile``: enabled at the load generator's ``start``
#: and disabled at ``done``, so that the profile covers the measured window
#: only (no server start-up, connecting or warm-up).
window_profiler: cProfile.Profile | None = None

#: Starts a server on the running loop; returns (load generator address,
#: closer). The closer may return an awaitable, awaited on the loop.
Serve = Callable[[asyncio.AbstractEventLoop, str], Awaitable[tuple[str, Callable[[], Any]]]]


def echo_scenario(
    name: str,
    family: str,
    *,
    size: int,
    quick_size: int | None = None,
    per: str = "request",
) -> Callable[[Measure], Measure]:
    """Register an echo scenario: server CPU µs per ``per`` (always CPU), plus req/s."""
    return scenario(
        name,
        family=family,
        unit=f"server CPU µs/{per}",
        kind="cost",
        size=size,
        quick_size=quick_size,
        cost_scale=1e6,
        cpu_metric=True,
        throughput_unit=f"{per}s/s",
    )


def is_loopkit(new_loop: LoopFactory) -> bool:
    """Whether ``new_loop`` makes loopkit loops (checked without making one)."""
    module = getattr(new_loop, "__module__", None) or ""
    return module.split(".")[0] == "loopkit"


class EchoProtocol(asyncio.Protocol):
    """Writes back whatever arrives: the smallest useful stream server."""

    transport: Any

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class EchoDatagram(asyncio.DatagramProtocol):
    """Sends each datagram back to where it came from."""

    transport: Any

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


def server_tls_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS_CERT, TLS_KEY)
    return context


async def _stream_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_READ_SIZE):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def _host_port(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


async def serve_protocol(loop: asyncio.AbstractEventLoop, kind: str) -> tuple[str, Any]:
    """create_server / create_unix_server with :class:`EchoProtocol` (TLS for "tls")."""
    if kind == "unix":
        path = _unix_path()
        server = await loop.create_unix_server(EchoProtocol, path)
        return path, server.close
    tls = server_tls_context() if kind == "tls" else None
    server = await loop.create_server(EchoProtocol, "127.0.0.1", 0, ssl=tls)
    return _host_port(server.sockets[0]), server.close


async def serve_streams(loop: asyncio.AbstractEventLoop, kind: str) -> tuple[str, Any]:
    """asyncio.start_server / start_unix_server, a read-write-drain handler."""
    if kind == "unix":
        path = _unix_path()
        server = await asyncio.start_unix_server(_stream_echo, path)
        return path, server.close
    server = await asyncio.start_server(_stream_echo, "127.0.0.1", 0)
    return _host_port(server.sockets[0]), server.close


async def serve_sock_calls(loop: asyncio.AbstractEventLoop, kind: str) -> tuple[str, Any]:
    """sock_accept, then sock_recv / sock_sendall per connection in a task."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.setblocking(False)
    tasks: set[asyncio.Task[None]] = set()

    async def echo(conn: socket.socket) -> None:
        with conn:
            try:
                while data := await loop.sock_recv(conn, _READ_SIZE):
                    await loop.sock_sendall(conn, data)
            except ConnectionError:
                pass

    async def accept() -> None:
        while True:
            conn, _ = await loop.sock_accept(listener)
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(echo(conn))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    acceptor = loop.create_task(accept())

    def close() -> None:
        acceptor.cancel()
        for task in list(tasks):
            task.cancel()
        listener.close()

    return _host_port(listener), close


async def serve_datagrams(loop: asyncio.AbstractEventLoop, kind: str) -> tuple[str, Any]:
    """create_datagram_endpoint with :class:`EchoDatagram`."""
    transport, _ = await loop.create_datagram_endpoint(EchoDatagram, local_addr=("127.0.0.1", 0))
    return _host_port(transport.get_extra_info("socket")), transport.close


def _unix_path() -> str:
    return os.path.join(tempfile.mkdtemp(prefix="loopkit-bench-"), "echo.sock")


class _Window:
    """Reads the load generator's control lines; notes the clocks at each."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self.fd = fd
        self.pending = b""
        self.start: tuple[float, float, float] | None = None
        self.finished: asyncio.Future[tuple[float, float, float]] = loop.create_future()

    def on_readable(self) -> None:
        # The clocks first: nothing after the load generator's line is measured.
        now = (
            time.perf_counter(),
            time.process_time(),
            resource.getrusage(resource.RUSAGE_SELF).ru_utime,
        )
        chunk = os.read(self.fd, 4096)
        if not chunk:
            self._fail("the load generator exited before it was done")
            return
        self.pending += chunk
        while b"\n" in self.pending:
            line, _, self.pending = self.pending.partition(b"\n")
            text = line.decode(errors="replace")
            if text == "start":
                self.start = now
                if window_profiler is not None:
                    window_profiler.enable()
            elif text == "done" and self.start is not None:
                if window_profiler is not None:
                    window_profiler.disable()
                if not self.finished.done():
                    self.finished.set_result(now)
            else:
                self._fail(f"load generator: {text}")

    def _fail(self, message: str) -> None:
        if not self.finished.done():
            self.finished.set_exception(RuntimeError(message))


async def _session(
    loop: asyncio.AbstractEventLoop, serve: Serve, kind: str, size: int, n: int, clients: int
) -> Sample:
    address, close = await serve(loop, kind)
    command = [
        sys.executable,
        str(LOADGEN),
        kind,
        address,
        f"--size={size}",
        f"--clients={clients}",
        f"--warmup={max(clients, n // 10)}",
        f"--requests={n}",
        f"--cafile={TLS_CERT}",
    ]
    generator = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert generator.stdout is not None
    window = _Window(loop, generator.stdout.fileno())
    loop.add_reader(window.fd, window.on_readable)
    try:
        end_wall, end_cpu, end_user = await asyncio.wait_for(window.finished, 50)
    finally:
        loop.remove_reader(window.fd)
        # The load generator's connections are gone before the server stops
        # (a server that waits for its handlers, as aiohttp's does, need not).
        try:
            generator.wait(timeout=5)
        except subprocess.TimeoutExpired:
            generator.kill()
            generator.wait()
        generator.stdout.close()
        closing = close()
        if inspect.isawaitable(closing):
            await closing
        if kind == "unix":
            _remove_unix_path(address)
    assert window.start is not None
    start_wall, start_cpu, start_user = window.start
    return Sample(
        ops=n,
        seconds=end_wall - start_wall,
        cpu_seconds=end_cpu - start_cpu,
        user_cpu_seconds=end_user - start_user,
    )


def _remove_unix_path(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    os.rmdir(os.path.dirname(path))


async def _wind_down() -> None:
    """Let closing transports, and the stream handlers that saw the load
    generator hang up, finish before the loop goes away: under callgrind
    (benchmarks/instructions.py) that takes far longer than on its own."""
    await asyncio.sleep(0.01)
    handlers = asyncio.all_tasks() - {asyncio.current_task()}
    if handlers:
        await asyncio.wait(handlers, timeout=30)


def measure_echo(
    new_loop: LoopFactory, n: int, serve: Serve, kind: str, size: int, clients: int = CLIENTS
) -> Sample:
    """Serve on a fresh loop; the load generator's ``clients`` make ``n`` echo
    requests of ``size`` bytes between them."""
    loop = new_loop()
    try:
        sample = loop.run_until_complete(_session(loop, serve, kind, size, n, clients))
        loop.run_until_complete(_wind_down())
        return sample
    finally:
        loop.close()
