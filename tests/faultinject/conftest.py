"""Fixtures for the fault-injection tests: a factory of faulty loops, fd-leak check."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Iterator

import pytest

import loopkit
import loopkit.core.assembly
from loopkit.testing.faults import FaultInjector, FaultPlan

MakeLoop = Callable[[FaultPlan], asyncio.AbstractEventLoop]


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    """Set up before the loop fixtures, so every loop is closed when this checks."""
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    yield
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == before, "the test left file descriptors open"


@pytest.fixture
def make_loop() -> Iterator[MakeLoop]:
    """Make loops with a given fault plan (each closed after the test)."""
    loops: list[asyncio.AbstractEventLoop] = []

    def make(plan: FaultPlan) -> asyncio.AbstractEventLoop:
        # The unpatched factory: these tests choose their own faults even
        # when the session runs in suite mode.
        factory = getattr(loopkit.core.assembly, "_unpatched_new_event_loop", None)
        factory = factory or loopkit.new_event_loop
        # ``enable`` takes plugin objects as well as names.
        new_loop = factory(enable=[FaultInjector(plan)])  # type: ignore[list-item]
        loops.append(new_loop)
        return new_loop

    yield make
    for made in loops:
        made.close()
