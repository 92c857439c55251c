"""The fault plan is reproducible from its seed, and scripted faults come first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopkit.testing.faults import BENIGN, ECONNRESET, EINTR, SHORT, FaultPlan, LoopFaults

CALLS = ["recv", "send", "sendmsg", "accept", "recv_into", "sendto", "write", "read"] * 50


def decisions(plan: FaultPlan, label: str = "a test") -> list[str | None]:
    faults = LoopFaults(plan, label)
    return [faults.decide(op, 3) for op in CALLS]


def test_the_same_seed_gives_the_same_faults_and_another_seed_others() -> None:
    plan = FaultPlan(seed=7, rate=0.3)
    assert decisions(plan) == decisions(FaultPlan(seed=7, rate=0.3))
    assert decisions(plan) != decisions(FaultPlan(seed=8, rate=0.3))
    assert decisions(plan, "a test") != decisions(plan, "another test")


def test_random_faults_are_only_the_allowed_ones_and_fit_the_call() -> None:
    seen = [
        (op, fault) for op, fault in zip(CALLS, decisions(FaultPlan(seed=1, rate=0.5)), strict=True)
    ]
    faults = {fault for _, fault in seen if fault is not None}
    assert faults == BENIGN
    assert all(fault != SHORT for op, fault in seen if op in ("recv", "accept", "sendto"))


def test_scripted_faults_strike_first_on_the_chosen_fd_only() -> None:
    faults = LoopFaults(FaultPlan(seed=1))
    faults.script("recv", ECONNRESET, fd=9)
    faults.script("send", EINTR, times=2)
    assert faults.decide("recv", 8) is None
    assert faults.decide("recv", 9) == ECONNRESET
    assert faults.decide("recv", 9) is None
    assert [faults.decide("send", 1) for _ in range(3)] == [EINTR, EINTR, None]
    assert faults.total() == 3


def test_a_fault_that_cannot_happen_on_a_call_is_refused() -> None:
    with pytest.raises(ValueError, match="EMFILE cannot happen on recv"):
        LoopFaults(FaultPlan()).script("recv", "EMFILE")
    with pytest.raises(ValueError):
        LoopFaults(FaultPlan()).script("sendto", SHORT)


FAILING_TEST = """
import asyncio, loopkit

def test_fails():
    loop = loopkit.new_event_loop()
    loop.close()
    assert type(loop._poller).__name__ == "EpollPoller"
"""


def test_suite_mode_names_the_seed_and_how_to_reproduce_a_failure(tmp_path: Path) -> None:
    (tmp_path / "test_it.py").write_text(FAILING_TEST)
    env = dict(os.environ)
    env.pop("LOOPKIT_TEST_FAULTS", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "loopkit.testing",
            "-p",
            "no:cacheprovider",
            "--inject-faults=4242",
            str(tmp_path / "test_it.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "loopkit fault injection: seed 4242" in result.stdout
    assert "reproduce with: pytest --inject-faults=4242" in result.stdout
    assert "into 1 loops" in result.stdout
