"""aiohttp web servers on the loop under test, loaded by ``wrk``.

The worker serves an ``aiohttp.web.Application`` with one GET route on a
fresh loop, bound to a loopback port: ``http_aiohttp_hello`` answers
``Hello, World!``, ``http_aiohttp_json`` a JSON document of about 4.5 KiB
that ``web.json_response`` serialises afresh for every request (what an
API server does). The worker
runs ``wrk -t1 -c32 -d<secs>`` against it in a process of its own: wrk is a
C program, so every loop gets the same load and the load generator's own
cost is small. A first short wrk run warms the server up (connections,
aiohttp's caches, the interpreter's specialisation); the measured run
follows on fresh connections. (A ``--quick`` run, 1 s, skips the warm-up.)

The window is the measured wrk process's life: the clocks are read right
after it has been started and again when its output pipe reaches end of
file (it prints its summary and exits), watched with ``add_reader`` on the
loop under test, as the echo scenarios watch their load generator. The
operation count is the number of requests the server's handler ran in
that window. As for the echo scenarios, the main value is the server
process's CPU time per request (always on the CPU clock) and the
throughput table gives requests per wall-clock second.

wrk is not a Python package (Debian: ``apt-get install wrk``); without it
on ``PATH``, or without aiohttp, the scenario is *skipped* with the reason,
never an error, so a run on a machine without them still succeeds. This
module must never import a loop implementation, and never measures
anything inside wrk.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import resource
import shutil
import socket
import subprocess
import time
from collections.abc import Callable

from benchmarks.scenarios import _echo
from benchmarks.scenarios._registry import LoopFactory, Measure, Sample, Skipped, scenario

#: Open connections wrk keeps, all on one wrk thread.
CONNECTIONS = 32
#: Seconds of warm-up load before a measured run of at least 2 s (wrk's
#: shortest duration; a ``--quick`` 1 s smoke run goes without).
WARMUP_SECONDS = 1
#: The body of every hello response.
HELLO = "Hello, World!"
#: The document every JSON response serialises (json.dumps of it is 4.5 KiB):
#: a page of records, as an API's list endpoint returns.
DOCUMENT = {
    "page": 1,
    "per_page": 32,
    "items": [
        {
            "id": i,
            "name": f"item-{i:04d}",
            "tags": ["alpha", "beta", "gamma"],
            "price": 10.5 + i,
            "in_stock": i % 3 != 0,
            "owner": {"id": 1000 + i, "login": f"user{i}"},
        }
        for i in range(32)
    ],
}

#: (wall, process CPU, user-mode CPU) seconds, read together.
Clocks = tuple[float, float, float]


def _clocks() -> Clocks:
    return (
        time.perf_counter(),
        time.process_time(),
        resource.getrusage(resource.RUSAGE_SELF).ru_utime,
    )


def find_wrk() -> str:
    """The path of the ``wrk`` program, or :class:`Skipped` saying how to get it."""
    path = shutil.which("wrk")
    if path is None:
        raise Skipped("wrk is not installed (not on PATH; Debian/Ubuntu: apt-get install wrk)")
    return path


def require_aiohttp() -> None:
    if importlib.util.find_spec("aiohttp") is None:
        raise Skipped("aiohttp is not installed (pip install -e '.[test]')")


#: wrk counts a request unanswered after this long as a timeout error (its
#: default, 2 s, is reached under callgrind, where the server runs some fifty
#: times slower: see benchmarks/instructions.py).
WRK_TIMEOUT = "30s"


def wrk_command(wrk: str, port: int, seconds: int) -> list[str]:
    """One wrk thread, :data:`CONNECTIONS` connections, for ``seconds`` s."""
    return [
        wrk,
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT}",
        f"http://127.0.0.1:{port}/",
    ]


def check_wrk_output(text: str) -> None:
    """Raise RuntimeError when wrk reports failed requests or socket errors.

    A run where requests failed would make the server look cheaper per
    request than it is (errors are cheap), so it is an error, not a number.
    """
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if bad:
        raise RuntimeError(f"wrk: {bad.group(1)} responses were not 2xx/3xx")
    errors = re.search(r"Socket errors: (.*)", text)
    if errors and any(int(n) for n in re.findall(r"\d+", errors.group(1))):
        raise RuntimeError(f"wrk: socket errors: {errors.group(1).strip()}")
    if not re.search(r"Requests/sec:", text):
        raise RuntimeError(f"wrk printed no result: {text.strip()[-200:]!r}")


class _WrkRun:
    """One wrk process, its output read on the loop; the clocks at its end."""

    def __init__(self, loop: asyncio.AbstractEventLoop, command: list[str]) -> None:
        self.loop = loop
        self.output = bytearray()
        self.ended: asyncio.Future[Clocks] = loop.create_future()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        assert self.process.stdout is not None
        self.fd = self.process.stdout.fileno()
        loop.add_reader(self.fd, self._on_readable)

    def _on_readable(self) -> None:
        # The clocks first: nothing after wrk's exit is measured.
        now = _clocks()
        chunk = os.read(self.fd, 65536)
        if chunk:
            self.output += chunk
        elif not self.ended.done():
            self.ended.set_result(now)

    async def finish(self, timeout: float) -> tuple[Clocks, str]:
        """Wait for end of output; reap wrk; return (clocks at end, its output)."""
        try:
            end = await asyncio.wait_for(self.ended, timeout)
        finally:
            self.loop.remove_reader(self.fd)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            assert self.process.stdout is not None
            self.process.stdout.close()
        text = self.output.decode(errors="replace")
        if self.process.returncode != 0:
            raise RuntimeError(f"wrk exited with status {self.process.returncode}: {text[-200:]}")
        check_wrk_output(text)
        return end, text


async def _serve_and_load(
    loop: asyncio.AbstractEventLoop, wrk: str, seconds: int, body: str
) -> Sample:
    from aiohttp import web

    handled = 0

    async def hello(request: web.Request) -> web.Response:
        nonlocal handled
        handled += 1
        return web.Response(text=HELLO)

    async def document(request: web.Request) -> web.Response:
        nonlocal handled
        handled += 1
        return web.json_response(DOCUMENT)

    app = web.Application()
    app.router.add_get("/", hello if body == "hello" else document)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        await web.SockSite(runner, listener, backlog=128).start()
        if seconds >= 2:
            await _WrkRun(loop, wrk_command(wrk, port, WARMUP_SECONDS)).finish(30)
        run = _WrkRun(loop, wrk_command(wrk, port, seconds))
        start, before = _clocks(), handled
        if _echo.window_profiler is not None:
            _echo.window_profiler.enable()
        try:
            end, _ = await run.finish(seconds + 30)
        finally:
            if _echo.window_profiler is not None:
                _echo.window_profiler.disable()
        ops = handled - before
    finally:
        await runner.cleanup()
        listener.close()
    if ops <= 0:
        raise RuntimeError("wrk made no request that reached the handler")
    return Sample(
        ops=ops,
        seconds=end[0] - start[0],
        cpu_seconds=end[1] - start[1],
        user_cpu_seconds=end[2] - start[2],
        all_ops=handled,
    )


def wrk_scenario(name: str) -> Callable[[Measure], Measure]:
    """Register a wrk-loaded row: server CPU µs per request, plus requests/s.

    Its size is the measured run's duration in seconds (3; 1 for ``--quick``).
    """
    return scenario(
        name,
        family="http",
        unit="server CPU µs/request",
        kind="cost",
        size=3,
        quick_size=1,
        cost_scale=1e6,
        cpu_metric=True,
        throughput_unit="requests/s",
    )


def measure_http(new_loop: LoopFactory, seconds: int, body: str = "hello") -> Sample:
    """Serve ``body`` ("hello" or "json") on a fresh loop under ``seconds`` s of wrk load."""
    wrk = find_wrk()
    require_aiohttp()
    loop = new_loop()
    try:
        sample = loop.run_until_complete(_serve_and_load(loop, wrk, seconds, body))
        # Let closing transports finish before the loop goes away.
        loop.run_until_complete(asyncio.sleep(0.01))
        return sample
    finally:
        loop.close()


@wrk_scenario("http_aiohttp_hello")
def http_aiohttp_hello(new_loop: LoopFactory, n: int) -> Sample:
    """aiohttp hello world under wrk, 32 connections (server CPU µs/request).

    Here ``n`` is the measured wrk run's duration in seconds, not a count:
    wrk runs for a time, not for a number of requests.
    """
    return measure_http(new_loop, n)


@wrk_scenario("http_aiohttp_json")
def http_aiohttp_json(new_loop: LoopFactory, n: int) -> Sample:
    """aiohttp 4.5 KiB JSON body (json_response) under wrk, 32 keep-alive connections.

    ``n`` is the measured wrk run's duration in seconds, as for hello.
    """
    return measure_http(new_loop, n, "json")
