"""The elastic executor: a ThreadPoolExecutor whose idle workers exit.

It must do everything the default pool does for ``run_in_executor`` and
``shutdown_default_executor``, and then give its threads back when there is
no work for ``LOOPKIT_EXECUTOR_IDLE`` seconds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from executorhelpers import default_pool

import loopkit
from loopkit.plugins.executor.elastic import ENV_IDLE, ElasticThreadPoolExecutor

IDLE = 0.05


@pytest.fixture
def loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.AbstractEventLoop]:
    monkeypatch.setenv(ENV_IDLE, str(IDLE))
    new_loop = loopkit.new_event_loop(executor="elastic")
    try:
        yield new_loop
    finally:
        new_loop.close()


def workers(prefix: str = "asyncio_") -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(prefix)]


def wait_until(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_run_in_executor_runs_in_a_named_thread(loop: asyncio.AbstractEventLoop) -> None:
    name = loop.run_until_complete(
        loop.run_in_executor(None, lambda: threading.current_thread().name)
    )
    assert name.startswith("asyncio_")
    assert isinstance(default_pool(loop), ElasticThreadPoolExecutor)  # type: ignore[attr-defined]
    assert isinstance(default_pool(loop), concurrent.futures.ThreadPoolExecutor)  # type: ignore[attr-defined]


def test_an_exception_reaches_the_caller(loop: asyncio.AbstractEventLoop) -> None:
    def fails() -> None:
        raise LookupError("in thread")

    with pytest.raises(LookupError, match="in thread"):
        loop.run_until_complete(loop.run_in_executor(None, fails))


def test_idle_workers_exit_and_new_work_starts_new_ones(loop: asyncio.AbstractEventLoop) -> None:
    barrier = threading.Barrier(4)

    async def burst() -> list[int]:
        return await asyncio.gather(
            *(loop.run_in_executor(None, lambda: barrier.wait(5)) for _ in range(4))
        )

    loop.run_until_complete(burst())
    pool = default_pool(loop)
    assert len(pool._threads) == 4
    assert wait_until(lambda: not pool._threads), "idle workers did not exit"
    assert wait_until(lambda: not workers())
    assert loop.run_until_complete(loop.run_in_executor(None, pow, 3, 2)) == 9
    assert len(pool._threads) == 1


def test_a_steady_trickle_reuses_its_worker(loop: asyncio.AbstractEventLoop) -> None:
    """Work arriving more often than the idle timeout keeps the pool small.

    (A submission that races a worker still finishing its previous item may
    start one more thread, as in the default pool; never one per call.)
    """
    for number in range(20):
        assert loop.run_until_complete(loop.run_in_executor(None, abs, -number)) == number
        time.sleep(0.01)
    assert len(default_pool(loop)._threads) <= 2  # type: ignore[attr-defined]


def test_shutdown_default_executor_joins_the_workers(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(loop.run_in_executor(None, time.sleep, 0.01))
    loop.run_until_complete(loop.shutdown_default_executor())
    assert not workers()
    with pytest.raises(RuntimeError, match="shutdown"):
        loop.run_in_executor(None, pow, 2, 2)


def test_shutdown_while_workers_wait_does_not_wait_for_the_idle_timeout() -> None:
    pool = ElasticThreadPoolExecutor(max_workers=3, idle_timeout=30)
    barrier = threading.Barrier(3)
    futures = [pool.submit(barrier.wait, 5) for _ in range(3)]
    concurrent.futures.wait(futures, timeout=5)
    started = time.monotonic()
    pool.shutdown(wait=True)
    assert time.monotonic() - started < 5
    assert not any(thread.is_alive() for thread in pool._threads)  # type: ignore[attr-defined]


def test_many_submissions_racing_the_idle_timeout_all_complete() -> None:
    pool = ElasticThreadPoolExecutor(max_workers=4, idle_timeout=0.001)
    try:
        for _ in range(50):
            results = [pool.submit(pow, 2, n) for n in range(8)]
            assert [f.result(timeout=5) for f in results] == [2**n for n in range(8)]
            time.sleep(0.002)
    finally:
        pool.shutdown(wait=True)


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_idle_timeout_is_a_value_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV_IDLE, value)
    loop = loopkit.new_event_loop(executor="elastic")
    try:
        with pytest.raises(ValueError, match=ENV_IDLE):
            loop.run_in_executor(None, pow, 2, 2)
    finally:
        loop.close()


def test_asyncio_run_shuts_it_down_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_IDLE, str(IDLE))

    async def main() -> int:
        return await asyncio.get_running_loop().run_in_executor(None, pow, 2, 5)

    assert loopkit.run(main(), executor="elastic") == 32
    assert not workers()


def test_the_pool_class_is_importable_from_the_backend_module() -> None:
    from loopkit.plugins.executor import elastic, pool

    assert elastic.ElasticThreadPoolExecutor is pool.ElasticThreadPoolExecutor


def test_the_backend_modules_are_imported_by_the_first_pool_not_by_assembly() -> None:
    """Every loop's assembly reads the executor declarations; few loops make a pool."""
    code = (
        "import sys, json, loopkit\n"
        "names = ['loopkit.plugins.executor.threads', 'loopkit.plugins.executor.elastic']\n"
        "loop = loopkit.new_event_loop(plugins=[], executor='elastic')\n"
        "assembled = [n for n in names if n in sys.modules]\n"
        "loop.run_until_complete(loop.run_in_executor(None, int))\n"
        "loop.close()\n"
        "print(json.dumps([assembled, [n for n in names if n in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assembled, used = json.loads(done.stdout)
    assert assembled == []
    assert sorted(used) == sorted(
        ["loopkit.plugins.executor.threads", "loopkit.plugins.executor.elastic"]
    )
