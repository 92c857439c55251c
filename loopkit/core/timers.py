"""Timers: ``call_later`` / ``call_at`` and the timer heap the run loop drains.

The heap holds bare deadlines (floats: compared in C, and nothing for the
garbage collector to track); ``_timers`` maps each deadline to its
TimerHandle, or to the list of TimerHandles sharing it in the order they
were scheduled, so equal deadlines fire in scheduling order. A deadline is
in both or in neither. Cancelled timers are removed lazily: from the front
of the heap when they would decide how long the loop sleeps, and all at
once (a compaction) when they dominate. The run loop itself (in
:mod:`loopkit.core.kernel`) pops due deadlines inline; this module never
runs a callback.
"""

from __future__ import annotations

import contextvars
import heapq
from asyncio import events
from collections.abc import Callable, Iterable
from itertools import islice as _islice
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVarTuple, Unpack

from loopkit.core.handles import _FAST_HANDLES, _copy_context, _new_object, _TimerHandle

_Ts = TypeVarTuple("_Ts")

#: What the timer dict holds per deadline: one TimerHandle, or a list of
#: them (in scheduling order) when several share the deadline. Any: the
#: handles' private fields are not in typeshed.
_TimerSlot = Any

#: Rebuild the timer heap once more than this many cancelled timers sit in it
#: and they are more than half of it (asyncio's rule is close: more than 100
#: timers, more than half of them cancelled).
_MIN_CANCELLED_TO_COMPACT = 100

_heappush = heapq.heappush
_heappop = heapq.heappop
_deadline = attrgetter("_when")


class TimerMixin:
    """The timer half of the kernel's scheduling."""

    _debug: bool
    _closed: bool
    _clock: Callable[[], float]
    _ready: Any
    _scheduled: list[float]
    _timers: dict[float, _TimerSlot]
    _timer_cancelled_count: int

    if TYPE_CHECKING:

        def _check_closed(self) -> None: ...
        def _check_thread(self) -> None: ...
        def _check_callback(self, callback: Any, method: str) -> None: ...

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> events.TimerHandle:
        """Run ``callback(*args)`` after ``delay`` seconds of the loop's clock."""
        if delay is None:
            raise TypeError("delay must not be None")
        if not self._debug and _FAST_HANDLES:
            if self._closed:
                self._check_closed()
            when = self._clock() + delay
            fast: Any = _new_object(_TimerHandle)
            fast._callback = callback
            fast._args = args
            fast._cancelled = False
            fast._loop = self
            fast._source_traceback = None
            fast._repr = None
            fast._context = _copy_context() if context is None else context
            fast._when = when
            fast._scheduled = True
            # _add_timer, written out: a method call per timer is measurable
            # here. One dict operation in the common case (a new deadline).
            other = self._timers.setdefault(when, fast)
            if other is fast:
                _heappush(self._scheduled, when)
            elif other.__class__ is list:
                other.append(fast)
            else:
                self._timers[when] = [other, fast]
            return fast  # type: ignore[no-any-return,unused-ignore]
        timer = self.call_at(self._clock() + delay, callback, *args, context=context)
        traced: Any = timer
        if traced._source_traceback:
            del traced._source_traceback[-1]
        return timer

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> events.TimerHandle:
        """Run ``callback(*args)`` when :meth:`time` reaches ``when``.

        Timers with equal deadlines run in the order they were scheduled.
        """
        if when is None:
            raise TypeError("when cannot be None")
        if self._closed:
            self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        loop: Any = self  # a KernelLoop: this mixin is only ever part of one
        timer = events.TimerHandle(when, callback, args, loop, context)
        entry: Any = timer
        if entry._source_traceback:
            del entry._source_traceback[-1]
        entry._scheduled = True
        self._add_timer(entry._when, timer)
        return timer

    def _add_timer(self, when: float, timer: Any) -> None:
        """Put ``timer`` on the heap at ``when``, after any timer with the same deadline."""
        other = self._timers.setdefault(when, timer)
        if other is timer:
            _heappush(self._scheduled, when)
        elif other.__class__ is list:
            other.append(timer)
        else:
            self._timers[when] = [other, timer]

    def _timer_handle_cancelled(self, handle: Any) -> None:
        """Called by TimerHandle.cancel(): count it for lazy removal."""
        if handle._scheduled:
            self._timer_cancelled_count += 1

    def _compact_timers(self) -> None:
        """Drop every cancelled timer from the heap at once."""
        heap: list[float] = []
        live: dict[float, _TimerSlot] = {}
        for when, slot in self._timers.items():
            if slot.__class__ is list:
                kept = []
                for timer in slot:
                    if timer._cancelled:
                        timer._scheduled = False
                    else:
                        kept.append(timer)
                if kept:
                    live[when] = kept if len(kept) > 1 else kept[0]
                    heap.append(when)
            elif slot._cancelled:
                slot._scheduled = False
            else:
                live[when] = slot
                heap.append(when)
        heapq.heapify(heap)
        self._scheduled = heap
        self._timers = live
        self._timer_cancelled_count = 0

    def _drop_cancelled_head(self) -> None:
        """Pop cancelled timers off the front of the heap, so none decides a timeout.

        A deadline shared by several timers goes only when all of them are
        cancelled (the compaction takes care of the rest).
        """
        scheduled = self._scheduled
        timers = self._timers
        while scheduled:
            when = scheduled[0]
            slot = timers[when]
            group = slot if slot.__class__ is list else (slot,)
            for timer in group:
                if not timer._cancelled:
                    return
            _heappop(scheduled)
            del timers[when]
            for timer in group:
                timer._scheduled = False
            self._timer_cancelled_count -= len(group)

    def _move_due_in_bulk(self, end_time: float) -> None:
        """Queue every timer due before ``end_time``, in deadline order, by sorting.

        The run loop calls this when a large share of the heap is due at
        once: one C sort (floats are compared without rich comparison) and a
        slice cost far less than a heap pop per deadline. A sorted list is
        still a valid heap, so what stays is left in place. Hashing a float
        deadline is the dearest step left, so only the smaller side is looked
        up: the due deadlines, or, when most are due, the ones that stay (into
        a new dict; the old one then holds exactly the due timers, which a
        stable sort on ``_when`` puts in order: a shared deadline is one slot,
        already in scheduling order).
        """
        from bisect import bisect_left  # here, not at import: a start-up cost otherwise

        scheduled = self._scheduled
        scheduled.sort()
        cut = bisect_left(scheduled, end_time)
        timers = self._timers
        if cut * 2 < len(scheduled):
            due = _timers_of(map(timers.pop, _islice(scheduled, cut)))
        else:
            self._timers = {when: timers.pop(when) for when in _islice(scheduled, cut, None)}
            due = _timers_of(timers.values())
            due.sort(key=_deadline)
        del scheduled[:cut]
        self._move_due_group(due)

    def _move_due_group(self, group: list[Any]) -> None:
        """Queue the live timers of ``group`` (due, in deadline and scheduling order)."""
        ready = self._ready
        for timer in group:
            timer._scheduled = False
            if timer._cancelled:
                self._timer_cancelled_count -= 1
            else:
                ready.append(timer)


def _timers_of(slots: Iterable[_TimerSlot]) -> list[Any]:
    """The timers held by ``slots``, those of a shared deadline in scheduling order."""
    timers: list[Any] = []
    for slot in slots:
        if slot.__class__ is list:
            timers.extend(slot)
        else:
            timers.append(slot)
    return timers
