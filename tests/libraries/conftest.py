"""Fixtures for the real-library tests: each test runs on asyncio's loop, then on loopkit's.

The asyncio run is the reference that shows the test itself is right; the
loopkit run is the claim. A test that needs a loop method from a plugin that
is not installed (udp, subprocess, the TLS layer) says so with
``@pytest.mark.loop_methods("name", ...)`` and is skipped, on loopkit only,
naming the plugin's method it lacks. Leaks (file descriptors included) are
checked for every test by ``tests/conftest.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from libraryhelpers import LOOP_FACTORIES, LoopFactory, missing_on_loopkit


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "loop_methods(*names): loop methods the test needs; "
        "skipped on loopkit when a plugin providing one is not installed",
    )


def skip_if_loopkit_lacks(request: pytest.FixtureRequest, loop_name: str) -> None:
    if loop_name != "loopkit":
        return
    for marker in request.node.iter_markers("loop_methods"):
        missing = missing_on_loopkit(tuple(marker.args))
        if missing:
            pytest.skip(f"loopkit has no {', '.join(missing)} yet (its plugin is not installed)")


@pytest.fixture(params=list(LOOP_FACTORIES))
def loop_name(request: pytest.FixtureRequest) -> str:
    """``"asyncio"`` then ``"loopkit"``: which loop the test runs on."""
    name: str = request.param
    skip_if_loopkit_lacks(request, name)
    return name


@pytest.fixture
def loop_factory(loop_name: str) -> LoopFactory:
    return LOOP_FACTORIES[loop_name]


@pytest.fixture
def anyio_backend(loop_name: str, loop_factory: LoopFactory) -> tuple[str, dict[str, Any]]:
    """anyio's asyncio backend with the loop under test as its loop factory."""
    return ("asyncio", {"loop_factory": loop_factory})
