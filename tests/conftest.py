"""Fixtures shared by the whole suite: real loopkit loops, closed after each test.

Two suite-wide rules live here too:

* **Nothing leaks.** Every test runs between a snapshot and a check
  (:mod:`loopkit.testing.leaks`): a file descriptor, thread, child process, unclosed loop
  or pending task left behind fails the test, naming what leaked. A test that
  legitimately keeps something alive says so with
  ``@pytest.mark.leaks_allowed("why")``; use it sparingly.
* **Slow tests are opt-in.** Tests marked ``slow`` (the load tests in
  ``tests/load/``) are deselected unless ``--run-slow`` is given or the ``-m``
  expression names ``slow`` (``python -m pytest -m slow``). CI runs them once,
  on Python 3.11.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

import loopkit
from loopkit.testing import runner_on

# The kit for plugin authors (loopkit.testing) is this suite's own: its leak
# check (on for every test, by ``loopkit_leak_check`` in pyproject.toml), its
# fault injector's suite mode (--inject-faults) and its contracts.
pytest_plugins = ["loopkit.testing"]

# pycares (behind aiodns, which aiohttp also uses when it is installed) keeps
# one process-wide thread that destroys closed channels; start it before any
# test takes its snapshot of the threads alive, so that the leak check does not
# count it against whichever test first makes a channel.
try:
    import pycares
except ImportError:  # pragma: no cover - aiodns is in the test extra
    pass
else:
    pycares.Channel().close()

# loopkit keeps its plugin index, and what third-party plugins add, in a cache
# folder: the suite's fake plugins must not land in the user's own.
if not os.environ.get("LOOPKIT_CACHE_DIR"):
    _CACHE = tempfile.mkdtemp(prefix="loopkit-test-cache-")
    os.environ["LOOPKIT_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, True)

_T = TypeVar("_T")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run the tests marked slow (load tests)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect slow tests unless asked for by --run-slow or by ``-m ...slow...``."""
    if config.getoption("--run-slow") or "slow" in (config.getoption("markexpr") or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


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
def run(loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """Run a coroutine to completion on ``loop``, failing after 10 seconds."""
    return runner_on(loop)


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


@pytest.fixture
def run_any(any_loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """Run a coroutine to completion on ``any_loop``, failing after 10 seconds."""
    return runner_on(any_loop)
