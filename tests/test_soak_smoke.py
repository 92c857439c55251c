"""The soak command runs its whole workload end to end and reports a verdict.

A few seconds only: no figure is asserted (timing belongs to the soak run
itself, not to tests), but every workload must have run, every sample must
carry its measurements, and the verdict must follow the documented rule.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"
WORKLOADS = ("echoes", "connections", "datagrams", "timers", "threadsafe", "subprocesses", "tls")


def test_a_short_soak_runs_every_workload_and_gives_a_verdict(tmp_path: Path) -> None:
    report = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, str(SOAK), "--duration", "4", "--interval", "1", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert result.returncode in (0, 1), result.stderr  # 2: the workload failed
    data = json.loads(report.read_text())
    assert len(data["samples"]) >= 3
    assert all(sample["rss_mib"] > 0 and sample["fds"] > 0 for sample in data["samples"])
    assert all(data["totals"][name] > 0 for name in WORKLOADS), data["totals"]
    assert set(data["verdict"]) == {"rss_mib", "fds", "p99_ms"}
    grew = [name for name, outcome in data["verdict"].items() if outcome["grew"]]
    expected = f"verdict: grew: {', '.join(grew)}" if grew else "verdict: nothing grew"
    assert expected in result.stdout
    assert result.returncode == (1 if grew else 0)


def test_the_verdict_rule_compares_first_and_last_thirds() -> None:
    sys.path.insert(0, str(SOAK.parent.parent))
    from benchmarks.soak import Sample, verdict

    def sample(rss: float, fds: int, p99: float) -> Sample:
        return Sample(0.0, rss, fds, 0.1, p99, 1, 1, 1, 1, 1, 1, 1)

    # The first sample is warm-up; then three steady, three, three.
    steady = [sample(90, 50, 9)] + [sample(40, 20, 0.5)] * 9
    assert not any(outcome["grew"] for outcome in verdict(steady).values())
    leaking = [sample(40, 20, 0.5)] * 4 + [sample(41, 21, 0.6)] * 3 + [sample(50, 30, 3.0)] * 3
    assert {name for name, outcome in verdict(leaking).items() if outcome["grew"]} == {
        "rss_mib",
        "fds",
        "p99_ms",
    }
