"""Suite mode: run existing test suites again with every loopkit loop faulty.

``pytest --inject-faults=SEED`` (or ``--inject-faults`` for a random seed,
or ``LOOPKIT_TEST_FAULTS=SEED|random``) makes ``loopkit.new_event_loop``
add a :class:`~loopkit.testing.faults.FaultInjector` with the *benign* plan
(:meth:`~loopkit.testing.faults.FaultPlan.benign`): EINTR, EAGAIN, one-byte writes, spurious
wake-ups, held-back and spurious readiness. A correct loop hides all of
them, so every test must pass unchanged. Faults that end a connection
(ECONNRESET, EPIPE, EMFILE) are not injected at random here: they change
what a test should expect; focused tests script them instead.

The seed is printed in the header, in every failure report (with the
command that reproduces it), and the totals of injected faults at the end.
Tests that cannot pass under injection (they count system calls or events)
carry ``@pytest.mark.no_fault_injection(reason=...)`` and are skipped.

Its hooks are those of the pytest plugin :mod:`loopkit.testing`: a project
that loads the kit gets the option. The ini option ``loopkit_fault_modules``
lists more packages whose socket calls may be hit (a third-party plugin's
own package), beside ``loopkit``.

This module patches ``loopkit.new_event_loop`` only in suite mode, and
puts it back when the session ends.
"""

from __future__ import annotations

import collections
import os
import random
from collections.abc import Generator, Iterable
from typing import Any

import pytest

import loopkit
import loopkit.core.assembly
import loopkit.policy
from loopkit.core.hookspecs import hookimpl
from loopkit.core.names import Names
from loopkit.testing.faults.plan import FaultPlan
from loopkit.testing.faults.plugin import FaultInjector, faults_of, label_from_pytest

ENV_FAULTS = "LOOPKIT_TEST_FAULTS"

_state: dict[str, Any] = {}


class _Totals:
    """Adds up what every loop injected, when it closes."""

    def __init__(self) -> None:
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.loops = 0

    @hookimpl
    def loopkit_loop_closing(self, loop: Any) -> None:
        faults = getattr(loop, "_loopkit_faults", None)
        if faults is not None:
            self.loops += 1
            self.counts.update(faults_of(loop).injected)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "loopkit_fault_modules",
        type="linelist",
        default=[],
        help="packages (besides loopkit) whose socket calls --inject-faults may hit",
    )
    parser.addoption(
        "--inject-faults",
        "--loopkit-inject-faults",
        dest="loopkit_inject_faults",
        nargs="?",
        const="random",
        default=None,
        metavar="SEED",
        help="run with a fault-injecting loopkit plugin (benign faults; "
        f"a random seed when none is given; also {ENV_FAULTS}=SEED)",
    )


def _seed_from(config: pytest.Config) -> int | None:
    value = config.getoption("loopkit_inject_faults") or os.environ.get(ENV_FAULTS) or None
    if value is None:
        return None
    if value == "random":
        return random.SystemRandom().randrange(1, 2**32)
    return int(value)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "no_fault_injection(reason): the test cannot pass under --inject-faults "
        "(it counts system calls or events); skipped in that mode",
    )
    seed = _seed_from(config)
    if seed is None:
        return
    modules = ("loopkit", *config.getini("loopkit_fault_modules"))
    injector = FaultInjector(FaultPlan.benign(seed, modules=modules), label=label_from_pytest)
    totals = _Totals()
    original = loopkit.core.assembly.new_event_loop

    def new_event_loop(
        *,
        poller: str | None = None,
        plugins: Iterable[Any] | None = None,
        exclude: Names | None = None,
        enable: Iterable[Any] | None = None,
        **backends: str | None,
    ) -> Any:
        if plugins is not None:
            plugins = [*plugins, injector, totals]
        else:
            if enable is None:
                enable = (
                    loopkit.core.assembly._split_names(os.environ.get(loopkit.ENV_ENABLE)) or []
                )
            enable = [*enable, injector, totals]
        return original(
            poller=poller,
            plugins=None if plugins is None else list(plugins),
            exclude=exclude,
            enable=None if enable is None else list(enable),
            **backends,
        )

    _state.update(seed=seed, original=original, totals=totals)
    loopkit.core.assembly._unpatched_new_event_loop = original  # type: ignore[attr-defined]
    for module in (loopkit, loopkit.core.assembly, loopkit.policy):
        module.new_event_loop = new_event_loop  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    original = _state.pop("original", None)
    if original is not None:
        for module in (loopkit, loopkit.core.assembly, loopkit.policy):
            module.new_event_loop = original  # type: ignore[attr-defined]
        del loopkit.core.assembly._unpatched_new_event_loop  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str | None:
    if "seed" not in _state:
        return None
    return f"loopkit fault injection: seed {_state['seed']} (benign faults, every loopkit loop)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "seed" not in _state:
        return
    for item in items:
        marker = item.get_closest_marker("no_fault_injection")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"not under fault injection: {reason}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if "seed" in _state and report.failed:
        seed = _state["seed"]
        report.sections.append(
            (
                "loopkit fault injection",
                f"seed {seed}; reproduce with: pytest --inject-faults={seed} '{item.nodeid}'",
            )
        )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "seed" not in _state:
        return
    totals: _Totals = _state["totals"]
    terminalreporter.section("loopkit fault injection")
    terminalreporter.write_line(
        f"seed {_state['seed']}: {sum(totals.counts.values())} faults injected "
        f"into {totals.loops} loops"
    )
    for (op, fault), count in sorted(totals.counts.items()):
        terminalreporter.write_line(f"  {op:>14} {fault:<16} {count}")
