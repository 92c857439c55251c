"""Fixtures for the TLS layer tests: a loop per loop kind, certificates.

``TLSProtocol`` is only a protocol, so it runs over any loop's plain stream
transport: every test runs on asyncio's own loop, and on loopkit's as soon as
its tcp plugin provides ``create_connection`` (skipped until then). Each loop
fails its test if an error reached its exception handler unexpectedly; leaks
(file descriptors included) are checked for every test by ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

import loopkit

_T = TypeVar("_T")


# -- fixtures ------------------------------------------------------------


def _loopkit_has_tcp() -> bool:
    return "tcp" in loopkit.assemble().providers.values()


@pytest.fixture(params=["asyncio", "loopkit"])
def loop_factory(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    if request.param == "loopkit":
        if not _loopkit_has_tcp():
            pytest.skip("tcp plugin not merged")
        return loopkit.new_event_loop
    return asyncio.new_event_loop


@pytest.fixture
def tls_loop(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> Iterator[asyncio.AbstractEventLoop]:
    """A loop whose unexpected error reports fail the test."""
    loop = loop_factory()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    loop.errors = errors  # type: ignore[attr-defined]
    try:
        yield loop
    finally:
        loop.run_until_complete(asyncio.sleep(0.01))  # let pending closes finish
        loop.close()
    assert errors == []


@pytest.fixture
def run(tls_loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    def runner(coro: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        return tls_loop.run_until_complete(asyncio.wait_for(coro, timeout))

    return runner
