"""The loop's clock, and how a replacement of ``loop.time`` reaches the scheduler.

The run loop and ``call_later`` read ``loop._clock``: by default
:func:`time.monotonic` itself, a C function, so reading the clock costs no
Python frame. asyncio instead calls ``self.time()`` on every pass, and tests
rely on that: ``mock.patch.object(loop, "time")`` on a loop, running or not,
is expected to drive ``call_later`` and the run loop, and ending the patch
to give the real clock back.

So ``KernelLoop.time`` is :data:`loop_time`, a property made of C parts:
reading ``loop.time`` returns ``loop._clock`` (through
:func:`operator.attrgetter`, no Python frame), so ``loop.time()`` costs
what a plain method calling ``time.monotonic()`` costs (the ``methods``
benchmark rows compare exactly that). Assigning ``loop.time`` (what
``patch.object`` does) makes the new callable the loop's ``_clock``;
deleting it (what the patch does when it ends) restores the default. The
scheduler's hot paths keep reading ``_clock`` and pay nothing for this.

A loop class whose ``time`` is a method of its own (a subclass, or a plugin
that overrides ``time``) shadows the property. Its scheduler reads the clock
through :func:`clock_via_attribute`, which looks ``time`` up on every read,
so an instance-level replacement is honoured there too.

What this module must never do: put a Python frame on the default clock.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from types import MethodType
from typing import Any

_monotonic = time.monotonic


def clock_via_attribute(loop: Any) -> float:
    """Read ``loop.time()``: the clock of a loop whose class overrides ``time``.

    Bound to the loop as its ``_clock`` (a method, so that the look-up
    happens on every read and an instance-level replacement is seen).
    """
    return loop.time()  # type: ignore[no-any-return]


def default_clock(loop: Any) -> Callable[[], float]:
    """The ``_clock`` a loop has while nobody replaces ``loop.time``."""
    for klass in type(loop).__mro__:
        if "time" in klass.__dict__:
            if klass.__dict__["time"] is loop_time:
                return _monotonic
            break
    return MethodType(clock_via_attribute, loop)


def _replace_clock(loop: Any, clock: Callable[[], float]) -> None:
    loop._clock = clock


def _restore_clock(loop: Any) -> None:
    loop._clock = default_clock(loop)


loop_time = property(
    operator.attrgetter("_clock"),
    _replace_clock,
    _restore_clock,
    doc="The loop's clock, :func:`time.monotonic`. Assigning ``loop.time`` "
    "(as ``mock.patch.object(loop, 'time')`` does) makes timers and the run "
    "loop follow the new clock; deleting it restores the monotonic clock.",
)
