"""The aiohttp-under-wrk benchmark scenario: registered, skipped without wrk, runnable.

wrk is a Debian package, not a Python one: most CI machines lack it, and
there the scenario must say so and let the run succeed. No measured number
is ever asserted, only that one was made.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# benchmarks/ is not an installed package: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import _choose_scenarios
from benchmarks.scenarios import load_all
from benchmarks.scenarios.http import check_wrk_output, wrk_command

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _without_wrk(tmp_path: Path) -> dict[str, str]:
    """The environment with a PATH on which no wrk can be found."""
    return {**os.environ, "PATH": str(tmp_path)}


def test_the_http_family_is_a_transport_scenario_reporting_cpu_and_requests() -> None:
    known = load_all()

    http = _choose_scenarios(None, ["http"], known)
    transport = _choose_scenarios(None, ["transport"], known)

    assert [s.name for s in http] == ["http_aiohttp_hello"]
    assert http[0] in transport
    assert http[0].unit == "server CPU µs/request"
    assert http[0].throughput_unit == "requests/s"
    assert http[0].cpu_metric


def test_wrk_loads_32_connections_from_one_thread() -> None:
    command = wrk_command("/usr/bin/wrk", 8080, 3)

    assert command == ["/usr/bin/wrk", "-t1", "-c32", "-d3s", "http://127.0.0.1:8080/"]


def test_failed_requests_or_socket_errors_make_the_measurement_an_error() -> None:
    good = "  1000 requests in 1.00s, 150.00KB read\nRequests/sec:   1000.00\n"
    check_wrk_output(good)

    with pytest.raises(RuntimeError, match="12 responses were not 2xx/3xx"):
        check_wrk_output(good + "  Non-2xx or 3xx responses: 12\n")
    with pytest.raises(RuntimeError, match="socket errors: connect 0, read 3"):
        check_wrk_output(good + "  Socket errors: connect 0, read 3, write 0, timeout 0\n")
    with pytest.raises(RuntimeError, match="wrk printed no result"):
        check_wrk_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_without_wrk_the_worker_reports_skipped_with_the_reason(tmp_path: Path) -> None:
    command = [sys.executable, str(BENCHMARKS / "worker.py"), "http_aiohttp_hello", "asyncio"]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=_without_wrk(tmp_path)
    )

    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["skipped"].startswith("wrk is not installed")
    assert "apt-get install wrk" in record["skipped"]


def test_without_wrk_the_run_succeeds_and_lists_the_scenario_as_skipped(tmp_path: Path) -> None:
    command = [sys.executable, str(BENCHMARKS / "run.py"), "--repeats", "2"]
    command += ["--loops", "asyncio,loopkit", "--only", "http_aiohttp_hello"]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=_without_wrk(tmp_path)
    )

    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("| http_aiohttp"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2:] == ["skipped", "skipped", "n/a"]
    assert "- http_aiohttp_hello on loopkit: wrk is not installed" in done.stdout


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_with_wrk_a_quick_measurement_counts_the_requests_the_server_handled() -> None:
    command = [sys.executable, str(BENCHMARKS / "worker.py"), "http_aiohttp_hello", "loopkit"]
    command.append("--quick")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["ops"] > 0
    assert record["cpu_seconds"] > 0
    assert record["seconds"] > 0
