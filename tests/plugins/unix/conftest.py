"""Fixtures for the unix tests: loops to compare with asyncio.

Leaks (fds included) are checked for every test by ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

import loopkit

_T = TypeVar("_T")


LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "loopkit": loopkit.new_event_loop,
}


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def any_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """asyncio's own loop, then loopkit's: a test using it proves equal behaviour."""
    new_loop = LOOP_FACTORIES[request.param]()
    try:
        yield new_loop
    finally:
        new_loop.close()


@pytest.fixture
def run_any(
    any_loop: asyncio.AbstractEventLoop,
) -> Callable[[Coroutine[Any, Any, _T]], _T]:
    """Run a coroutine on ``any_loop``, failing after 10 seconds."""

    def runner(coro: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        return any_loop.run_until_complete(asyncio.wait_for(coro, timeout))

    return runner
