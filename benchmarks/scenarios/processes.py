"""Subprocesses: spawn-and-wait rate, and reading a child's output pipe.

Both go through ``asyncio.create_subprocess_exec`` as an application would,
so they time the loop's subprocess transport, its child watching and its
pipe transport together. The children are C programs (``/bin/true``,
``head -c N /dev/zero``) so that the child's own start-up and speed are as
small and as equal between loops as they can be. On a loopkit without the
subprocess plugin the scenarios are reported as skipped for loopkit only.
"""

from __future__ import annotations

import asyncio
import shutil
import sys

from benchmarks.scenarios._common import on_fresh_loop
from benchmarks.scenarios._echo import is_loopkit
from benchmarks.scenarios._registry import LoopFactory, Sample, Skipped, scenario

_MIB = 1024 * 1024
#: What one child writes, at most (the last child of a run may write less).
_PER_CHILD_MIB = 100
#: Bytes asked for per read of the child's stdout.
_READ_SIZE = 256 * 1024


def _require_subprocess_plugin(new_loop: LoopFactory) -> None:
    if not is_loopkit(new_loop):
        return
    import loopkit

    if loopkit.assemble().providers.get("subprocess_exec") is None:
        raise Skipped("subprocess plugin missing (no subprocess_exec provider in this tree)")


def _true_command() -> list[str]:
    found = shutil.which("true")
    return [found] if found else [sys.executable, "-c", "pass"]


def _zero_writer(nbytes: int) -> list[str]:
    head = shutil.which("head")
    if head:
        return [head, "-c", str(nbytes), "/dev/zero"]
    code = (
        "import sys; out = sys.stdout.buffer; block = bytes(1 << 20); "
        f"[out.write(block) for _ in range({nbytes} // (1 << 20))]"
    )
    return [sys.executable, "-c", code]


def _spawn_and_wait(loop: asyncio.AbstractEventLoop, n: int) -> int:
    command = _true_command()

    async def spawn_all() -> None:
        for _ in range(n):
            process = await asyncio.create_subprocess_exec(*command)
            await process.wait()

    loop.run_until_complete(spawn_all())
    return n


@scenario("subprocess_spawn", family="subprocess", unit="processes/s", size=300, quick_size=20)
def subprocess_spawn(new_loop: LoopFactory, n: int) -> Sample:
    """create_subprocess_exec('/bin/true') then wait(), one after another (processes/s)."""
    _require_subprocess_plugin(new_loop)
    return on_fresh_loop(new_loop, n, _spawn_and_wait)


def _read_pipe(loop: asyncio.AbstractEventLoop, mebibytes: int) -> int:
    """Children write ``mebibytes`` MiB in all, 100 MiB each, one after another."""

    async def read_child(nbytes: int) -> None:
        process = await asyncio.create_subprocess_exec(
            *_zero_writer(nbytes), stdout=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        total = 0
        while chunk := await process.stdout.read(_READ_SIZE):
            total += len(chunk)
        await process.wait()
        if total != nbytes:
            raise RuntimeError(f"read {total} bytes from the child, expected {nbytes}")

    async def read_all() -> None:
        left = mebibytes
        while left > 0:
            await read_child(min(left, _PER_CHILD_MIB) * _MIB)
            left -= _PER_CHILD_MIB

    loop.run_until_complete(read_all())
    return mebibytes


@scenario("pipe_read_100m", family="subprocess", unit="MiB/s", size=300, quick_size=5)
def pipe_read_100m(new_loop: LoopFactory, n: int) -> Sample:
    """Children write 100 MiB each to stdout, read via asyncio's Process.stdout (MiB/s)."""
    _require_subprocess_plugin(new_loop)
    return on_fresh_loop(new_loop, n, _read_pipe)
