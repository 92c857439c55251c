"""Fixtures for the tcp tests: every test checks that it leaves no fd open."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    """Set up before the loop fixture, so the loop is closed when this checks."""
    gc.collect()
    before = open_fds()
    yield
    gc.collect()
    assert open_fds() == before, "the test left file descriptors open"
