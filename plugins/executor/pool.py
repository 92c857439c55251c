"""The elastic pool itself (see :mod:`loopkit.plugins.executor.elastic`).

Kept apart from the backend's declaration so that a loop imports it (and
:mod:`queue` and :mod:`concurrent.futures.thread` with it) only when it
makes an elastic pool, not when its assembly lists the backends on offer.

A :class:`~concurrent.futures.ThreadPoolExecutor` keeps every thread it
ever started until it is shut down: after one burst of ``getaddrinfo`` calls
or file reads a long-running server holds ``max_workers`` idle threads
(``min(32, cpus + 4)``) for the rest of its life, each with its stack. The
elastic pool starts threads the same way but lets a thread that found no
work for ``LOOPKIT_EXECUTOR_IDLE`` seconds (default 60) exit, so a quiet
process shrinks back to no threads at all. Useful where threads are
expensive or counted: embedded and constrained deployments, processes
that fork, many small services on one host.

It is a real ThreadPoolExecutor subclass (asyncio accepts nothing else as
the default executor): ``submit``, ``map``, ``shutdown(wait, cancel_futures)``
and the initializer are the base class's. Only how workers are started and
when they leave is its own, written against the pool internals that
CPython 3.11 to 3.13 share (``_idle_semaphore``, ``_threads``,
``_work_queue``, ``_shutdown_lock``).

Why a thread may leave: it waited ``idle_timeout`` seconds on an empty queue
and, holding the pool's lock (which ``submit`` holds too), it can take back
the "idle" token it had given. If a submitter took that token meanwhile, it
counted on this thread for its work item, so the thread stays.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import thread as _pool_module
from typing import Any

from loopkit.plugins.executor import DEFAULT_IDLE_TIMEOUT


def _run_worker(
    pool_ref: weakref.ref[ElasticThreadPoolExecutor],
    work_queue: queue.SimpleQueue[Any],
    idle_timeout: float,
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
) -> None:
    """One worker: run work items until shut down, or idle for ``idle_timeout``."""
    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException:
            concurrent.futures._base.LOGGER.critical("Exception in initializer:", exc_info=True)
            pool = pool_ref()
            if pool is not None:
                pool._initializer_failed()  # type: ignore[attr-defined]
            return
    try:
        while True:
            try:
                work_item = work_queue.get_nowait()
            except queue.Empty:
                pool = pool_ref()
                if pool is not None:
                    pool._idle_semaphore.release()  # type: ignore[attr-defined]
                del pool
                try:
                    work_item = work_queue.get(timeout=idle_timeout)
                except queue.Empty:
                    pool = pool_ref()
                    if pool is None or pool._retire(threading.current_thread()):
                        return
                    del pool
                    continue
            if work_item is not None:
                work_item.run()
                del work_item
                continue
            pool = pool_ref()
            if _pool_module._shutdown or pool is None or pool._shutdown:  # type: ignore[attr-defined]
                if pool is not None:
                    pool._shutdown = True
                work_queue.put(None)  # wake the next worker, which leaves too
                return
            del pool
    except BaseException:
        concurrent.futures._base.LOGGER.critical("Exception in worker", exc_info=True)


class ElasticThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """A ThreadPoolExecutor whose workers exit after ``idle_timeout`` seconds without work."""

    _shutdown: bool

    def __init__(
        self,
        max_workers: int | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        if idle_timeout <= 0:
            raise ValueError(f"idle_timeout must be positive, got {idle_timeout!r}")
        super().__init__(max_workers, thread_name_prefix, initializer, initargs)
        self.idle_timeout = idle_timeout
        self._serial = itertools.count()

    def _adjust_thread_count(self) -> None:
        # Called by submit() with the pool's lock held.
        if self._idle_semaphore.acquire(timeout=0):  # type: ignore[attr-defined]
            return
        threads: Any = self._threads  # type: ignore[attr-defined]
        if len(threads) >= self._max_workers:  # type: ignore[attr-defined]
            return

        def wake_workers(_: object, work_queue: Any = self._work_queue) -> None:  # type: ignore[attr-defined]
            work_queue.put(None)

        prefix = self._thread_name_prefix or repr(self)  # type: ignore[attr-defined]
        worker = threading.Thread(
            name=f"{prefix}_{next(self._serial)}",
            target=_run_worker,
            args=(
                weakref.ref(self, wake_workers),
                self._work_queue,  # type: ignore[attr-defined]
                self.idle_timeout,
                self._initializer,  # type: ignore[attr-defined]
                self._initargs,  # type: ignore[attr-defined]
            ),
        )
        worker.start()
        threads.add(worker)
        queues: Any = _pool_module._threads_queues  # type: ignore[attr-defined]
        queues[worker] = self._work_queue  # type: ignore[attr-defined]

    def _retire(self, worker: threading.Thread) -> bool:
        """Whether ``worker``, idle for ``idle_timeout``, may exit now (and forget it if so)."""
        with self._shutdown_lock:  # type: ignore[attr-defined]
            if self._shutdown:
                return False  # the shutdown's wake-up is on its way: pass it on
            if not self._idle_semaphore.acquire(blocking=False):  # type: ignore[attr-defined]
                return False  # a submitter counted on this worker
            self._threads.discard(worker)  # type: ignore[attr-defined]
            _pool_module._threads_queues.pop(worker, None)  # type: ignore[attr-defined]
            return True
