"""The instruments-cost benchmark runs, and reports the kernel-identity facts.

No timing is asserted. What is checked is what the benchmark claims besides
its numbers: the default loop runs unobserved on the kernel's own run path,
the instrumented one is observed, and each row compares the three loops.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "instruments_cost.py"


def _child(variant: str) -> dict[str, object]:
    command = [sys.executable, str(SCRIPT), "--child", variant, "call_soon", "--quick"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    record: dict[str, object] = json.loads(done.stdout)
    return record


def test_a_measurement_on_the_default_loop_runs_the_kernels_own_iteration() -> None:
    record = _child("loopkit")
    assert record["kernel_run_once"] is True
    assert record["ops"] == 15_000  # call_soon's quick size


def test_a_measurement_on_the_instrumented_loop_runs_the_plugins_iteration() -> None:
    assert _child("loopkit+instruments")["kernel_run_once"] is False


def test_asyncio_has_no_kernel_to_compare() -> None:
    assert _child("asyncio")["kernel_run_once"] is None


def test_the_report_has_a_row_per_scenario_with_both_ratios() -> None:
    command = [sys.executable, str(SCRIPT), "--quick", "--repeats", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert "`services(loopkit.new_event_loop()).observer is None`: True" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith("| `")]
    assert [row.split("|")[1].strip() for row in rows] == [
        "`call_soon` (ops/s)",
        "`sleep0_pingpong` (ops/s)",
    ]
    assert all(row.rstrip(" |").endswith("x") for row in rows)
