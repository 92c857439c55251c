"""The benchmark runner runs end to end and prints its Markdown table.

Only the shape of the report and the arithmetic of its ratios are checked,
never a measured number: timing assertions do not belong in tests. This
keeps ``benchmarks/run.py`` from rotting between full benchmark runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# benchmarks/ is not an installed package: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import Measurement, main_table, speed_ratio
from benchmarks.run import _choose_scenarios, report_paths
from benchmarks.scenarios import Sample, Scenario, load_all

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def _scenario(kind: str) -> Scenario:
    def measure(new_loop: object, n: int) -> Sample:
        raise AssertionError("never run")

    return Scenario(
        name=f"fake_{kind}",
        family="fake",
        unit="ops/s" if kind == "rate" else "ns/call",
        kind=kind,  # type: ignore[arg-type]
        size=1,
        quick_size=1,
        description="",
        measure=measure,  # type: ignore[arg-type]
    )


def _quick_call_soon_run(loops: str, *options: str) -> subprocess.CompletedProcess[str]:
    """One quick repeat of the call_soon scenario on ``loops``."""
    command = [sys.executable, str(RUN), "--quick", "--repeats", "1", "--loops", loops]
    command += ["--only", "call_soon", *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_quick_run_prints_a_table_with_a_ratio_against_asyncio() -> None:
    done = _quick_call_soon_run("loopkit,asyncio")

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


def test_ratios_read_faster_than_asyncio_above_one_for_rates_and_costs() -> None:
    assert speed_ratio(_scenario("rate"), reference=100.0, other=150.0) == 1.5
    # A cost per call half of asyncio's is twice as fast.
    assert speed_ratio(_scenario("cost"), reference=30.0, other=15.0) == 2.0


def test_a_pair_that_failed_shows_error_instead_of_a_ratio_of_the_survivors() -> None:
    rate = _scenario("rate")
    results = {
        (rate.name, "asyncio"): [Measurement(100.0), Measurement(110.0)],
        (rate.name, "loopkit"): [Measurement(120.0)],
    }
    errors = {(rate.name, "loopkit"): "no result after 60 s: hung?"}

    lines = main_table([rate], ["asyncio", "loopkit"], results, "asyncio", errors)

    cells = [cell.strip() for cell in lines[-1].strip("|").split("|")]
    assert cells == ["fake_rate", "ops/s", "105 (100..110)", "error", "error"]


def test_quick_tcp_echo_reports_server_cpu_per_request_and_requests_per_second() -> None:
    # The load comes from benchmarks/loadgen.py in a process of its own.
    command = [
        sys.executable,
        str(RUN),
        "--quick",
        "--repeats",
        "1",
        "--loops",
        "loopkit,asyncio",
        "--only",
        "tcp_proto_1k",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| tcp_proto_1k |")]
    # The main table, the throughput table, the user-mode CPU table.
    assert len(rows) == 3
    cost, rate, user = ([cell.strip() for cell in row.strip("|").split("|")] for row in rows)
    assert cost[1] == "server CPU µs/request"
    assert rate[1] == "requests/s"
    assert user[1] == "server user CPU µs/request"
    assert float(cost[-1].removesuffix("x")) > 0
    assert float(rate[-1].removesuffix("x")) > 0


def test_a_ratio_shows_the_range_of_the_per_repeat_ratios() -> None:
    rate, cost = _scenario("rate"), _scenario("cost")
    results = {
        # Repeat 1 was slow for both loops alike: its ratio is still 2.
        (rate.name, "asyncio"): [Measurement(100.0, repeat=0), Measurement(50.0, repeat=1)],
        (rate.name, "loopkit"): [Measurement(150.0, repeat=0), Measurement(100.0, repeat=1)],
        (cost.name, "asyncio"): [Measurement(30.0, repeat=0), Measurement(40.0, repeat=1)],
        (cost.name, "loopkit"): [Measurement(15.0, repeat=0), Measurement(40.0, repeat=1)],
    }

    lines = main_table([rate, cost], ["asyncio", "loopkit"], results, "asyncio", {})

    rate_cells, cost_cells = ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])
    # Ratio of the medians (125 / 75), then the lowest..highest repeat's ratio.
    assert rate_cells[-1] == "1.67x (1.50..2.00)"
    # Costs invert: 15 µs against 30 is twice as fast; 40 against 40, even.
    assert cost_cells[-1] == "1.27x (1.00..2.00)"


def test_a_skipped_pair_shows_skipped_and_no_ratio() -> None:
    rate = _scenario("rate")
    results = {(rate.name, "asyncio"): [Measurement(100.0)]}
    skipped = {(rate.name, "loopkit"): "tls layer missing"}

    lines = main_table([rate], ["asyncio", "loopkit"], results, "asyncio", {}, skipped)

    cells = [cell.strip() for cell in lines[-1].strip("|").split("|")]
    assert cells == ["fake_rate", "ops/s", "100", "skipped", "n/a"]


def test_group_selects_a_family_and_core_selects_the_loop_internal_ones() -> None:
    known = load_all()

    tcp = {s.name for s in _choose_scenarios(None, ["tcp"], known)}
    core = {s.name for s in _choose_scenarios(None, ["core"], known)}
    mixed = {s.name for s in _choose_scenarios(["call_soon"], ["udp"], known)}

    assert tcp == {name for name, s in known.items() if s.family == "tcp"}
    assert "tcp_proto_1k" in tcp
    assert "call_soon" in core and not core & tcp
    assert mixed == {"call_soon", "udp_echo_1k"}


def test_an_unknown_group_is_refused_with_the_known_groups() -> None:
    command = [sys.executable, str(RUN), "--group", "no_such_group"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode != 0
    assert "unknown group(s): no_such_group" in done.stderr
    assert "core, transport" in done.stderr


def test_malloc_tuned_run_says_so_in_its_header() -> None:
    done = _quick_call_soon_run("asyncio", "--malloc-tuned")

    assert done.returncode == 0, done.stderr
    assert "glibc malloc thresholds fixed (--malloc-tuned)" in done.stdout


def test_report_files_of_a_malloc_tuned_run_are_named_apart() -> None:
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    default = report_paths(Path("out"))
    tuned = report_paths(Path("out"), malloc_tuned=True)

    assert default["markdown"] == Path("out") / f"benchmarks-{tag}.md"
    assert tuned["markdown"] == Path("out") / f"benchmarks-{tag}-malloc-tuned.md"
    assert tuned["tables"] == Path("out") / f"benchmarks-{tag}-malloc-tuned-tables.md.inc"
    assert set(default.values()).isdisjoint(tuned.values())
