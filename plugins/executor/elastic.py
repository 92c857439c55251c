"""The ``elastic`` executor backend: a thread pool whose idle threads go away.

A :class:`~concurrent.futures.ThreadPoolExecutor` keeps every thread it
ever started until it is shut down. The elastic pool
(:class:`ElasticThreadPoolExecutor`, in :mod:`loopkit.plugins.executor.pool`)
lets a thread that found no work for ``LOOPKIT_EXECUTOR_IDLE`` seconds
(default 60) exit, so a quiet process shrinks back to no threads at all.

This module only declares the backend: every loop's assembly lists it, so
it must stay cheap to import. The pool's module is imported by
:func:`create`, on a loop's first ``run_in_executor(None, ...)``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from loopkit.plugin import ExecutorInfo

if TYPE_CHECKING:
    from loopkit.plugins.executor.pool import ElasticThreadPoolExecutor

#: Seconds an idle worker waits for work before it exits.
ENV_IDLE = "LOOPKIT_EXECUTOR_IDLE"
DEFAULT_IDLE_TIMEOUT = 60.0


def idle_timeout_from_environment() -> float:
    """``LOOPKIT_EXECUTOR_IDLE`` in seconds, or the default; ValueError naming it if bad."""
    value = os.environ.get(ENV_IDLE)
    if not value:
        return DEFAULT_IDLE_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"{ENV_IDLE} must be a positive number of seconds, got {value!r}")
    return seconds


def create() -> ElasticThreadPoolExecutor:
    """An elastic pool named like asyncio's, idle timeout from the environment."""
    from loopkit.plugins.executor.pool import ElasticThreadPoolExecutor
    from loopkit.plugins.executor.threads import THREAD_NAME_PREFIX

    return ElasticThreadPoolExecutor(
        thread_name_prefix=THREAD_NAME_PREFIX, idle_timeout=idle_timeout_from_environment()
    )


def __getattr__(name: str) -> Any:
    """``ElasticThreadPoolExecutor`` is importable from here, loaded on first use."""
    if name == "ElasticThreadPoolExecutor":
        from loopkit.plugins.executor import pool

        return pool.ElasticThreadPoolExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


INFO = ExecutorInfo(
    name="elastic",
    create=create,
    priority=10,
    description=f"threads exit after {ENV_IDLE} seconds idle (default 60)",
)
