"""Fixtures shared by the whole suite: real loopkit loops, closed after each test.

Two suite-wide rules live here too:

* **Nothing leaks.** Every test runs between a snapshot and a check
  (:mod:`leakcheck`): a file descriptor, thread, child process, unclosed loop
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
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import leakcheck
import pytest

import loopkit

# The fault injector (tests/faultinject) is importable as ``faultinject``
# whatever pytest's import mode; its suite-mode hooks are this conftest's.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from faultinject import suite_mode as _faults  # noqa: E402
from faultinject.suite_mode import (  # noqa: E402
    pytest_report_header,
    pytest_runtest_makereport,
    pytest_terminal_summary,
    pytest_unconfigure,
)

__all__ = [
    "pytest_report_header",
    "pytest_runtest_makereport",
    "pytest_terminal_summary",
    "pytest_unconfigure",
]

_T = TypeVar("_T")

leakcheck.install_loop_tracker()


def pytest_addoption(parser: pytest.Parser) -> None:
    _faults.pytest_addoption(parser)
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run the tests marked slow (load tests)",
    )


def pytest_configure(config: pytest.Config) -> None:
    _faults.pytest_configure(config)
    config.addinivalue_line(
        "markers",
        "leaks_allowed(reason): this test may leave resources behind (say why)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect slow tests unless asked for by --run-slow or by ``-m ...slow...``."""
    _faults.pytest_collection_modifyitems(config, items)
    if config.getoption("--run-slow") or "slow" in (config.getoption("markexpr") or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if it leaves an fd, thread, child, open loop or pending task.

    Autouse, so it is set up before (and torn down after) the test's own
    function-scoped fixtures: the ``loop`` fixture has closed its loop by the
    time this looks. Resources made by wider-scoped fixtures exist before the
    snapshot and are not counted.
    """
    marker = request.node.get_closest_marker("leaks_allowed")
    if marker is not None:
        if not marker.args or not str(marker.args[0]).strip():
            pytest.fail("@pytest.mark.leaks_allowed needs a reason")
        leakcheck.tracking = False
        try:
            yield
        finally:
            leakcheck.tracking = True
        return
    leakcheck.forget_loops()
    before = leakcheck.Snapshot()
    yield
    leaks = leakcheck.find_leaks(before)
    if leaks:
        # Close what can be closed safely so one leak does not cascade into
        # the next test's findings, then report everything found.
        for leaked_loop in leakcheck.new_loops(before):
            if not leaked_loop.is_closed() and not leaked_loop.is_running():
                leaked_loop.close()
    leakcheck.forget_loops()
    if leaks:
        pytest.fail("the test leaked:\n  " + "\n  ".join(leaks), pytrace=False)


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


def runner_on(loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """``run(coro, timeout=10.0)`` on ``loop``: fails the test after ``timeout`` seconds."""

    def runner(coro: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        return loop.run_until_complete(asyncio.wait_for(coro, timeout))

    return runner


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
