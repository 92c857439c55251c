"""The ``elastic`` executor backend: a thread pool whose idle threads go away.

A :class:`~concurrent.futures.ThreadPoolExecutor` keeps every thread it
ever started until it is shut down. The elastic pool
(:class:`ElasticThreadPoolExecutor`, in :mod:`loopkit.plugins.executor.pool`)
lets a thread that found no work for ``LOOPKIT_EXECUTOR_IDLE`` seconds
(default 60) exit, so a quiet process shrinks back to no threads at all.

The plugin's top-level module declares the backend; this module is imported
by its ``create``, on a loop's first ``run_in_executor(None, ...)``, and the
pool's own module with it.
"""

from __future__ import annotations

import os

from loopkit.plugins.executor import DEFAULT_IDLE_TIMEOUT, ENV_IDLE
from loopkit.plugins.executor.pool import ElasticThreadPoolExecutor
from loopkit.plugins.executor.threads import THREAD_NAME_PREFIX

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "ENV_IDLE",
    "ElasticThreadPoolExecutor",
    "create",
    "idle_timeout_from_environment",
]


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
    return ElasticThreadPoolExecutor(
        thread_name_prefix=THREAD_NAME_PREFIX, idle_timeout=idle_timeout_from_environment()
    )
