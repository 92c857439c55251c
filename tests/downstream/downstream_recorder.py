"""A pytest plugin loaded into the downstream runs: each test's outcome, and its loop.

``run_aiohttp.py`` loads it (``-p recorder``) into both runs of aiohttp's
tests. It writes, to the JSON file named by ``$LOOPKIT_DOWNSTREAM_RECORD``,
one record per test: its outcome over all phases (a failing setup or
teardown fails the test), the first lines of the failure, and the module
of the class of the loop that aiohttp's ``loop`` fixture gave it. The last
is the proof that ``--loopkit`` reached aiohttp's own pytest plugin.

It must only observe: it changes no test, fixture or outcome.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from typing import Any

import pytest

#: The environment variable naming the file the records go to.
RECORD_ENV = "LOOPKIT_DOWNSTREAM_RECORD"

_records: dict[str, dict[str, Any]] = {}


def _record(nodeid: str) -> dict[str, Any]:
    return _records.setdefault(nodeid, {"outcome": "passed", "summary": [], "loop": None})


def _summary(report: pytest.TestReport) -> list[str]:
    """The failure's crash line (``E ...``) and where, else its last lines."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        lines = str(crash.message).splitlines()[:3]
        return [*lines, f"at {crash.path}:{crash.lineno} ({report.when})"]
    return str(report.longrepr).splitlines()[-3:]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    record = _record(report.nodeid)
    if report.failed:
        if record["outcome"] != "failed":
            record["summary"] = _summary(report)
        record["outcome"] = "failed"
    elif report.skipped and record["outcome"] == "passed":
        # Skips and expected failures alike: not a pass, not a failure.
        record["outcome"] = "skipped"


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, None]:
    outcome = yield
    if fixturedef.argname == "loop" and outcome.excinfo is None:
        _record(request.node.nodeid)["loop"] = type(outcome.get_result()).__module__


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get(RECORD_ENV)
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(_records, out, indent=0, sort_keys=True)
