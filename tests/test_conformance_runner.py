"""The conformance runner: CPython's test_asyncio under asyncio and under loopkit.

The end-to-end tests run the real runner on ``test_context`` (one test, about
a second per run). To prove that a difference is found and reported, a
``sitecustomize`` module breaks loopkit's ``create_task`` in the child
processes: asyncio's run is untouched (it never makes a loopkit loop), so
the one test passes there and fails under loopkit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loopkit.tools.conformance import (
    PASS,
    Difference,
    RunResult,
    check_expected,
    compare,
    parse_expected,
)

CONTEXT_TEST = "test_context.DecimalContextTest.test_asyncio_task_decimal_context"
EXPECTED_FILE = Path(__file__).parent / "conformance" / "expected.txt"

#: Injected faults: what loopkit's create_task does instead of its job.
FAULTS = {
    "raise": """
    coro.close()
    raise RuntimeError("create_task broken on purpose")
""",
    "hang": """
    import time
    time.sleep(60)
""",
    # Fails in the first process only: a rerun of the test passes.
    "once": """
    import os
    if not os.path.exists(MARKER):
        open(MARKER, "w").close()
        coro.close()
        raise RuntimeError("broken once")
    return ORIGINAL(self, coro, **kwargs)
""",
}

SITECUSTOMIZE = """
import loopkit.core.kernel

MARKER = {marker!r}
ORIGINAL = loopkit.core.kernel.KernelLoop.create_task

def create_task(self, coro, **kwargs):
{body}

loopkit.core.kernel.KernelLoop.create_task = create_task
"""


def run_runner(
    tmp_path: Path, *args: str, fault: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the runner on test_context; ``fault`` breaks loopkit in its children."""
    env = dict(os.environ)
    if fault is not None:
        site_dir = tmp_path / "site"
        site_dir.mkdir(exist_ok=True)
        source = SITECUSTOMIZE.format(marker=str(tmp_path / "marker"), body=FAULTS[fault])
        (site_dir / "sitecustomize.py").write_text(source)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site_dir), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "loopkit.tools.conformance", "test_context", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_same_results_print_totals_and_no_difference(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    done = run_runner(tmp_path, "--json", str(report_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== test_context" in done.stdout
    assert "asyncio: run    1  pass    1  fail   0  skip   0" in done.stdout
    assert "loopkit: run    1  pass    1  fail   0  skip   0" in done.stdout
    assert "1 tests made a loopkit loop" in done.stdout
    assert "differences: 0" in done.stdout
    report = json.loads(report_path.read_text())
    module = report["modules"]["test_context"]
    assert module["asyncio"]["pass"] == module["loopkit"]["pass"] == 1
    assert module["differences"] == []


def test_an_entry_that_no_longer_differs_fails_the_gate(tmp_path: Path) -> None:
    expected = tmp_path / "expected.txt"
    expected.write_text(f"[all]\n{CONTEXT_TEST}  # tests asyncio's private internals\n")
    done = run_runner(tmp_path, "--expected", str(expected))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"STALE expected entry (no longer differs): {CONTEXT_TEST}" in done.stdout


def test_a_real_difference_is_listed_with_its_failure(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    unlisted = tmp_path / "empty.txt"
    unlisted.write_text("[all]\n")
    done = run_runner(
        tmp_path, "--expected", str(unlisted), "--json", str(report_path), fault="raise"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "loopkit: run    1  pass    0  fail   1" in done.stdout
    assert "differences: 1" in done.stdout
    assert f"- {CONTEXT_TEST}  [error]" in done.stdout
    assert "RuntimeError: create_task broken on purpose" in done.stdout
    assert f"UNEXPECTED difference: {CONTEXT_TEST} [error]" in done.stdout
    report = json.loads(report_path.read_text())
    assert report["unexpected"] == [CONTEXT_TEST]

    listed = tmp_path / "listed.txt"
    listed.write_text(f"[all]\n{CONTEXT_TEST}  # tests asyncio's private internals\n")
    done = run_runner(tmp_path, "--expected", str(listed), fault="raise")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all differences are expected" in done.stdout


def test_a_hanging_test_is_killed_and_reported_as_a_timeout(tmp_path: Path) -> None:
    done = run_runner(tmp_path, "--test-timeout", "2", "--no-rerun", fault="hang")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"- {CONTEXT_TEST}  [timeout]" in done.stdout
    assert "no progress, killed" in done.stdout


def test_a_difference_that_passes_when_rerun_is_flaky_not_a_difference(tmp_path: Path) -> None:
    done = run_runner(tmp_path, "--expected", str(EXPECTED_FILE), fault="once")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "differences: 0" in done.stdout
    assert f"~ flaky (failed, then passed alone): {CONTEXT_TEST}" in done.stdout


def test_an_unknown_module_is_an_error_not_an_empty_pass(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loopkit.tools.conformance", "test_no_such_module"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no module test_no_such_module in test.test_asyncio" in done.stderr
    assert "test_futures" in done.stderr


def test_expected_file_sections_select_the_running_version() -> None:
    text = textwrap.dedent(
        """\
        # comment
        test_a.C.test_everywhere  # asserts an asyncio-specific class or repr
        [3.12, 3.13]
        test_a.C.test_new  # tests asyncio's private internals
        [all]
        test_a.C.test_all  # tests asyncio's private internals
        """
    )
    assert set(parse_expected(text, (3, 11))) == {"test_a.C.test_everywhere", "test_a.C.test_all"}
    assert "test_a.C.test_new" in parse_expected(text, (3, 13))


def test_an_either_way_entry_is_expected_when_it_differs_and_not_stale_when_it_passes() -> None:
    expected = parse_expected(
        "[all]\n~test_a.C.test_race  # races with a helper thread\n"
        "test_a.C.test_private  # tests asyncio's private internals\n",
        (3, 13),
    )
    assert set(expected) == {"test_a.C.test_race", "test_a.C.test_private"}
    assert expected.either_way == {"test_a.C.test_race"}
    race = Difference("test_a.C.test_race", "pass", "fail", ["AssertionError"])
    private = Difference("test_a.C.test_private", "pass", "error", ["AttributeError"])
    assert check_expected({"test_a": [race, private]}, expected) == ([], [])
    # The race passed this time: not stale. The other entry passing is.
    assert check_expected({"test_a": [private]}, expected) == ([], [])
    assert check_expected({"test_a": [race]}, expected) == ([], ["test_a.C.test_private"])


def test_an_entry_without_a_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_expected("[all]\ntest_a.C.test_x\n", (3, 11))


def test_only_tests_passing_under_asyncio_count_as_differences() -> None:
    def run(mode: str, statuses: dict[str, str]) -> RunResult:
        tests = {
            f"test.test_asyncio.test_a.C.{name}": {"status": status, "summary": [status]}
            for name, status in statuses.items()
        }
        return RunResult("test_a", mode, tests, 0.0, True)

    asyncio_run = run("asyncio", {"ok": PASS, "broken": PASS, "both": "fail", "gone": PASS})
    loopkit_run = run("loopkit", {"ok": PASS, "broken": "fail", "both": "fail"})
    found = compare(asyncio_run, loopkit_run)
    assert [(d.test_id, d.loopkit_status) for d in found] == [
        ("test_a.C.broken", "fail"),
        ("test_a.C.gone", "missing"),
    ]
    unexpected, stale = check_expected(
        {"test_a": found, "test_b": []},
        {"test_a.C.broken": "r", "test_a.C.fixed": "r", "test_c.C.not_run": "r"},
    )
    assert [d.test_id for d in unexpected] == ["test_a.C.gone"]
    assert stale == ["test_a.C.fixed"]


def test_the_checked_in_expected_file_parses_for_every_version() -> None:
    text = EXPECTED_FILE.read_text()
    for minor in (11, 12, 13):
        for test_id in parse_expected(text, (3, minor)):
            assert test_id.split(".", 1)[0].startswith("test_")


def test_the_loopkit_run_makes_asyncios_default_loop_classes_build_loopkit_loops() -> None:
    """Tests that build ``asyncio.SelectorEventLoop()`` (or, on 3.13+,
    ``asyncio.EventLoop()``) get a loopkit loop in the loopkit run, and it
    passes their ``isinstance`` checks against those names."""
    code = textwrap.dedent(
        """
        import asyncio, sys
        from loopkit.tools.conformance_child import _stand_in_for_selector_event_loop
        from loopkit.core.kernel import KernelLoop

        real = asyncio.SelectorEventLoop()
        real.close()
        _stand_in_for_selector_event_loop()
        names = ["SelectorEventLoop"] + (["EventLoop"] if sys.version_info >= (3, 13) else [])
        for name in names:
            loop = getattr(asyncio, name)()
            try:
                assert isinstance(loop, KernelLoop), name
                assert isinstance(loop, asyncio.SelectorEventLoop), name
            finally:
                loop.close()
        assert isinstance(real, asyncio.SelectorEventLoop)
        assert not isinstance(object(), asyncio.SelectorEventLoop)

        async def running() -> object:
            return asyncio.get_running_loop()

        if sys.version_info >= (3, 12):  # asyncio.run(loop_factory=) is new in 3.12
            factory = getattr(asyncio, "EventLoop", asyncio.SelectorEventLoop)
            assert isinstance(asyncio.run(running(), loop_factory=factory), KernelLoop)
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
