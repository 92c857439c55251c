"""Scheduler invariants, checked against a model on random programs (hypothesis).

* ``call_soon`` is FIFO, also for callbacks scheduled by callbacks.
* Timers fire in order of their deadline; equal deadlines in scheduling order.
* A handle cancelled before its turn never runs (cancelled by the program or
  by another callback).
* ``stop()`` ends ``run_forever`` after the callbacks that were queued when
  the iteration began; callbacks scheduled meanwhile wait for the next run.

Deadlines are placed in the past, so that every timer is due at once and the
order is decided by the scheduler alone, not by how fast the machine is.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

import loopkit

SETTINGS = settings(max_examples=50, deadline=None)


@contextlib.contextmanager
def fresh_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A new loop for each example (a fixture would be shared by all of them)."""
    new_loop = loopkit.new_event_loop()
    try:
        yield new_loop
    finally:
        new_loop.close()


#: A forest of callbacks: entry i lists the callbacks callback i schedules
#: with call_soon when it runs (indices into the same list, each used once).
@st.composite
def forests(draw: st.DrawFn) -> tuple[list[int], list[list[int]]]:
    size = draw(st.integers(1, 60))
    parents = [draw(st.integers(-1, index - 1)) for index in range(size)]
    children: list[list[int]] = [[] for _ in range(size)]
    roots = []
    for index, parent in enumerate(parents):
        (roots if parent < 0 else children[parent]).append(index)
    return roots, children


@SETTINGS
@given(program=forests(), cancelled=st.sets(st.integers(0, 59)))
def test_call_soon_runs_callbacks_in_fifo_order_and_never_a_cancelled_one(
    program: tuple[list[int], list[list[int]]],
    cancelled: set[int],
) -> None:
    with fresh_loop() as scheduler:
        roots, children = program
        ran: list[int] = []

        def callback(index: int) -> None:
            ran.append(index)
            for child in children[index]:
                handle = scheduler.call_soon(callback, child)
                if child in cancelled:
                    handle.cancel()

        for root in roots:
            handle = scheduler.call_soon(callback, root)
            if root in cancelled:
                handle.cancel()
        ticks: list[int] = []

        def tick() -> None:
            # Each tick re-queues itself behind the callbacks of one more level
            # of the forest; after 61 ticks every level (at most 60) has run.
            ticks.append(len(ticks))
            if len(ticks) <= 60:
                scheduler.call_soon(tick)
            else:
                scheduler.stop()

        scheduler.call_soon(tick)

        scheduler.run_forever()

        # The model: a FIFO queue; cancelled entries are skipped with their subtree.
        expected: list[int] = []
        queue = collections.deque(root for root in roots if root not in cancelled)
        while queue:
            index = queue.popleft()
            expected.append(index)
            queue.extend(child for child in children[index] if child not in cancelled)
        assert ran == expected


@SETTINGS
@given(
    deadlines=st.lists(st.integers(0, 5), min_size=1, max_size=80),
    cancelled=st.sets(st.integers(0, 79)),
    cancelled_by_callbacks=st.dictionaries(st.integers(0, 79), st.integers(0, 79), max_size=20),
)
def test_timers_fire_by_deadline_ties_in_scheduling_order_cancelled_never(
    deadlines: list[int],
    cancelled: set[int],
    cancelled_by_callbacks: dict[int, int],
) -> None:
    """``cancelled_by_callbacks[i] = j``: timer i, when it runs, cancels timer j."""
    with fresh_loop() as scheduler:
        base = scheduler.time() - 10.0  # every deadline is already past
        fired: list[int] = []
        handles: list[asyncio.TimerHandle] = []

        def timer(index: int) -> None:
            fired.append(index)
            target = cancelled_by_callbacks.get(index)
            if target is not None and target < len(handles):
                handles[target].cancel()

        for index, offset in enumerate(deadlines):
            handles.append(scheduler.call_at(base + offset, timer, index))
        for index in cancelled:
            if index < len(handles):
                handles[index].cancel()
        scheduler.call_at(base + 6, scheduler.stop)  # after every timer above
        scheduler.run_forever()

        # The model: sorted by (deadline, scheduling order); skip what is cancelled
        # before its turn.
        expected: list[int] = []
        dead = {index for index in cancelled if index < len(deadlines)}
        for index in sorted(range(len(deadlines)), key=lambda i: (deadlines[i], i)):
            if index in dead:
                continue
            expected.append(index)
            target = cancelled_by_callbacks.get(index)
            if target is not None and target < len(deadlines):
                dead.add(target)
        assert fired == expected


@SETTINGS
@given(
    batch=st.integers(1, 30),
    stopper=st.integers(0, 29),
    stop_before_running=st.booleans(),
)
def test_stop_ends_the_run_after_the_callbacks_already_queued(
    batch: int, stopper: int, stop_before_running: bool
) -> None:
    """Each of ``batch`` queued callbacks schedules a follow-up; one of them calls stop().

    The first run_forever runs the whole batch and none of the follow-ups;
    the next run_forever starts with the follow-ups, in order.
    """
    with fresh_loop() as scheduler:
        stopper %= batch
        ran: list[str] = []

        def first(index: int) -> None:
            ran.append(f"first {index}")
            scheduler.call_soon(ran.append, f"follow-up {index}")
            if index == stopper and not stop_before_running:
                scheduler.stop()

        for index in range(batch):
            scheduler.call_soon(first, index)
        if stop_before_running:
            scheduler.stop()
        scheduler.run_forever()
        assert ran == [f"first {index}" for index in range(batch)]

        ran.clear()
        scheduler.call_soon(scheduler.stop)  # queued after the follow-ups
        scheduler.run_forever()
        assert ran == [f"follow-up {index}" for index in range(batch)]
