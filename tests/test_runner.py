"""Running a program on loopkit: loopkit.run, asyncio.Runner, asyncio.run(loop_factory=)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncGenerator

import pytest
from executorhelpers import executor_shut_down

import loopkit


async def _describe() -> tuple[type[asyncio.AbstractEventLoop], bool]:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    return type(loop), loop.get_debug()


def test_loopkit_run_returns_the_result_on_a_loopkit_loop() -> None:
    loop_type, debug = loopkit.run(_describe())
    assert issubclass(loop_type, loopkit.KernelLoop)
    assert debug is False


def test_loopkit_run_debug_true() -> None:
    _, debug = loopkit.run(_describe(), debug=True)
    assert debug is True


def test_loopkit_run_propagates_the_exception() -> None:
    async def main() -> None:
        raise ArithmeticError("from main")

    with pytest.raises(ArithmeticError, match="from main"):
        loopkit.run(main())


def test_loopkit_run_with_a_chosen_poller() -> None:
    async def poller_name() -> str:
        return asyncio.get_running_loop()._poller.name  # type: ignore[attr-defined,no-any-return]

    assert loopkit.run(poller_name(), poller="select") == "select"


def test_loopkit_run_cleans_up_tasks_generators_and_the_executor() -> None:
    """asyncio.Runner's shutdown sequence runs on the loopkit loop."""
    events: list[str] = []
    loops: list[asyncio.AbstractEventLoop] = []
    pending: list[asyncio.Future[None]] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("task cancelled")
            raise

    async def agen() -> AsyncGenerator[int, None]:
        try:
            yield 1
            yield 2
        finally:
            events.append("generator closed")

    async def main() -> AsyncGenerator[int, None]:
        loop = asyncio.get_running_loop()
        loops.append(loop)
        pending.append(asyncio.ensure_future(forever()))
        await asyncio.sleep(0)
        await loop.run_in_executor(None, int)
        gen = agen()
        await gen.__anext__()
        return gen

    gen = loopkit.run(main())
    assert events == ["task cancelled", "generator closed"]
    assert pending[0].cancelled()
    assert loops[0].is_closed()
    assert executor_shut_down(loops[0])
    del gen


def test_asyncio_runner_with_loopkit_as_loop_factory() -> None:
    with asyncio.Runner(loop_factory=loopkit.new_event_loop) as runner:
        loop_type, _ = runner.run(_describe())
        assert issubclass(loop_type, loopkit.KernelLoop)
        assert isinstance(runner.get_loop(), loopkit.KernelLoop)
        # The same loop serves several run() calls.
        assert runner.run(asyncio.sleep(0, "second")) == "second"
        loop = runner.get_loop()
    assert loop.is_closed()


def test_asyncio_runner_debug_flag_reaches_the_loopkit_loop() -> None:
    with asyncio.Runner(debug=True, loop_factory=loopkit.new_event_loop) as runner:
        _, debug = runner.run(_describe())
    assert debug is True


@pytest.mark.skipif(
    sys.version_info < (3, 12), reason="asyncio.run() has no loop_factory= before Python 3.12"
)
def test_asyncio_run_with_loopkit_as_loop_factory() -> None:
    loop_type, _ = asyncio.run(_describe(), loop_factory=loopkit.new_event_loop)  # type: ignore[call-arg]
    assert issubclass(loop_type, loopkit.KernelLoop)


def test_asyncio_runner_cancels_main_on_keyboard_interrupt() -> None:
    """Runner turns a KeyboardInterrupt during run() into cancelling main, as asyncio does."""
    import signal
    import threading

    # asyncio.Runner handles Ctrl-C only when SIGINT has Python's default
    # handler; a test run started in the background by a non-interactive
    # shell inherits SIGINT ignored, so put the default handler in place.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        pytest.skip("signals are delivered to the main thread only")
    events: list[str] = []

    async def main() -> None:
        asyncio.get_running_loop().call_later(0.05, signal.raise_signal, signal.SIGINT)
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            events.append("main cancelled")
            raise

    try:
        with pytest.raises(KeyboardInterrupt):
            loopkit.run(main())
    finally:
        restore()
    assert events == ["main cancelled"]


def test_run_refuses_a_bare_string_of_plugin_names() -> None:
    async def main() -> None:
        pass

    coroutine = main()
    with pytest.raises(TypeError, match=r"^plugins must be an iterable of plugin names, not"):
        loopkit.run(coroutine, plugins="tcp")  # type: ignore[arg-type]
    coroutine.close()


def test_run_takes_enable() -> None:
    async def main() -> bool:
        return callable(getattr(asyncio.get_running_loop(), "stats", None))

    assert loopkit.run(main(), enable=["instruments"]) is True
    assert loopkit.run(main()) is False
