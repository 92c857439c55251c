"""Figures for the load tests: resident memory, its peak, wall time, fd limits.

Only measures and records; never asserts (timings vary with the machine).
Collected figures are printed in pytest's terminal summary by
``tests/load/conftest.py``.
"""

from __future__ import annotations

import os
import resource
import time
from typing import Any

import pytest

#: (test id, figure name, value) for the terminal summary.
FIGURES: list[tuple[str, str, str]] = []


def rss_kib() -> int:
    """This process's resident set size now, in KiB."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


def reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS (VmHWM) count; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def peak_rss_kib() -> int:
    """The peak resident set size since the last :func:`reset_peak_rss`, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return rss_kib()


def raise_fd_limit(needed: int) -> None:
    """Raise the soft RLIMIT_NOFILE to the hard limit; skip if that is below ``needed``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} file descriptors; the hard limit is {hard}")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Figures:
    """Records the figures of one load test: wall time and peak RSS, plus any named value."""

    def __init__(self, test_id: str) -> None:
        self.test_id = test_id
        self.rss_before = rss_kib()
        self.peak_reset = reset_peak_rss()
        self.started = time.monotonic()

    def add(self, name: str, value: Any) -> None:
        FIGURES.append((self.test_id, name, str(value)))
        print(f"{self.test_id}: {name} = {value}")

    def finish(self) -> None:
        self.add("wall time", f"{time.monotonic() - self.started:.2f} s")
        peak = peak_rss_kib()
        label = "peak RSS" if self.peak_reset else "peak RSS (process lifetime)"
        self.add(label, f"{peak / 1024:.1f} MiB (RSS at start {self.rss_before / 1024:.1f} MiB)")
