"""Fixtures shared by the whole suite: real loopkit loops, closed after each test."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

import loopkit

# The fault injector (tests/faultinject) is importable as ``faultinject``
# whatever pytest's import mode; its suite-mode hooks are this conftest's.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from faultinject.suite_mode import (  # noqa: E402
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_report_header,
    pytest_runtest_makereport,
    pytest_terminal_summary,
    pytest_unconfigure,
)

__all__ = [
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_report_header",
    "pytest_runtest_makereport",
    "pytest_terminal_summary",
    "pytest_unconfigure",
]

_T = TypeVar("_T")

#: Pollers usable on this platform, for tests that run under each of them.
AVAILABLE_POLLERS = loopkit.assemble().available_pollers()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh loopkit loop with every installed plugin; closed afterwards."""
    new_loop = loopkit.new_event_loop()
    try:
        yield new_loop
    finally:
        if new_loop.is_running():  # pragma: no cover - a broken test
            new_loop.stop()
        new_loop.close()


@pytest.fixture(params=AVAILABLE_POLLERS)
def poller_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """The same as ``loop``, once per poller backend available here."""
    new_loop = loopkit.new_event_loop(poller=request.param)
    try:
        yield new_loop
    finally:
        new_loop.close()


@pytest.fixture
def run(
    loop: asyncio.AbstractEventLoop,
) -> Callable[[Coroutine[Any, Any, _T]], _T]:
    """Run a coroutine to completion on ``loop``, failing after 10 seconds."""

    def runner(coro: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        return loop.run_until_complete(asyncio.wait_for(coro, timeout))

    return runner


#: The reference implementation first, then loopkit: a behaviour test
#: parametrized over both (fixture ``any_loop``) proves that loopkit behaves
#: as asyncio does.
LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    # Looked up when called, so that suite mode's fault-injecting loops are used.
    "loopkit": lambda: loopkit.new_event_loop(),
}


@pytest.fixture(params=list(LOOP_FACTORIES))
def any_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """An asyncio loop, then a loopkit loop; closed afterwards."""
    new_loop = LOOP_FACTORIES[request.param]()
    try:
        yield new_loop
    finally:
        new_loop.close()
