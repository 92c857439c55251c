"""Children that fail, misbehave or vanish: the outcome asyncio gives, no hang, no leak."""

from __future__ import annotations

import asyncio
import signal
import stat
from asyncio.subprocess import PIPE
from collections.abc import Callable
from typing import Any

import pytest
from subprocess_support import PYTHON, Recorder, is_reaped, open_fds

import loopkit

Run = Callable[..., Any]


def test_a_missing_program_raises_file_not_found_and_leaks_nothing(run: Run) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        for _ in range(3):
            with pytest.raises(FileNotFoundError):
                await loop.subprocess_exec(Recorder, "/nonexistent/program")
            with pytest.raises(FileNotFoundError):
                await asyncio.create_subprocess_exec("/nonexistent/program", stdout=PIPE)

    run(main())  # warm up
    before = open_fds()
    run(main())
    assert open_fds() == before


def test_a_program_that_is_not_executable_raises_permission_error(run: Run, tmp_path: Any) -> None:
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\necho never\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)

    async def main() -> None:
        with pytest.raises(PermissionError):
            await asyncio.get_running_loop().subprocess_exec(Recorder, str(script))

    before = open_fds()
    run(main())
    assert open_fds() == before


def test_a_child_killed_by_a_signal_has_a_negative_return_code(run: Run) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"

    async def main() -> int:
        proc = await asyncio.create_subprocess_exec(PYTHON, "-c", code)
        return await proc.wait()

    assert run(main()) == -signal.SIGTERM


def test_a_child_closing_stdout_early_keeps_running_until_it_exits(run: Run) -> None:
    code = (
        "import os, sys, time; os.write(1, b'partial'); os.close(1); "
        "time.sleep(0.2); sys.stderr.write('still alive')"
    )

    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(PYTHON, "-c", code, stdout=PIPE, stderr=PIPE)
        assert proc.stdout is not None
        assert await proc.stdout.read() == b"partial"
        assert proc.returncode is None  # stdout is closed, the child is not done
        out, err = await proc.communicate()
        assert (out, err) == (b"", b"still alive")
        assert proc.returncode == 0

    run(main())


def test_output_beyond_the_pipe_buffer_waits_for_us_without_deadlock(run: Run) -> None:
    size = 4 * 1024 * 1024
    code = f"import sys; sys.stdout.buffer.write(b'z' * {size})"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.subprocess_exec(Recorder, PYTHON, "-c", code)
        stdout = transport.get_pipe_transport(1)
        stdout.pause_reading()  # we do not read: the child blocks on a full pipe
        await asyncio.sleep(0.3)
        assert transport.get_returncode() is None
        assert len(proto.output[1]) < size
        stdout.resume_reading()  # once we read, everything arrives
        await proto.done
        transport.close()
        assert len(proto.output[1]) == size
        assert transport.get_returncode() == 0

    run(main())


def test_a_stream_reader_over_its_limit_pauses_and_resumes(run: Run) -> None:
    size = 2 * 1024 * 1024
    code = f"import sys; sys.stdout.buffer.write(b'w' * {size})"

    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(PYTHON, "-c", code, stdout=PIPE)
        assert proc.stdout is not None
        stdout_transport = proc._transport.get_pipe_transport(1)  # type: ignore[attr-defined]
        # Not reading yet: once the child has written past the reader's limit,
        # the reader pauses the pipe. Poll for it (a busy machine may take a
        # while to start the child) rather than sleeping a fixed time.
        for _ in range(200):
            if not stdout_transport.is_reading():
                break
            await asyncio.sleep(0.05)
        assert not stdout_transport.is_reading()
        data = await proc.stdout.read()
        assert len(data) == size
        assert await proc.wait() == 0

    run(main())


def test_a_child_whose_stdin_we_write_after_it_exited(run: Run) -> None:
    async def main() -> None:
        transport, proto = await asyncio.get_running_loop().subprocess_exec(Recorder, "true")
        assert await proto.exited == 0
        stdin = transport.get_pipe_transport(0)
        stdin.write(b"nobody reads this")  # the reader is gone: no exception here
        assert await proto.done is None
        assert proto.lost_exc[0] is None or isinstance(proto.lost_exc[0], BrokenPipeError)
        transport.close()

    run(main())


def test_many_failing_and_finishing_children_leave_no_zombie_or_fd(run: Run) -> None:
    async def main() -> list[int]:
        pids = []
        for code in ("pass", "raise SystemExit(3)", "import os; os.abort()"):
            proc = await asyncio.create_subprocess_exec(
                PYTHON, "-c", code, stdin=PIPE, stdout=PIPE, stderr=PIPE
            )
            await proc.communicate()
            pids.append(proc.pid)
        return pids

    run(main())  # warm up
    before = open_fds()
    pids = run(main())
    assert open_fds() == before
    assert all(is_reaped(pid) for pid in pids)


def test_cancelling_the_start_kills_and_reaps_the_child(run: Run) -> None:
    started: list[int] = []

    class Spy(Recorder):
        def connection_made(self, transport: Any) -> None:  # never reached
            super().connection_made(transport)
            started.append(transport.get_pid())

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = loop.create_task(loop.subprocess_exec(Spy, "sleep", "30"))
        await asyncio.sleep(0)  # Popen has run; the start-up now waits one iteration
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    before = open_fds()
    run(main())
    assert started == []
    assert open_fds() == before


def test_a_trimmed_loop_with_only_subprocess_gets_pipes_too() -> None:
    loop = loopkit.new_event_loop(plugins=["subprocess"])
    try:

        async def main() -> bytes:
            proc = await asyncio.create_subprocess_exec("echo", "trimmed", stdout=PIPE)
            out, _ = await proc.communicate()
            return out

        assert loop.run_until_complete(asyncio.wait_for(main(), 10)) == b"trimmed\n"
    finally:
        loop.close()
