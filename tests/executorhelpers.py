"""The default pool of any loop, asyncio's or loopkit's, for tests that compare them.

asyncio keeps it in the loop's private ``_default_executor``; loopkit's
executor plugin keeps it in its per-loop state
(:func:`loopkit.plugins.executor.executor_state`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from loopkit.plugins.executor import executor_state


def default_pool(loop: Any) -> Any:
    """The loop's default executor, or None while it has none."""
    if isinstance(loop, asyncio.BaseEventLoop):
        return loop._default_executor  # type: ignore[attr-defined]
    return executor_state(loop).pool


def executor_shut_down(loop: Any) -> bool:
    """Whether ``shutdown_default_executor()`` (or ``close()``) was called."""
    if isinstance(loop, asyncio.BaseEventLoop):
        return bool(loop._executor_shutdown_called)  # type: ignore[attr-defined]
    return executor_state(loop).shutdown_called
