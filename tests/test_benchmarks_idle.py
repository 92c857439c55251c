"""``benchmarks/idle_connections.py`` runs end to end and says why it skips a count.

No measured number is checked (memory per connection moves with the
allocator and the machine); only that the report has its lines, and that a
count this machine cannot hold is reported as skipped with its reason.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# benchmarks/ is not an installed package: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.idle_connections import _SPARE_FDS, skip_reason

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "idle_connections.py"


def test_a_count_over_the_fd_limit_is_skipped_naming_the_limit() -> None:
    reason = skip_reason(50_000, 20_000, 28_232)
    assert reason == f"needs {50_000 + _SPARE_FDS} fds, the hard fd limit is 20000"


def test_a_count_over_the_port_range_is_skipped_naming_the_range() -> None:
    assert skip_reason(30_000, 1_048_576, 28_232) == (
        "needs 30000 client ports, the ephemeral port range has 28232"
    )


def test_a_count_that_fits_is_measured() -> None:
    assert skip_reason(10_000, 20_000, 28_232) is None


def test_runs_end_to_end_and_reports_the_skipped_count() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--loops", "loopkit", "--counts", "20", "100000000"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("server RSS per idle TCP connection, KiB (fd limit ")
    assert lines[1].split()[:3] == ["20", "connections", "loopkit"]
    float(lines[1].split()[3])
    assert lines[2].startswith("  100000000 connections: skipped (needs 100000064 fds, ")
