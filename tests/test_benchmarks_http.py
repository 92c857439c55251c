"""The aiohttp benchmark scenarios: registered, skipped without wrk, runnable.

The HTTP rows (hello, JSON) are loaded by wrk, a Debian package, not a
Python one: most CI machines lack it, and there those scenarios must say so
and let the run succeed. The websocket row is loaded by benchmarks/loadgen.py
and needs no wrk. No measured number is ever asserted, only that one was made.
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

from benchmarks.loadgen import websocket_frames
from benchmarks.run import _choose_scenarios
from benchmarks.scenarios import load_all
from benchmarks.scenarios.http import DOCUMENT, check_wrk_output, wrk_command

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _without_wrk(tmp_path: Path) -> dict[str, str]:
    """The environment with a PATH on which no wrk can be found."""
    return {**os.environ, "PATH": str(tmp_path)}


def test_the_http_family_is_a_transport_scenario_reporting_cpu_and_requests() -> None:
    known = load_all()

    http = _choose_scenarios(None, ["http"], known)
    transport = _choose_scenarios(None, ["transport"], known)

    assert [s.name for s in http] == ["http_aiohttp_hello", "http_aiohttp_json", "ws_aiohttp_echo"]
    assert all(s in transport and s.cpu_metric for s in http)
    assert [s.unit for s in http] == ["server CPU µs/request"] * 2 + ["server CPU µs/message"]
    assert [s.throughput_unit for s in http] == ["requests/s"] * 2 + ["messages/s"]


def test_the_json_row_serialises_a_document_of_a_few_kib() -> None:
    assert 3 * 1024 < len(json.dumps(DOCUMENT)) < 6 * 1024


def test_a_websocket_message_is_one_masked_text_frame_echoed_unmasked() -> None:
    frame, echo_size = websocket_frames(1024)

    assert frame[0] == 0x81  # FIN, text
    assert frame[1] == 0x80 | 126  # masked, 16-bit length follows
    assert int.from_bytes(frame[2:4], "big") == 1024
    mask, masked = frame[4:8], frame[8:]
    text = bytes(byte ^ mask[i % 4] for i, byte in enumerate(masked))
    assert text.isascii() and len(text) == 1024
    assert echo_size == 4 + 1024  # an unmasked server frame: no mask key
    assert websocket_frames(100)[1] == 2 + 100


def test_wrk_loads_32_connections_from_one_thread() -> None:
    command = wrk_command("/usr/bin/wrk", 8080, 3)

    assert command[:4] == ["/usr/bin/wrk", "-t1", "-c32", "-d3s"]
    assert command[4] == "--timeout=30s"  # long enough for a server under callgrind
    assert command[5:] == ["http://127.0.0.1:8080/"]


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
    command += ["--loops", "asyncio,loopkit", "--only", "http_aiohttp_hello,http_aiohttp_json"]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=_without_wrk(tmp_path)
    )

    assert done.returncode == 0, done.stderr
    for name in ("http_aiohttp_hello", "http_aiohttp_json"):
        row = next(line for line in done.stdout.splitlines() if line.startswith(f"| {name} "))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[2:] == ["skipped", "skipped", "n/a"]
        assert f"- {name} on loopkit: wrk is not installed" in done.stdout


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_with_wrk_a_quick_measurement_counts_the_requests_the_server_handled() -> None:
    command = [sys.executable, str(BENCHMARKS / "worker.py"), "http_aiohttp_hello", "loopkit"]
    command.append("--quick")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["ops"] > 0
    assert record["all_ops"] >= record["ops"]  # what instructions.py divides by
    assert record["cpu_seconds"] > 0
    assert record["seconds"] > 0


@pytest.mark.parametrize("loop", ["asyncio", "loopkit"])
def test_the_websocket_echo_runs_without_wrk_and_counts_the_messages(
    loop: str, tmp_path: Path
) -> None:
    command = [sys.executable, str(BENCHMARKS / "worker.py"), "ws_aiohttp_echo", loop, "--quick"]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=_without_wrk(tmp_path)
    )

    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["ops"] == load_all()["ws_aiohttp_echo"].quick_size
    assert record["cpu_seconds"] > 0
