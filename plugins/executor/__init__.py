"""The executor plugin: ``run_in_executor`` and the default thread pool.

The pool comes from the executor backend chosen at assembly (``executor=``,
``LOOPKIT_EXECUTOR``); this plugin offers two:
:mod:`~loopkit.plugins.executor.threads` (``threads``, the default,
asyncio's pool) and :mod:`~loopkit.plugins.executor.elastic` (``elastic``,
whose idle threads exit). Both are declared here and their modules are
imported by their ``create``, on a loop's first ``run_in_executor(None,
...)``: every loop's assembly reads the declarations, few loops make a pool.

This plugin is *essential*: ``asyncio.run`` and ``asyncio.Runner`` call
``shutdown_default_executor`` on every loop, so no loop can be built without
it. The pool itself is created lazily, on the first ``run_in_executor(None,
...)``, so a loop that never uses threads never starts one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
import warnings
from asyncio import futures
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loopkit.plugin import ExecutorInfo, executor_factory, hookimpl, loop_states, services

if TYPE_CHECKING:
    from loopkit.plugins.executor.pool import ElasticThreadPoolExecutor

#: Seconds an idle worker of the elastic pool waits for work before it exits.
ENV_IDLE = "LOOPKIT_EXECUTOR_IDLE"
DEFAULT_IDLE_TIMEOUT = 60.0

#: This plugin's key in the loop's per-plugin state.
STATE_KEY = "executor"


class ExecutorState:
    """One loop's default pool (None until first used) and whether it was shut down."""

    __slots__ = ("pool", "shutdown_called")

    def __init__(self) -> None:
        self.pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.shutdown_called = False

    def __repr__(self) -> str:
        return f"<ExecutorState pool={self.pool!r} shutdown_called={self.shutdown_called}>"


def executor_state(loop: Any) -> ExecutorState:
    """The executor plugin's state for ``loop`` (its default pool, among others)."""
    state: ExecutorState = loop_states(loop)[STATE_KEY]
    return state


def _get_default_executor(loop: Any) -> concurrent.futures.ThreadPoolExecutor:
    state = executor_state(loop)
    if state.shutdown_called:
        raise RuntimeError("Executor shutdown has been called")
    executor = state.pool
    if executor is None:
        executor = state.pool = executor_factory(loop)()
    return executor


def run_in_executor(
    self: Any,
    executor: concurrent.futures.Executor | None,
    func: Callable[..., Any],
    *args: Any,
) -> futures.Future[Any]:
    """Run ``func(*args)`` in ``executor`` (None: the default thread pool).

    Returns an asyncio future for the result.
    """
    if self.is_closed():
        raise RuntimeError("Event loop is closed")
    if self.get_debug():
        services(self).check_callback(func, "run_in_executor")
    if executor is None:
        executor = _get_default_executor(self)
    return futures.wrap_future(executor.submit(func, *args), loop=self)


def set_default_executor(self: Any, executor: concurrent.futures.ThreadPoolExecutor) -> None:
    """Use ``executor`` for ``run_in_executor(None, ...)``.

    Only a :class:`concurrent.futures.ThreadPoolExecutor` is accepted
    (TypeError otherwise), as asyncio 3.11+ requires.
    """
    if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
        raise TypeError("executor must be ThreadPoolExecutor")
    loop_states(self)[STATE_KEY].pool = executor


def _shut_down_in_thread(loop: Any, executor: Any, future: futures.Future[None]) -> None:
    """Join the pool's threads off the loop, then resolve ``future`` on it.

    The loop may be closed meanwhile (the waiter timed out, or gave up):
    then there is nobody left to tell, and that is not an error.
    """
    try:
        executor.shutdown(wait=True)
    except Exception as exc:
        _tell_loop(loop, _set_exception_unless_done, future, exc)
    else:
        _tell_loop(loop, _set_result_unless_done, future)


def _tell_loop(loop: Any, callback: Callable[..., None], *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # closed between the shutdown and this call
        pass


def _set_result_unless_done(future: futures.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _set_exception_unless_done(future: futures.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


async def _shutdown_default_executor(self: Any, timeout: float | None) -> None:
    state = executor_state(self)
    state.shutdown_called = True
    executor = state.pool
    if executor is None:
        return
    future = self.create_future()
    thread = threading.Thread(target=_shut_down_in_thread, args=(self, executor, future))
    thread.start()
    try:
        await asyncio.wait_for(future, timeout)
    except TimeoutError:
        warnings.warn(
            f"The executor did not finishing joining its threads within {timeout} seconds.",
            RuntimeWarning,
            stacklevel=3,
        )
        executor.shutdown(wait=False)
    else:
        thread.join()


if sys.version_info >= (3, 12):

    async def shutdown_default_executor(self: Any, timeout: float | None = None) -> None:
        """Shut the default executor down, waiting for its threads.

        With ``timeout`` (seconds), stop waiting after that long, warn with
        RuntimeWarning, and let the threads finish on their own.
        """
        await _shutdown_default_executor(self, timeout)

else:

    async def shutdown_default_executor(self: Any) -> None:  # type: ignore[misc]
        """Shut the default executor down, waiting for its threads."""
        await _shutdown_default_executor(self, None)


@hookimpl
def loopkit_provides() -> list[str]:
    """The executor part of the loop API."""
    return ["run_in_executor", "set_default_executor", "shutdown_default_executor"]


def _create_threads() -> concurrent.futures.ThreadPoolExecutor:
    from loopkit.plugins.executor import threads

    return threads.create()


def _create_elastic() -> ElasticThreadPoolExecutor:
    from loopkit.plugins.executor import elastic

    return elastic.create()


THREADS = ExecutorInfo(
    name="threads",
    create=_create_threads,
    priority=100,
    description="asyncio's default ThreadPoolExecutor (threads live until shutdown)",
)
ELASTIC = ExecutorInfo(
    name="elastic",
    create=_create_elastic,
    priority=10,
    description=f"threads exit after {ENV_IDLE} seconds idle (default 60)",
)


@hookimpl
def loopkit_executors() -> list[ExecutorInfo]:
    """asyncio's pool (the default) and the elastic one."""
    return [THREADS, ELASTIC]


def _get_pool(loop: Any) -> concurrent.futures.ThreadPoolExecutor | None:
    return executor_state(loop).pool


def _set_pool(loop: Any, pool: concurrent.futures.ThreadPoolExecutor | None) -> None:
    executor_state(loop).pool = pool


#: asyncio's own name for the default pool, for code written against asyncio's
#: internals: CPython's asyncio test harness reads the loop's ``_default_executor``
#: to shut the pool down after each test. The plugin's state stays the truth;
#: this is a view of it on the loop class (the plugin never reads or writes a
#: loop's private attribute itself).
_ASYNCIO_COMPATIBLE_POOL = property(
    _get_pool, _set_pool, doc="The default pool (asyncio's private name for it), or None."
)


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """The executor part of the loop API, and asyncio's name for the pool."""
    return {
        "run_in_executor": run_in_executor,
        "set_default_executor": set_default_executor,
        "shutdown_default_executor": shutdown_default_executor,
        "_default_executor": _ASYNCIO_COMPATIBLE_POOL,
    }


@hookimpl
def loopkit_loop_created(loop: Any) -> None:
    """Give the loop its executor state: no pool until one is first needed."""
    loop_states(loop)[STATE_KEY] = ExecutorState()


@hookimpl
def loopkit_loop_closing(loop: Any) -> None:
    """``loop.close()`` shuts the default pool down without waiting."""
    # get(): a loop whose making failed before the hook above ran is closed too.
    state: ExecutorState | None = loop_states(loop).get(STATE_KEY)
    if state is None:
        return
    executor = state.pool
    if executor is not None:
        state.pool = None
        executor.shutdown(wait=False)
    state.shutdown_called = True
