"""The ``threads`` executor backend (the default): asyncio's own default pool.

A :class:`concurrent.futures.ThreadPoolExecutor` with its default size and
threads named ``asyncio_N``, exactly what asyncio's loops make, so that code
which looks at thread names or pool sizes sees no difference.
"""

from __future__ import annotations

import concurrent.futures

from loopkit.plugin import ExecutorInfo

#: The thread-name prefix asyncio gives its default pool.
THREAD_NAME_PREFIX = "asyncio"


def create() -> concurrent.futures.ThreadPoolExecutor:
    """A pool like asyncio's default one."""
    return concurrent.futures.ThreadPoolExecutor(thread_name_prefix=THREAD_NAME_PREFIX)


INFO = ExecutorInfo(
    name="threads",
    create=create,
    priority=100,
    description="asyncio's default ThreadPoolExecutor (threads live until shutdown)",
)
