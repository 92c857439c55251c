"""run_in_executor, the default thread pool, and shutting it down."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import sys
import threading
import warnings
from typing import Any

import pytest
from executorhelpers import default_pool

import loopkit


def test_default_pool_is_made_lazily_on_first_use(loop: asyncio.AbstractEventLoop) -> None:
    assert default_pool(loop) is None  # type: ignore[attr-defined]

    async def main() -> str:
        return await loop.run_in_executor(None, lambda: threading.current_thread().name)

    thread_name = loop.run_until_complete(main())
    assert isinstance(default_pool(loop), concurrent.futures.ThreadPoolExecutor)  # type: ignore[attr-defined]
    assert thread_name.startswith("asyncio")
    assert thread_name != threading.current_thread().name


def test_run_in_executor_returns_an_asyncio_future_with_the_result(
    loop: asyncio.AbstractEventLoop,
) -> None:
    future = loop.run_in_executor(None, pow, 2, 10)
    assert isinstance(future, asyncio.Future)
    assert loop.run_until_complete(future) == 1024


def test_run_in_executor_propagates_the_exception(loop: asyncio.AbstractEventLoop) -> None:
    def fails() -> None:
        raise LookupError("in thread")

    with pytest.raises(LookupError, match="in thread"):
        loop.run_until_complete(loop.run_in_executor(None, fails))


def test_an_explicit_executor_is_used(loop: asyncio.AbstractEventLoop) -> None:
    with concurrent.futures.ThreadPoolExecutor(thread_name_prefix="mine") as pool:
        name = loop.run_until_complete(
            loop.run_in_executor(pool, lambda: threading.current_thread().name)
        )
    assert name.startswith("mine")
    assert default_pool(loop) is None  # type: ignore[attr-defined]


def test_set_default_executor_accepts_only_a_thread_pool(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    class NotAThreadPool(concurrent.futures.Executor):
        pass

    with pytest.raises(TypeError, match="executor must be ThreadPoolExecutor"):
        any_loop.set_default_executor(NotAThreadPool())  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(thread_name_prefix="chosen") as pool:
        any_loop.set_default_executor(pool)
        name = any_loop.run_until_complete(
            any_loop.run_in_executor(None, lambda: threading.current_thread().name)
        )
        assert name.startswith("chosen")


def test_after_shutdown_default_executor_the_default_pool_is_refused(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    any_loop.run_until_complete(any_loop.run_in_executor(None, int))
    pool: concurrent.futures.ThreadPoolExecutor = default_pool(any_loop)
    threads = set(pool._threads)  # type: ignore[attr-defined]
    any_loop.run_until_complete(any_loop.shutdown_default_executor())
    # Its threads were joined.
    assert threads and not any(t.is_alive() for t in threads)
    with pytest.raises(RuntimeError, match="Executor shutdown has been called"):
        any_loop.run_in_executor(None, int)
    # An explicit executor still works.
    with concurrent.futures.ThreadPoolExecutor() as other:
        assert any_loop.run_until_complete(any_loop.run_in_executor(other, int)) == 0


def test_shutdown_default_executor_without_a_pool_does_nothing_but_refuses_later(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    any_loop.run_until_complete(any_loop.shutdown_default_executor())
    assert default_pool(any_loop) is None  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="Executor shutdown has been called"):
        any_loop.run_in_executor(None, int)


def test_shutdown_default_executor_has_asyncios_signature_on_this_python() -> None:
    loop = loopkit.new_event_loop()
    try:
        ours = inspect.signature(loop.shutdown_default_executor)
        reference = inspect.signature(asyncio.BaseEventLoop.shutdown_default_executor)
        assert list(ours.parameters) == list(reference.parameters)[1:]  # without self
        if sys.version_info >= (3, 12):
            assert ours.parameters["timeout"].default is None
        else:
            assert "timeout" not in ours.parameters
    finally:
        loop.close()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="timeout= is new in 3.12")
def test_shutdown_default_executor_timeout_warns_and_returns(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    if sys.version_info < (3, 13) and not isinstance(any_loop, loopkit.KernelLoop):
        pytest.skip("asyncio 3.12.1 waits for the pool despite timeout= (fixed in later versions)")
    release = threading.Event()
    any_loop.run_in_executor(None, release.wait, 5)
    try:
        with pytest.warns(RuntimeWarning, match="did not finishing joining its threads"):
            any_loop.run_until_complete(
                any_loop.shutdown_default_executor(timeout=0.1)  # type: ignore[call-arg]
            )
        assert not release.is_set()
    finally:
        release.set()


def test_run_in_executor_refuses_a_coroutine_function_in_debug_mode(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    async def coroutine_function() -> None:
        pass

    any_loop.set_debug(True)
    with pytest.raises(TypeError, match="coroutines cannot be used with run_in_executor"):
        any_loop.run_in_executor(None, coroutine_function)


def test_loop_is_not_blocked_while_a_function_runs_in_a_thread(
    loop: asyncio.AbstractEventLoop,
) -> None:
    release = threading.Event()
    ticks: list[int] = []

    async def main() -> Any:
        future = loop.run_in_executor(None, release.wait, 5)
        for i in range(5):
            await asyncio.sleep(0.005)
            ticks.append(i)
        release.set()
        return await future

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert loop.run_until_complete(main()) is True
    assert ticks == [0, 1, 2, 3, 4]


def test_loop_closed_while_the_pool_shuts_down_is_not_an_error_in_the_thread(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Give up waiting for the pool, close the loop, then let the pool finish."""
    release = threading.Event()
    thread_errors: list[BaseException | None] = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: thread_errors.append(args.exc_value)
    try:
        loop.run_in_executor(None, release.wait, 5)
        shutdown = loop.shutdown_default_executor()
        with pytest.raises(TimeoutError):
            loop.run_until_complete(asyncio.wait_for(shutdown, 0.05))
        loop.close()
        workers = [t for t in threading.enumerate() if t.name.startswith("asyncio")]
        release.set()
        for worker in workers:
            worker.join(5)
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and thread.daemon is False:
                thread.join(5)
    finally:
        release.set()
        threading.excepthook = previous_hook
    assert thread_errors == []
