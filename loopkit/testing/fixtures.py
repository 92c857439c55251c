"""The pytest side of the kit: options, markers, the leak fixture, loop fixtures.

Loaded through :mod:`loopkit.testing` (``pytest_plugins = ["loopkit.testing"]``
or ``-p loopkit.testing``); never registered automatically, so installing
loopkit changes nobody's test run.

What it must never do: close, kill or reap a resource a test made before
reporting it (the leak check observes first), or make a loop that the test
does not close through the fixture that made it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import pytest

import loopkit
from loopkit.core.kernel import KernelLoop
from loopkit.testing import leaks
from loopkit.testing.faults import suite

_T = TypeVar("_T")

#: The ini option that turns the leak check on for every test of a project.
LEAK_CHECK_INI = "loopkit_leak_check"


class LoopFactory(Protocol):
    """What the ``make_loopkit_loop`` fixture returns."""

    def __call__(
        self,
        *,
        poller: str | None = None,
        plugins: Iterable[Any] | None = None,
        exclude: Iterable[str] | None = None,
        enable: Iterable[Any] | None = None,
    ) -> KernelLoop: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    suite.pytest_addoption(parser)
    parser.addini(
        LEAK_CHECK_INI,
        type="bool",
        default=False,
        help="loopkit.testing: fail every test that leaks an fd, thread, child, loop or task",
    )


def pytest_configure(config: pytest.Config) -> None:
    leaks.install_loop_tracker()
    config.addinivalue_line(
        "markers",
        "leaks_allowed(reason): this test may leave resources behind (say why)",
    )
    suite.pytest_configure(config)


pytest_unconfigure = suite.pytest_unconfigure
pytest_report_header = suite.pytest_report_header
pytest_collection_modifyitems = suite.pytest_collection_modifyitems
pytest_runtest_makereport = suite.pytest_runtest_makereport
pytest_terminal_summary = suite.pytest_terminal_summary


@contextmanager
def leak_check(node: pytest.Item) -> Iterator[None]:
    """Fail ``node`` if what runs inside leaves a resource behind.

    A test marked ``@pytest.mark.leaks_allowed("why")`` is not checked (and
    the loops it makes are not held, so that it may drop one on purpose).
    When something leaked, loops that can be closed safely are closed after
    the finding is recorded, so one leak does not cascade into the next test.
    """
    marker = node.get_closest_marker("leaks_allowed")
    if marker is not None:
        if not marker.args or not str(marker.args[0]).strip():
            pytest.fail("@pytest.mark.leaks_allowed needs a reason")
        leaks.tracking = False
        try:
            yield
        finally:
            leaks.tracking = True
        return
    leaks.forget_loops()
    before = leaks.Snapshot()
    yield
    found = leaks.find_leaks(before)
    if found:
        for leaked_loop in leaks.new_loops(before):
            if not leaked_loop.is_closed() and not leaked_loop.is_running():
                leaked_loop.close()
    leaks.forget_loops()
    if found:
        pytest.fail("the test leaked:\n  " + "\n  ".join(found), pytrace=False)


@pytest.fixture
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if it leaves an fd, thread, child, open loop or pending task.

    Request it before the fixtures that make resources (or use
    ``@pytest.mark.usefixtures("no_leaks")``, or set ``loopkit_leak_check =
    true`` in the ini file to check every test): it looks after they have
    been torn down. Resources made by wider-scoped fixtures exist before the
    snapshot and are not counted. Linux only (it reads ``/proc``).
    """
    with leak_check(request.node):  # type: ignore[arg-type]
        yield


@pytest.fixture(autouse=True)
def _loopkit_leak_check_every_test(request: pytest.FixtureRequest) -> None:
    """Turns ``no_leaks`` on for every test when the ini option says so."""
    if request.config.getini(LEAK_CHECK_INI):
        request.getfixturevalue("no_leaks")


def _new_loop(**choices: Any) -> KernelLoop:
    # Looked up when called: suite mode swaps loopkit.new_event_loop.
    made: KernelLoop = loopkit.new_event_loop(**choices)
    return made


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close ``loop`` unless it is closed already (or, in a broken test, still running)."""
    if loop.is_running():  # pragma: no cover - a broken test
        loop.stop()
        return
    loop.close()


@pytest.fixture
def make_loopkit_loop() -> Iterator[LoopFactory]:
    """Make loopkit loops with given choices; each is closed after the test.

    Takes the keyword arguments of :func:`loopkit.new_event_loop`:
    ``make_loopkit_loop(poller="poll")``, ``make_loopkit_loop(plugins=["tcp"])``,
    ``make_loopkit_loop(enable=[my_plugin_object])``.
    """
    made: list[KernelLoop] = []

    def make(
        *,
        poller: str | None = None,
        plugins: Iterable[Any] | None = None,
        exclude: Iterable[str] | None = None,
        enable: Iterable[Any] | None = None,
    ) -> KernelLoop:
        new_loop = _new_loop(poller=poller, plugins=plugins, exclude=exclude, enable=enable)
        made.append(new_loop)
        return new_loop

    yield make
    for new_loop in made:
        close_loop(new_loop)


@pytest.fixture
def loopkit_loop(
    request: pytest.FixtureRequest, make_loopkit_loop: LoopFactory
) -> asyncio.AbstractEventLoop:
    """A fresh loopkit loop, closed after the test.

    Every installed plugin by default. Parametrize it indirectly with the
    keyword arguments of :func:`loopkit.new_event_loop` to choose:
    ``@pytest.mark.parametrize("loopkit_loop", [{"poller": "poll"}], indirect=True)``,
    or over every poller here with :func:`poller_params`.
    """
    choices: dict[str, Any] = dict(getattr(request, "param", None) or {})
    return make_loopkit_loop(**choices)


@pytest.fixture
def loopkit_run(loopkit_loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """``loopkit_run(coro, timeout=10.0)``: run ``coro`` on ``loopkit_loop``."""
    return runner_on(loopkit_loop)


def runner_on(loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """``run(coro, timeout=10.0)`` on ``loop``: fails the test after ``timeout`` seconds."""

    def run(coro: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        return loop.run_until_complete(asyncio.wait_for(coro, timeout))

    return run


def available_pollers() -> list[str]:
    """The names of the pollers usable here, best first."""
    return loopkit.assemble().available_pollers()


def poller_params() -> list[dict[str, str]]:
    """Indirect parameters for ``loopkit_loop``: one loop per available poller."""
    return [{"poller": name} for name in available_pollers()]
