"""asyncio.create_subprocess_exec / _shell and asyncio.subprocess.Process on loopkit."""

from __future__ import annotations

import asyncio
import signal
from asyncio.subprocess import DEVNULL, PIPE, STDOUT
from collections.abc import Callable
from typing import Any

import pytest
from subprocess_support import PYTHON, is_reaped

Run = Callable[..., Any]

UPPER = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().upper())"


def test_communicate_round_trips_more_than_a_pipe_buffer(run: Run) -> None:
    payload = b"abcdefgh" * 200_000  # 1.6 MB each way

    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(
            PYTHON, "-c", UPPER, stdin=PIPE, stdout=PIPE, stderr=PIPE
        )
        out, err = await proc.communicate(payload)
        assert out == payload.upper()
        assert err == b""
        assert proc.returncode == 0
        assert is_reaped(proc.pid)

    run(main())


def test_wait_returns_the_exit_status_of_a_shell_command(run: Run) -> None:
    async def main() -> None:
        proc = await asyncio.create_subprocess_shell("exit 4")
        assert await proc.wait() == 4
        assert proc.returncode == 4
        assert await proc.wait() == 4  # again: at once

    run(main())


def test_stdin_drain_applies_backpressure_and_completes(run: Run) -> None:
    async def main() -> None:
        proc = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
        assert proc.stdin is not None and proc.stdout is not None
        reader = asyncio.ensure_future(proc.stdout.read())
        for _ in range(16):
            proc.stdin.write(b"y" * 65536)
            await proc.stdin.drain()
        proc.stdin.close()
        await proc.stdin.wait_closed()
        assert len(await reader) == 16 * 65536
        assert await proc.wait() == 0

    run(main())


def test_stderr_to_stdout_and_devnull(run: Run) -> None:
    code = "import sys; print('o'); print('e', file=sys.stderr)"

    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(
            PYTHON, "-c", code, stdin=DEVNULL, stdout=PIPE, stderr=STDOUT
        )
        out, err = await proc.communicate()
        assert sorted(out.split()) == [b"e", b"o"]
        assert err is None

    run(main())


def test_kill_after_wait_raises_process_lookup_error(run: Run) -> None:
    async def main() -> None:
        proc = await asyncio.create_subprocess_exec("sleep", "30")
        proc.kill()
        assert await proc.wait() == -signal.SIGKILL
        with pytest.raises(ProcessLookupError):
            proc.kill()
        with pytest.raises(ProcessLookupError):
            proc.terminate()

    run(main())


def test_reading_lines_from_a_child(run: Run) -> None:
    async def main() -> list[bytes]:
        proc = await asyncio.create_subprocess_exec(
            PYTHON, "-c", "for i in range(3): print(i, flush=True)", stdout=PIPE
        )
        assert proc.stdout is not None
        lines = [line async for line in proc.stdout]
        await proc.wait()
        return lines

    assert run(main()) == [b"0\n", b"1\n", b"2\n"]


def test_cancelling_a_wait_leaves_the_process_usable(run: Run) -> None:
    async def main() -> None:
        proc = await asyncio.create_subprocess_exec("sleep", "30")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), 0.05)
        proc.terminate()
        assert await proc.wait() == -signal.SIGTERM

    run(main())
