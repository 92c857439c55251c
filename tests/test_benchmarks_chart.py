"""The chart and table made from the runner's JSON: the arithmetic, and the files.

The numbers here are invented; what is checked is that ratios read the same
way for rates and costs, that failed or unknown pairs are left out instead
of being charted from partial data, and that a PNG and a table come out.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.chart import rows_from, rst_table, write_png
from benchmarks.scenarios import load_all

ROOT = Path(__file__).resolve().parent.parent


def _samples(scenario: str, loop: str, values: list[float]) -> list[dict[str, Any]]:
    return [
        {"scenario": scenario, "loop": loop, "repeat": i, "value": v} for i, v in enumerate(values)
    ]


def _payload() -> dict[str, Any]:
    return {
        "python": "3.11.7",
        "loops": {"asyncio": "stdlib", "loopkit": "0.1.0", "uvloop": "0.23.0"},
        "repeats": 3,
        "clock": "cpu",
        "samples": [
            *_samples("call_soon", "asyncio", [90.0, 100.0, 110.0]),
            *_samples("call_soon", "loopkit", [150.0, 200.0, 210.0]),
            *_samples("call_soon", "uvloop", [400.0, 300.0, 350.0]),
            # ns per call: lower is better, so loopkit at 40 ns is 2x asyncio's 80.
            *_samples("method_time", "asyncio", [80.0, 80.0, 80.0]),
            *_samples("method_time", "loopkit", [40.0, 30.0, 50.0]),
            *_samples("timers", "asyncio", [10.0]),
            *_samples("timers", "loopkit", [20.0]),
            *_samples("no_such_scenario", "asyncio", [1.0]),
        ],
        "errors": [{"scenario": "timers", "loop": "loopkit", "error": "boom"}],
    }


def test_ratios_are_against_the_asyncio_median_and_read_faster_above_one() -> None:
    rows = {row.scenario.name: row for row in rows_from(_payload(), load_all())}
    # The median ratio, then the lowest and highest ratio of one repeat's pair:
    # loopkit's 150, 200, 210 against asyncio's 90, 100, 110 in the same repeats.
    assert rows["call_soon"].ratios["loopkit"] == pytest.approx((2.0, 150 / 90, 2.0))
    assert rows["call_soon"].ratios["uvloop"] == pytest.approx((3.5, 3.0, 400 / 90))
    assert rows["method_time"].ratios["loopkit"] == pytest.approx((2.0, 1.6, 80.0 / 30.0))


def test_failed_and_unknown_pairs_are_left_out() -> None:
    rows = {row.scenario.name: row for row in rows_from(_payload(), load_all())}
    assert "loopkit" not in rows["timers"].medians
    assert rows["timers"].ratios == {}
    assert "no_such_scenario" not in rows


def test_the_rst_table_has_a_ratio_column_per_compared_loop() -> None:
    rows = rows_from(_payload(), load_all())
    text = "\n".join(rst_table(rows, ["asyncio", "loopkit", "uvloop"]))
    assert text.startswith(".. list-table::")
    assert "     - loopkit/asyncio\n     - uvloop/asyncio" in text
    assert "   * - ``call_soon``\n     - callbacks/s\n     - 100 (90..110)" in text
    assert "     - 2.00x (1.67..2.00)\n     - 3.50x (3.00..4.44)" in text


@pytest.mark.leaks_allowed("matplotlib opens its font cache once per process and keeps it")
def test_the_png_is_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "ratios.png"
    write_png(rows_from(_payload(), load_all()), png, "test")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_runner_draws_the_chart_from_its_own_json(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    results, png = tmp_path / "results.json", tmp_path / "ratios.png"
    command = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--repeats", "1"]
    command += ["--loops", "loopkit,asyncio", "--only", "call_soon"]
    command += ["--json", str(results), "--chart", str(png)]
    subprocess.run(command, capture_output=True, timeout=120, check=True)
    assert json.loads(results.read_text())["samples"]
    assert png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.leaks_allowed("matplotlib opens its font cache once per process and keeps it")
def test_one_command_writes_the_report_tables_samples_and_chart_the_docs_use(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    command = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--repeats", "2"]
    command += ["--loops", "loopkit,asyncio", "--only", "call_soon", "--report", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    tables = (tmp_path / f"benchmarks-{tag}-tables.md.inc").read_text()
    header, _, row = tables.splitlines()[:3]
    assert header == "| scenario | unit | asyncio | loopkit | loopkit/asyncio |"
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[:2] == ["call_soon", "callbacks/s"]
    # Each loop: median (min..max); the ratio: ratio of medians (per-repeat range).
    assert re.fullmatch(r"\S+ \(\S+\.\.\S+\)", cells[2]), cells[2]
    assert re.fullmatch(r"\d+\.\d\dx \(\d+\.\d\d\.\.\d+\.\d\d\)", cells[4]), cells[4]
    report = (tmp_path / f"benchmarks-{tag}.md").read_text()
    assert report.startswith("# loopkit benchmarks") and row in report
    samples = json.loads((tmp_path / f"benchmarks-{tag}.json").read_text())["samples"]
    assert sorted(s["repeat"] for s in samples) == [0, 0, 1, 1]
    assert (tmp_path / f"ratios-{tag}.png").read_bytes().startswith(b"\x89PNG")


def test_the_runner_refuses_a_chart_without_a_json_file() -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--chart", "x.png"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--chart draws from the --json file" in done.stderr
