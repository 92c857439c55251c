"""The kernel: the ready queue, the timer heap and the run loop.

Design rules (read these before changing anything here):

1. *Scheduling only.* The kernel runs callbacks, timers and file-descriptor
   watchers. It knows no socket, pipe, process or signal: those arrive as
   methods contributed by plugins (see :mod:`loopkit.core.assembly`).
2. *asyncio's own objects.* Handles are :class:`asyncio.Handle` /
   :class:`asyncio.TimerHandle`; futures and tasks are asyncio's. Anything in
   the ecosystem that inspects them keeps working.
3. *The documented semantics, exactly.* ``stop()`` lets the callbacks that
   were already queued run and leaves later ones for the next
   ``run_forever()``; ``close()`` is refused while running, idempotent and
   final. Where the documentation is vague, CPython's behaviour is the
   reference.
4. *The hot path is flat.* ``run_forever`` runs every iteration in one
   frame (``_iterate``; ``_run_once`` is one iteration of it, for plugins
   that override it), binds what it needs to locals, dispatches poller
   results inline and runs callbacks without a frame of their own. Timers
   are a heap of bare deadlines (floats: compared in C, and invisible to
   the garbage collector) beside a dict from deadline to its timer, or to
   the list of its timers in scheduling order when several share it, so
   equal deadlines fire in the order they were scheduled. Debug-only work
   lives on a separate path.
5. *Plugins hook in at the edges.* ``loopkit_loop_created`` and
   ``loopkit_loop_closing`` implementations are plain tuples of functions on
   the assembled class; an empty tuple costs a loop over nothing.
"""

from __future__ import annotations

import collections
import contextvars
import itertools
import os
import sys
import threading
import time
import warnings
import weakref
from asyncio import coroutines, events, futures, tasks
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeAlias, TypeVar, TypeVarTuple, Unpack

from loopkit.core.asyncgens import AsyncGenMixin
from loopkit.core.backpressure import HIGH_WATER, LOW_WATER, Backpressure
from loopkit.core.clock import default_clock, loop_time
from loopkit.core.errorhandling import ExceptionHandlingMixin, _logger
from loopkit.core.fdwatch import FdWatchMixin
from loopkit.core.handles import _FAST_HANDLES, _copy_context, _Handle, _new_object
from loopkit.core.poller import (
    EVENT_READ,
    MAX_POLL_TIMEOUT,
    WAKES_READER,
    WAKES_WRITER,
    Poller,
)
from loopkit.core.timers import _MIN_CANCELLED_TO_COMPACT, TimerMixin, _heappop, _TimerSlot
from loopkit.core.wakeup import Wakeup

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

# asyncio's private helpers and the private fields of its Handle, TimerHandle
# and Task (_source_traceback, _scheduled, _when) are not in typeshed. The
# kernel reaches them through these Any-typed names (and Any-typed locals),
# which costs nothing at run time, unlike typing.cast() on a hot path.
_asyncio_futures: Any = futures
_asyncio_coroutines: Any = coroutines

# What create_task() accepts, as typeshed spells it per Python version.
if sys.version_info >= (3, 12):
    _CoroutineLike: TypeAlias = Coroutine[Any, Any, _T]
else:
    _CoroutineLike: TypeAlias = Generator[Any, None, _T] | Coroutine[Any, Any, _T]

_DEBUG_STACK_DEPTH = 10
_repeat = itertools.repeat


def _format_handle(handle: events.Handle) -> str:
    """Name a slow callback: a task's step is shown as the task, as asyncio does."""
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, tasks.Task):
        return repr(owner)
    return str(handle)


def _name_factory_task(task: Any, name: str) -> None:
    """Name a task made by a task factory, as asyncio does on this version.

    Up to 3.12 a task without ``set_name`` only draws a DeprecationWarning;
    from 3.13 ``set_name`` is required. (asyncio 3.13.0 also renames the
    task to "None" when no name is given; that bug is not reproduced.)
    """
    if sys.version_info >= (3, 13):
        task.set_name(name)
        return
    set_name = getattr(task, "set_name", None)
    if set_name is None:
        warnings.warn(
            "Task.set_name() was added in Python 3.8, the method support will be "
            "mandatory for third-party task implementations since 3.13.",
            DeprecationWarning,
            stacklevel=3,
        )
    else:
        set_name(name)


#: Every loop not yet garbage-collected, for the fork handler below.
_live_loops: weakref.WeakSet[KernelLoop] = weakref.WeakSet()


def _disown_loops_in_child() -> None:
    """After ``os.fork()``, in the child: the parent's loops are not the child's.

    Their poller, wake-up fd and registered callbacks describe the parent's
    work; running them in the child would serve the parent's sockets twice.
    Each open loop is marked as belonging to its parent, which makes every
    later use raise RuntimeError (through the ``_closed`` checks the loop
    already has, so the hot paths pay nothing), and callbacks still queued
    in the current iteration are skipped. A loop that was running (fork was
    called from one of its callbacks) stops after the current callback; its
    ``run_forever`` then raises the same error. The child can make and run a
    new loop at once.
    """
    running = events._get_running_loop()
    for loop in list(_live_loops):
        if loop._closed:
            continue
        loop._forked_from = loop._owner_pid
        loop._closed = True
        loop._stopping = True
        for handle in loop._ready:
            handle._cancelled = True
        if loop is running:
            # asyncio 3.12+ forgets the running loop in a child itself.
            events._set_running_loop(None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_disown_loops_in_child)


def _stop_when_done(future: futures.Future[Any]) -> None:
    """Done-callback of ``run_until_complete``: stop the future's loop.

    A future that ended with SystemExit or KeyboardInterrupt already made
    its exception propagate out of ``run_forever``; stopping then would
    leave a stale stop request for the next run.
    """
    if future.done() and not future.cancelled():
        exc = future.exception()
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            return
    _asyncio_futures._get_loop(future).stop()


class KernelLoop(
    ExceptionHandlingMixin, FdWatchMixin, AsyncGenMixin, TimerMixin, events.AbstractEventLoop
):
    """The scheduling core every assembled loopkit loop class derives from."""

    #: Filled by assembly: functions called with the new loop / the closing loop.
    _loopkit_created_hooks: tuple[Callable[[Any], None], ...] = ()
    _loopkit_closing_hooks: tuple[tuple[str, Callable[[Any], None]], ...] = ()
    #: Filled by assembly: the :class:`loopkit.core.assembly.Assembly` built.
    _loopkit_assembly: Any = None
    #: In a child made by ``os.fork()``: the pid of the process that owns this
    #: loop (see :func:`_disown_loops_in_child`). None in the owning process.
    _forked_from: int | None = None
    #: The loop's :class:`~loopkit.core.services.LoopServices`, made on first
    #: use by :func:`loopkit.core.services.services` (read once per transport).
    _plugin_services: Any = None
    #: The iteration observer installed through the services, or None.
    _observer: Any = None

    # State that most loops never change lives here, as class-level defaults;
    # an instance gets its own attribute only when it is set. This is a speed
    # measure: CPython (3.11-3.13) keeps an object's attributes in a compact
    # array, read by the fastest specialised instructions, only while the
    # instance has fewer than 30 of them; at 30 it falls back to a real dict
    # and every ``self._x`` on the hot paths gets slower. Keep __init__ (plus
    # what plugins add per loop) well below that. The other side of the
    # trade: reading a class-level default through the instance costs about
    # 20-27 ns on 3.11/3.12 against 8 for an instance attribute, and on
    # 3.12/3.13 so does an instance attribute that shadows a class attribute.
    # So nothing read per callback or per task lives here (create_task's
    # _task_factory is set in __init__), and a plugin's per-loop state that
    # is read per call should not shadow a class default either (see
    # docs/plugin-authoring.rst; a buffer fetched once per transport may).
    slow_callback_duration: float = 0.1
    _coroutine_origin_tracking_enabled: bool = False
    _coroutine_origin_tracking_saved_depth: int | None = None
    _asyncgens_shutdown_called: bool = False
    _clock_resolution: float = time.get_clock_info("monotonic").resolution

    def __init__(self, poller: Poller) -> None:
        self._closed = False
        # An instance attribute, not a class-level default: create_task reads
        # it every time, and CPython 3.11/3.12 read a class-level default
        # through the instance about three times slower.
        self._task_factory: Any = None
        self._owner_pid = os.getpid()
        #: Per-plugin, per-loop state objects (see loopkit.core.services).
        self._plugin_states: dict[str, Any] = {}
        _live_loops.add(self)
        self._stopping = False
        self._thread_id: int | None = None
        self._ready: collections.deque[events.Handle] = collections.deque()
        #: The timer heap: distinct deadlines only. ``_timers`` maps each to
        #: its timer(s); a deadline is in both or in neither.
        self._scheduled: list[float] = []
        self._timers: dict[float, _TimerSlot] = {}
        self._timer_cancelled_count = 0
        # The clock the scheduler reads: time.monotonic itself (no Python frame
        # per read), unless a subclass or plugin overrides time() (a virtual
        # clock for tests, say), so that deadlines computed from loop.time()
        # and the run loop's idea of "now" always agree. Assigning loop.time
        # (mock.patch.object does) swaps it: see loopkit.core.clock.
        self._clock: Callable[[], float] = default_clock(self)
        self._asyncgens: weakref.WeakSet[Any] = weakref.WeakSet()
        self._debug: bool = _asyncio_coroutines._is_debug_mode()
        self._poller = poller
        self._poll: Callable[[float | None], list[tuple[int, int]]] = poller.poll
        self._readers: dict[int, events.Handle] = {}
        self._writers: dict[int, events.Handle] = {}
        #: fd -> transport, filled by transport plugins so that add_reader()
        #: refuses an fd a transport owns (as asyncio does).
        self._fd_owners: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        # A loop that fails to be made must not keep its fds until the
        # garbage collector finds it (and warns about a loop nobody saw).
        try:
            self._wakeup = Wakeup()
        except BaseException:
            poller.close()
            self._closed = True
            raise
        self._wakeup_pending = False
        #: True while the run loop is in (or about to enter) a poll that may
        #: block: the only time another thread must write the wake-up fd.
        self._sleeping = False
        #: Where other threads wait while they flood the ready queue.
        self._backpressure = Backpressure()
        try:
            poller.register(self._wakeup.fileno(), EVENT_READ)
            for hook in self._loopkit_created_hooks:
                hook(self)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return (
            f"<{type(self).__module__}.{type(self).__qualname__} "
            f"running={self.is_running()} closed={self.is_closed()} "
            f"debug={self.get_debug()}>"
        )

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if not getattr(self, "_closed", True):
            _warn(f"unclosed event loop {self!r}", ResourceWarning, source=self)
            if not self.is_running():
                self.close()

    # ------------------------------------------------------------------
    # Guards
    # ------------------------------------------------------------------

    def _check_closed(self) -> None:
        if self._closed:
            if self._forked_from is not None:
                raise RuntimeError(
                    f"this event loop belongs to process {self._forked_from} and cannot be "
                    f"used in process {os.getpid()}, a child made by fork(); "
                    "make a new event loop in the child"
                )
            raise RuntimeError("Event loop is closed")

    def _release_in_child(self) -> None:
        """``close()`` of a parent's loop in a forked child: drop the child's copies.

        Only the kernel's own fds are closed. Plugins' closing hooks do not
        run: they act on resources the parent still uses (a Unix server
        would remove its socket file, for one).
        """
        self._ready.clear()
        self._scheduled.clear()
        self._timers.clear()
        self._readers.clear()
        self._writers.clear()
        self._wakeup_pending = True
        self._wakeup.close()
        self._poller.close()

    def _check_running(self) -> None:
        if self.is_running():
            raise RuntimeError("This event loop is already running")
        if events._get_running_loop() is not None:
            raise RuntimeError("Cannot run the event loop while another loop is running")

    def _check_thread(self) -> None:
        """In debug mode, refuse non-thread-safe calls from a foreign thread."""
        if self._thread_id is None:
            return
        if threading.get_ident() != self._thread_id:
            raise RuntimeError(
                "Non-thread-safe operation invoked on an event loop other than the current one"
            )

    def _check_callback(self, callback: Any, method: str) -> None:
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError(f"coroutines cannot be used with {method}()")
        if not callable(callback):
            raise TypeError(f"a callable object was expected by {method}(), got {callback!r}")

    # ------------------------------------------------------------------
    # Running and stopping
    # ------------------------------------------------------------------

    def run_forever(self) -> None:
        """Run callbacks, timers and I/O until :meth:`stop` is called."""
        self._check_closed()
        self._check_running()
        self._set_coroutine_origin_tracking(self._debug)
        old_agen_hooks = sys.get_asyncgen_hooks()
        try:
            self._thread_id = threading.get_ident()
            sys.set_asyncgen_hooks(
                firstiter=self._asyncgen_firstiter_hook,
                finalizer=self._asyncgen_finalizer_hook,
            )
            events._set_running_loop(self)
            observer = self._observer
            if observer is not None:
                self._run_observed(observer)
            # A plugin (or a test) may replace _run_once, on the class or
            # on this loop: then it is called per iteration, as it expects.
            elif getattr(self._run_once, "__func__", None) is KernelLoop._run_once:
                self._iterate(False)
            else:
                run_once = self._run_once
                while True:
                    run_once()
                    if self._stopping:
                        break
        finally:
            self._stopping = False
            self._thread_id = None
            # No thread waits for a loop that is not running.
            self._backpressure.release()
            events._set_running_loop(None)
            self._set_coroutine_origin_tracking(False)
            sys.set_asyncgen_hooks(*old_agen_hooks)
        if self._forked_from is not None:
            # os.fork() was called by a callback of this loop, and this is the
            # child: it must not carry on running its parent's loop.
            self._check_closed()

    def run_until_complete(self, future: Generator[Any, None, _T] | Awaitable[_T]) -> _T:
        """Run until ``future`` (a coroutine is wrapped in a task) is done.

        Returns its result or raises its exception. If the loop is stopped
        before the future is done, RuntimeError is raised.
        """
        self._check_closed()
        self._check_running()
        new_task = not futures.isfuture(future)
        # Any: typeshed's ensure_future() does not take the legacy generator form.
        awaitable: Any = future
        fut: futures.Future[_T] = tasks.ensure_future(awaitable, loop=self)
        if new_task:
            # The caller never sees this task, so an exception it ends with
            # is reported by raising it here, not by "never retrieved".
            fut._log_destroy_pending = False  # type: ignore[attr-defined]
        fut.add_done_callback(_stop_when_done)
        try:
            self.run_forever()
        except BaseException:
            if new_task and fut.done() and not fut.cancelled():
                fut.exception()  # mark it retrieved: it is being raised
            raise
        finally:
            fut.remove_done_callback(_stop_when_done)
        if not fut.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return fut.result()

    def stop(self) -> None:
        """Stop after the callbacks already queued have run."""
        self._stopping = True

    def is_running(self) -> bool:
        """True while :meth:`run_forever` is executing."""
        return self._thread_id is not None

    def is_closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closed

    def close(self) -> None:
        """Close the loop: drop pending callbacks and release the poller.

        Refused while running. The default executor is shut down without
        waiting (by the executor plugin's closing hook). Closing twice is a
        no-op; a closed loop cannot be reopened. In a child made by
        ``os.fork()``, closing a loop of the parent only releases the child's
        copies of its fds.
        """
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self._closed:
            if self._forked_from is not None:
                self._release_in_child()
            return
        if self._debug:
            _logger().debug("Close %r", self)
        self._closed = True
        for plugin_name, hook in self._loopkit_closing_hooks:
            try:
                hook(self)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self.call_exception_handler(
                    {
                        "message": f"plugin {plugin_name!r} failed while closing the loop",
                        "exception": exc,
                    }
                )
        plugin_services = self._plugin_services
        if plugin_services is not None:
            plugin_services._loop_closed()
        self._ready.clear()
        self._scheduled.clear()
        self._timers.clear()
        self._timer_cancelled_count = 0
        self._readers.clear()
        self._writers.clear()
        if self._watched_files:  # the closed sockets it may hold go too
            self._watched_files.clear()
        # No thread may signal the wake-up fd once it is closed (its number
        # could already belong to another file): claim a wake-up is pending.
        self._wakeup_pending = True
        self._wakeup.close()
        self._poller.close()

    # ------------------------------------------------------------------
    # Scheduling
    # ------------------------------------------------------------------

    # loop.time() returns time.monotonic(); assigning loop.time (as
    # mock.patch.object(loop, "time") does) makes the scheduler follow the
    # new clock. A property of C parts: see loopkit.core.clock.
    time = loop_time

    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> events.Handle:
        """Run ``callback(*args)`` on the next iteration, after earlier ones (FIFO)."""
        if self._closed:
            self._check_closed()
        handle: Any
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_soon")
            handle = events.Handle(callback, args, self, context)
            traced: Any = handle
            if traced._source_traceback:
                del traced._source_traceback[-1]
        elif _FAST_HANDLES:
            handle = _new_object(_Handle)
            handle._callback = callback
            handle._args = args
            handle._cancelled = False
            handle._loop = self
            handle._source_traceback = None
            handle._repr = None
            handle._context = _copy_context() if context is None else context
        else:
            handle = events.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle  # type: ignore[no-any-return,unused-ignore]

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> events.Handle:
        """Like :meth:`call_soon`, from any thread; wakes a sleeping loop.

        Wake-ups are written only when needed and coalesced: the wake-up fd
        is written only while the loop sleeps (or is about to) in its poller,
        and only when no earlier wake-up is still pending. A burst from other
        threads into a busy loop costs no system call at all. A thread that
        finds the queue flooded waits for the loop to catch up (see
        ``loopkit.core.backpressure``).
        """
        if self._closed:
            self._check_closed()
        handle: Any
        if self._debug:
            self._check_callback(callback, "call_soon_threadsafe")
            handle = events.Handle(callback, args, self, context)
            if handle._source_traceback:
                del handle._source_traceback[-1]
        elif _FAST_HANDLES:
            handle = _new_object(_Handle)
            handle._callback = callback
            handle._args = args
            handle._cancelled = False
            handle._loop = self
            handle._source_traceback = None
            handle._repr = None
            handle._context = _copy_context() if context is None else context
        else:
            handle = events.Handle(callback, args, self, context)
        ready = self._ready
        ready.append(handle)
        # Publish the handle first, then look at _sleeping (see _run_once).
        # A loop that is running callbacks, or about to, finds the handle on
        # its own: no system call. One write wakes a sleeping loop however
        # many threads call in before it drains.
        if self._sleeping and not self._wakeup_pending:
            self._wakeup_pending = True
            self._wakeup.signal()
        if len(ready) > HIGH_WATER:
            self._backpressure.wait(ready, self._thread_id)
        return handle  # type: ignore[no-any-return,unused-ignore]

    def _write_to_self(self) -> None:
        """Wake the loop from another thread (the name asyncio's helpers use)."""
        if not self._wakeup_pending:
            self._wakeup_pending = True
            self._wakeup.signal()

    def _run_once(self) -> None:
        """One iteration: poll for I/O, move due timers, run ready callbacks."""
        self._iterate(True)

    def _set_observer(self, observer: Any) -> None:
        """Install (or, with None, remove) an iteration observer.

        Called by :meth:`LoopServices.observe`. The poller call is wrapped so
        that the observer sees each poll; ``run_forever`` then runs iteration
        by iteration and reports each one (:meth:`_run_observed`). A loop
        without an observer keeps the unwrapped poll and the one-frame run.
        """
        from loopkit.core.services import observed_poll

        self._observer = observer
        poll = self._poller.poll
        self._poll = poll if observer is None else observed_poll(poll, observer)

    def _run_observed(self, observer: Any) -> None:
        """``run_forever``'s body while an observer is installed."""
        started = observer.iteration_started
        finished = observer.iteration_finished
        iterate = self._iterate
        while True:
            started()
            handles, timers = iterate(True)
            finished(handles, timers)
            if self._stopping:
                break

    def _iterate(self, once: bool) -> tuple[int, int]:
        """Run iterations until :meth:`stop` (or just one, if ``once``).

        ``run_forever`` calls this once for the whole run when ``_run_once``
        is the kernel's own (a plugin may override it: then it calls that per
        iteration), which saves a call and a frame per iteration.
        """
        handle: Any  # asyncio's Handle, whose private fields typeshed does not list
        # Read once per run, not per iteration: a class-level default read
        # through the instance is slow on 3.11/3.12 (see the class body).
        clock_resolution = self._clock_resolution
        backpressure = self._backpressure
        # Fixed while the loop runs (close() is refused then); not kept as a
        # loop attribute, which would count against CPython's limit of
        # attributes read the fast way (see the class body).
        wakeup_fd = self._wakeup.fileno()
        while True:
            scheduled = self._scheduled
            ready = self._ready
            if backpressure.waiting and len(ready) <= LOW_WATER:
                backpressure.release()
            cancelled = self._timer_cancelled_count
            if cancelled:
                # len(scheduled) counts deadlines, not timers: with shared
                # deadlines this compacts a little early, never too late.
                if cancelled > _MIN_CANCELLED_TO_COMPACT and cancelled * 2 > len(scheduled):
                    self._compact_timers()
                    scheduled = self._scheduled
                else:
                    self._drop_cancelled_head()

            if ready or self._stopping:
                # Work is waiting: only look for I/O, never block. With no fd
                # watched there is nothing to look for (the wake-up fd is only
                # written while the loop sleeps, see call_soon_threadsafe), so
                # the system call is skipped.
                event_list = self._poll(0) if self._readers or self._writers else None
            else:
                # About to block. Tell other threads first, then look at the
                # queue once more: a thread that appended before this flag was
                # set is seen here; one that appends after sees the flag and
                # writes the wake-up fd. Either way no wake-up is lost.
                self._sleeping = True
                timeout: float | None
                if ready:
                    timeout = 0
                elif scheduled:
                    timeout = scheduled[0] - self._clock()
                    if timeout < 0:
                        timeout = 0
                    elif timeout > MAX_POLL_TIMEOUT:
                        timeout = MAX_POLL_TIMEOUT
                else:
                    timeout = None
                event_list = self._poll(timeout)
                self._sleeping = False

            if event_list:
                readers = self._readers
                writers = self._writers
                for fd, mask in event_list:
                    if fd == wakeup_fd:
                        # Drain first, then allow new signals: the other order
                        # lets a thread signal between the two steps, have its
                        # signal drained, and leave the flag set for good, after
                        # which no thread ever wakes the loop again.
                        self._wakeup.drain()
                        self._wakeup_pending = False
                        continue
                    if mask & WAKES_READER:
                        handle = readers.get(fd)
                        if handle is not None:
                            if handle._cancelled:
                                self._remove_reader(fd)
                            else:
                                ready.append(handle)
                    if mask & WAKES_WRITER:
                        handle = writers.get(fd)
                        if handle is not None:
                            if handle._cancelled:
                                self._remove_writer(fd)
                            else:
                                ready.append(handle)

            due = 0
            if scheduled:
                due = len(ready)
                end_time = self._clock() + clock_resolution
                timers = self._timers
                # One by one off the heap, at most a sixteenth of it: when more
                # is due, sorting the rest is cheaper (_move_due_in_bulk; a
                # heap pushed in deadline order, the usual one, is nearly
                # sorted already).
                for _ in _repeat(None, (len(scheduled) >> 4) + 1):
                    when = scheduled[0]
                    if when >= end_time:
                        break
                    _heappop(scheduled)
                    timer = timers.pop(when)
                    if timer.__class__ is list:
                        self._move_due_group(timer)
                        continue
                    timer._scheduled = False
                    if timer._cancelled:
                        # Cancelled after the clean-up at the top of this
                        # iteration: drop it here and keep the count exact, so
                        # that compaction decisions use true numbers.
                        self._timer_cancelled_count -= 1
                    else:
                        ready.append(timer)
                else:
                    if scheduled and scheduled[0] < end_time:
                        self._move_due_in_bulk(end_time)
                due = len(ready) - due

            ntodo = len(ready)
            if self._debug:
                self._run_ready_debug(ntodo)
                if once or self._stopping:
                    return ntodo, due
                continue
            # Handle._run, inlined: the callback runs in the handle's context
            # here, and an exception is reported exactly as Handle._run reports
            # it (see _report_callback_error). Only the kernel fills the ready
            # queue, and only with asyncio's own Handle and TimerHandle, whose
            # _run is known; debug mode still goes through _run.
            popleft = ready.popleft
            # repeat(), not range(): counting past 256 allocates an int per callback.
            for _ in _repeat(None, ntodo):
                handle = popleft()
                if handle._cancelled:
                    continue
                try:
                    # Most callbacks take no argument (a task's step, call_soon(f));
                    # calling them without unpacking skips building a tuple.
                    if handle._args:
                        handle._context.run(handle._callback, *handle._args)
                    else:
                        handle._context.run(handle._callback)
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    self._report_callback_error(handle, exc)
            handle = None  # drop the reference to the last callback's arguments
            if once or self._stopping:
                return ntodo, due

    def _run_ready_debug(self, ntodo: int) -> None:
        """Run ready callbacks, timing each and logging the slow ones."""
        ready = self._ready
        for _ in range(ntodo):
            handle = ready.popleft()
            if handle._cancelled:
                continue
            try:
                self._current_handle = handle
                started = self.time()
                handle._run()
                elapsed = self.time() - started
                if elapsed >= self.slow_callback_duration:
                    _logger().warning(
                        "Executing %s took %.3f seconds",
                        _format_handle(handle),
                        elapsed,
                    )
            finally:
                self._current_handle = None

    # ------------------------------------------------------------------
    # Futures and tasks
    # ------------------------------------------------------------------

    def create_future(self) -> futures.Future[Any]:
        """A new :class:`asyncio.Future` attached to this loop."""
        return futures.Future(loop=self)

    def create_task(
        self,
        coro: _CoroutineLike[_T],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> tasks.Task[_T]:
        """Schedule ``coro`` as an :class:`asyncio.Task` (or the factory's task)."""
        if self._closed:
            self._check_closed()
        factory = self._task_factory
        if factory is None:
            # Looked up on each call, as asyncio does: a program may replace
            # asyncio.tasks.Task (nest_asyncio does) and expects this to follow.
            task: tasks.Task[_T] = (
                # Keyword arguments that stay at their defaults cost a dict entry each.
                tasks.Task(coro, loop=self)
                if name is None and context is None
                else tasks.Task(coro, loop=self, name=name, context=context)
            )
            # A task records where it was made only in debug mode.
            if self._debug:
                traced: Any = task
                if traced._source_traceback:
                    del traced._source_traceback[-1]
            return task
        # The legacy two-argument factory signature is used unless a context is given.
        task = factory(self, coro) if context is None else factory(self, coro, context=context)
        if name is not None:
            _name_factory_task(task, name)
        return task

    def set_task_factory(self, factory: Any) -> None:
        """Use ``factory(loop, coro[, context=...])`` to make tasks; None restores the default."""
        if factory is not None and not callable(factory):
            raise TypeError("task factory must be a callable or None")
        self._task_factory = factory

    def get_task_factory(self) -> Any:
        """The task factory in use, or None for the default."""
        return self._task_factory

    # ------------------------------------------------------------------
    # Debug mode
    # ------------------------------------------------------------------

    def get_debug(self) -> bool:
        """Whether debug mode is on."""
        return self._debug

    def set_debug(self, enabled: bool) -> None:
        """Turn debug mode on or off (also while running)."""
        self._debug = enabled
        if self.is_running():
            self.call_soon_threadsafe(self._set_coroutine_origin_tracking, enabled)

    def _set_coroutine_origin_tracking(self, enabled: bool) -> None:
        if bool(enabled) == bool(self._coroutine_origin_tracking_enabled):
            return
        if enabled:
            self._coroutine_origin_tracking_saved_depth = sys.get_coroutine_origin_tracking_depth()
            sys.set_coroutine_origin_tracking_depth(_DEBUG_STACK_DEPTH)
        else:
            sys.set_coroutine_origin_tracking_depth(
                self._coroutine_origin_tracking_saved_depth or 0
            )
        self._coroutine_origin_tracking_enabled = enabled
