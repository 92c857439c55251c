"""Load tests: figures (time, memory) collected per test and printed at the end.

These tests are marked ``slow`` and deselected by default (see
``tests/conftest.py``); run them with ``python -m pytest -m slow`` or
``--run-slow``. Each one is bounded in count and time, and uses loopback
only. Their figures are not assertions (timings vary with the machine); they
are printed in pytest's terminal summary so that a run records them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from loadfigures import FIGURES, Figures


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    recorder = Figures(request.node.name)
    yield recorder
    recorder.finish()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("load figures")
    for test_id, name, value in FIGURES:
        terminalreporter.write_line(f"{test_id}: {name}: {value}")
