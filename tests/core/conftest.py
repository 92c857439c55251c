"""Fixtures for the kernel tests: the same test against asyncio's loop and loopkit's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

import loopkit

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

#: The reference implementation first, then loopkit: a behaviour test
#: parametrized over both proves that loopkit behaves as asyncio does.
FACTORIES: dict[str, LoopFactory] = {
    "asyncio": asyncio.new_event_loop,
    "loopkit": loopkit.new_event_loop,
}


@pytest.fixture(params=list(FACTORIES))
def any_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """An asyncio loop, then a loopkit loop; closed afterwards."""
    new_loop = FACTORIES[request.param]()
    try:
        yield new_loop
    finally:
        new_loop.close()
