"""subprocess_exec / subprocess_shell with a protocol: the transport API and callback order."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from noblocking import own_blocking_call
from subprocess_support import PYTHON, Recorder, check_order, is_reaped

Run = Callable[..., Any]


def test_exec_reports_output_exit_and_the_documented_order(run: Run) -> None:
    async def main() -> Recorder:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.subprocess_exec(
            Recorder, PYTHON, "-c", "import sys; print('out'); print('err', file=sys.stderr)"
        )
        assert proto.events == ["made"]  # connection_made ran before the call returned
        assert isinstance(transport.get_pid(), int)
        assert transport.get_extra_info("subprocess").pid == transport.get_pid()
        assert await proto.done is None
        assert transport.get_returncode() == 0
        transport.close()
        return proto

    proto = run(main())
    assert proto.output[1] == b"out\n"
    assert proto.output[2] == b"err\n"
    check_order(proto.events)
    assert set(proto.events) == {"made", "data1", "data2", "pipe_lost0", "pipe_lost1"} | {
        "pipe_lost2",
        "exited",
        "lost",
    }


def test_shell_runs_the_command_through_the_shell(run: Run) -> None:
    async def main() -> int | None:
        transport, proto = await asyncio.get_running_loop().subprocess_shell(
            Recorder, "echo $((6 * 7)); exit 3"
        )
        await proto.done
        assert proto.output[1] == b"42\n"
        transport.close()
        return transport.get_returncode()

    assert run(main()) == 3


def test_pipes_closed_early_are_reported_before_the_exit(run: Run) -> None:
    code = "import os, time; os.write(1, b'x'); os.close(1); os.close(2); time.sleep(0.3)"

    async def main() -> list[str]:
        transport, proto = await asyncio.get_running_loop().subprocess_exec(
            Recorder, PYTHON, "-c", code, stdin=subprocess.DEVNULL
        )
        await proto.done
        transport.close()
        return proto.events

    events = run(main())
    check_order(events)
    assert events.index("pipe_lost1") < events.index("exited")
    assert events.index("pipe_lost2") < events.index("exited")


def test_an_exit_while_a_grandchild_holds_stdout_is_reported_first(run: Run) -> None:
    async def main() -> list[str]:
        transport, proto = await asyncio.get_running_loop().subprocess_shell(
            Recorder, "(sleep 0.3; echo late) & exit 0", stdin=subprocess.DEVNULL
        )
        assert await proto.exited == 0
        assert "pipe_lost1" not in proto.events  # the grandchild still holds it
        await proto.done
        assert proto.output[1] == b"late\n"
        transport.close()
        return proto.events

    events = run(main())
    check_order(events)
    assert events.index("exited") < events.index("pipe_lost1")


def test_stdin_pipe_feeds_the_child(run: Run) -> None:
    async def main() -> bytes:
        transport, proto = await asyncio.get_running_loop().subprocess_exec(
            Recorder, "cat", stderr=subprocess.DEVNULL
        )
        stdin = transport.get_pipe_transport(0)
        stdin.write(b"fed through stdin")
        stdin.close()
        await proto.done
        transport.close()
        return bytes(proto.output[1])

    assert run(main()) == b"fed through stdin"


def test_stdio_may_be_devnull_stdout_an_fd_a_file_or_inherited(run: Run) -> None:
    code = "import sys; print('to out'); print('to err', file=sys.stderr)"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        # stderr=STDOUT: both streams arrive on fd 1; no pipe for 0 and 2.
        transport, proto = await loop.subprocess_exec(
            Recorder, PYTHON, "-c", code, stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        assert transport.get_pipe_transport(0) is None
        assert transport.get_pipe_transport(2) is None
        assert transport.get_pipe_transport(1) is not None
        await proto.done
        transport.close()
        assert sorted(proto.output[1].splitlines()) == [b"to err", b"to out"]

        # A file object and a raw fd.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            transport, proto = await loop.subprocess_exec(
                Recorder, PYTHON, "-c", code, stdin=None, stdout=out, stderr=err.fileno()
            )
            assert [transport.get_pipe_transport(fd) for fd in (0, 1, 2)] == [None] * 3
            await proto.done
            transport.close()
            out.seek(0)
            err.seek(0)
            assert (own_blocking_call(out.read), own_blocking_call(err.read)) == (
                b"to out\n",
                b"to err\n",
            )
        assert proto.events == ["made", "exited", "lost"]

    run(main())


def test_popen_keywords_are_passed_through(run: Run, tmp_path: Any) -> None:
    code = (
        "import os, sys; "
        "print(os.environ['LOOPKIT_TEST'], os.getcwd(), os.getsid(0) == os.getpid()); "
        "os.write(int(sys.argv[1]), b'via pass_fds')"
    )

    async def main() -> None:
        rfd, wfd = os.pipe()
        try:
            transport, proto = await asyncio.get_running_loop().subprocess_exec(
                Recorder,
                PYTHON,
                "-c",
                code,
                str(wfd),
                env={**os.environ, "LOOPKIT_TEST": "env-ok"},
                cwd=str(tmp_path),
                start_new_session=True,
                pass_fds=(wfd,),
            )
            await proto.done
            transport.close()
            assert proto.output[1].decode().split() == ["env-ok", str(tmp_path), "True"]
            assert own_blocking_call(os.read, rfd, 100) == b"via pass_fds"
        finally:
            os.close(rfd)
            os.close(wfd)

    run(main())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bufsize": 1}, "bufsize must be 0"),
        ({"text": True}, "text must be False"),
        ({"universal_newlines": True}, "universal_newlines must be False"),
        ({"encoding": "utf-8"}, "encoding must be None"),
        ({"errors": "strict"}, "errors must be None"),
    ],
)
def test_text_mode_and_buffering_are_refused(
    run: Run, kwargs: dict[str, Any], message: str
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError, match=message):
            await loop.subprocess_exec(Recorder, "true", **kwargs)
        with pytest.raises(ValueError, match=message):
            await loop.subprocess_shell(Recorder, "true", **kwargs)

    run(main())


def test_shell_and_exec_check_their_own_arguments(run: Run) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError, match="cmd must be a string"):
            await loop.subprocess_shell(Recorder, ["echo", "list"])
        with pytest.raises(ValueError, match="shell must be True"):
            await loop.subprocess_shell(Recorder, "true", shell=False)
        with pytest.raises(ValueError, match="shell must be False"):
            await loop.subprocess_exec(Recorder, "true", shell=True)

    run(main())


def test_signals_reach_the_child_and_give_negative_return_codes(run: Run) -> None:
    async def main() -> list[int | None]:
        loop = asyncio.get_running_loop()
        codes = []
        for method, args in (
            ("send_signal", (signal.SIGUSR1,)),
            ("terminate", ()),
            ("kill", ()),
        ):
            transport, proto = await loop.subprocess_exec(Recorder, "sleep", "30")
            getattr(transport, method)(*args)
            await proto.done
            transport.close()
            codes.append(transport.get_returncode())
        return codes

    assert run(main()) == [-signal.SIGUSR1, -signal.SIGTERM, -signal.SIGKILL]


def test_signalling_a_finished_transport_raises_process_lookup_error(run: Run) -> None:
    async def main() -> None:
        transport, proto = await asyncio.get_running_loop().subprocess_exec(Recorder, "true")
        await proto.done
        for call in (transport.kill, transport.terminate, lambda: transport.send_signal(0)):
            with pytest.raises(ProcessLookupError):
                call()
        transport.close()

    run(main())


def test_close_kills_a_running_child_which_is_then_reaped(run: Run) -> None:
    async def main() -> None:
        transport, proto = await asyncio.get_running_loop().subprocess_exec(Recorder, "sleep", "30")
        assert not transport.is_closing()
        transport.close()
        assert transport.is_closing()
        transport.close()  # idempotent
        assert await proto.done is None
        assert transport.get_returncode() == -signal.SIGKILL
        assert is_reaped(transport.get_pid())
        check_order(proto.events)

    run(main())


def test_no_zombie_after_exit_and_close(run: Run) -> None:
    async def main() -> int:
        transport, proto = await asyncio.get_running_loop().subprocess_exec(
            Recorder, PYTHON, "-c", "pass"
        )
        await proto.done
        transport.close()
        return transport.get_pid()

    pid = run(main())
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
