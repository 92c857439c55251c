"""The ``threads`` executor backend (the default): asyncio's own default pool.

Declared by the plugin's top-level module; imported on a loop's first
``run_in_executor(None, ...)``.

A :class:`concurrent.futures.ThreadPoolExecutor` with its default size and
threads named ``asyncio_N``, exactly what asyncio's loops make, so that code
which looks at thread names or pool sizes sees no difference.
"""

from __future__ import annotations

import concurrent.futures

#: The thread-name prefix asyncio gives its default pool.
THREAD_NAME_PREFIX = "asyncio"


def create() -> concurrent.futures.ThreadPoolExecutor:
    """A pool like asyncio's default one."""
    return concurrent.futures.ThreadPoolExecutor(thread_name_prefix=THREAD_NAME_PREFIX)
