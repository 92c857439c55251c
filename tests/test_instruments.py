"""The instruments plugin: iteration statistics on request, nothing otherwise."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator

import pytest

import loopkit
from loopkit.core.kernel import KernelLoop
from loopkit.plugin import services
from loopkit.plugins.instruments import Meter


@pytest.fixture
def measured_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = loopkit.new_event_loop(enable=["instruments"])
    try:
        yield loop
    finally:
        loop.close()


def test_loops_that_do_not_ask_run_the_kernel_iteration_itself() -> None:
    """No observer, the poller's own poll: not enabling the plugin costs nothing."""
    loop = loopkit.new_event_loop()
    try:
        assert type(loop)._run_once is KernelLoop._run_once
        assert not hasattr(loop, "stats")
        assert services(loop).observer is None
        assert loop._poll == loop._poller.poll  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_enabled_by_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(loopkit.ENV_ENABLE, "instruments")
    loop = loopkit.new_event_loop()
    try:
        assert loop.stats().iterations == 0  # type: ignore[attr-defined]
        assert type(loop)._loopkit_assembly.providers["stats"] == "instruments"
        assert isinstance(services(loop).observer, Meter)
    finally:
        loop.close()


def test_counts_callbacks_timers_and_io_events(measured_loop: asyncio.AbstractEventLoop) -> None:
    loop = measured_loop
    left, right = socket.socketpair()
    try:
        received: list[bytes] = []
        loop.add_reader(left, lambda: received.append(left.recv(100)))
        for _ in range(50):
            loop.call_soon(lambda: None)
        cancelled = loop.call_later(0.001, lambda: None)
        cancelled.cancel()
        for _ in range(5):
            loop.call_later(0.001, lambda: None)
        right.send(b"ping")
        loop.run_until_complete(asyncio.sleep(0.05))
        loop.remove_reader(left)
    finally:
        left.close()
        right.close()
    stats = loop.stats()  # type: ignore[attr-defined]
    assert received == [b"ping"]
    assert stats.callbacks >= 51  # the 50 callbacks and the reader
    assert stats.timers_fired >= 6  # 5 timers and the sleep, not the cancelled one
    assert stats.io_events >= 1
    assert stats.iterations >= 2
    assert stats.poll_time > 0.0
    loop.reset_stats()  # type: ignore[attr-defined]
    assert loop.stats().callbacks == 0  # type: ignore[attr-defined]


def test_logs_slow_iterations_made_of_fast_callbacks(
    measured_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    """Twenty 10 ms callbacks: none is slow, their iteration is."""
    loop = measured_loop
    loop.slow_iteration_duration = 0.15  # type: ignore[attr-defined]
    for _ in range(20):
        loop.call_soon(time.sleep, 0.01)
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        loop.run_until_complete(asyncio.sleep(0))
    messages = [r.getMessage() for r in caplog.records if "Loop iteration took" in r.getMessage()]
    assert len(messages) == 1
    assert "(20 callbacks" in messages[0] or "(21 callbacks" in messages[0]
    stats = loop.stats()  # type: ignore[attr-defined]
    assert stats.slow_iterations == 1
    assert stats.longest_iteration >= 0.15


def test_waiting_in_the_poller_is_not_slowness(
    measured_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    loop = measured_loop
    loop.slow_iteration_duration = 0.1  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        loop.run_until_complete(asyncio.sleep(0.2))
    assert not [r for r in caplog.records if "Loop iteration took" in r.getMessage()]
    assert loop.stats().poll_time >= 0.15  # type: ignore[attr-defined]
