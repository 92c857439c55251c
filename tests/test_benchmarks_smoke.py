"""The benchmark runner runs end to end and prints its Markdown table.

Only the shape of the report is checked, never a number: timing assertions
do not belong in tests. This keeps ``benchmarks/run.py`` from rotting
between the occasions someone runs the full benchmark.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def test_quick_run_prints_a_table_with_a_ratio_against_asyncio() -> None:
    command = [
        sys.executable,
        str(RUN),
        "--quick",
        "--repeats",
        "1",
        "--loops",
        "loopkit,asyncio",
        "--only",
        "call_soon",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "| scenario | unit | asyncio | loopkit | loopkit/asyncio |" in lines
    row = next(line for line in lines if line.startswith("| call_soon |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == "callbacks/s"
    assert cells[-1].endswith("x")
    assert float(cells[-1].removesuffix("x")) > 0


def test_unknown_scenario_is_refused_with_the_known_names() -> None:
    command = [sys.executable, str(RUN), "--only", "no_such_scenario"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode != 0
    assert "unknown scenario(s): no_such_scenario" in done.stderr
    assert "call_soon" in done.stderr
