"""The downstream check: a pinned aiohttp release's own tests, on asyncio and on loopkit.

Usage::

    python tests/downstream/run_aiohttp.py [--expected FILE] [--workdir DIR]

pluggy runs its biggest users' test suites against its own changes; this does
the same with one real user of the event loop. It downloads the sdist of
aiohttp :data:`AIOHTTP_VERSION` (which ships its tests), makes a virtual
environment beside it with this checkout of loopkit, that aiohttp release
and the few test requirements the chosen files need (at the versions the
sdist's ``requirements/test.txt`` pins), and runs :data:`TEST_FILES` twice:
plainly, and with ``pytest --loopkit``. aiohttp's tests get their loops from
its own pytest plugin (``asyncio.new_event_loop`` behind its ``loop``
fixture), which asks the policy that ``--loopkit`` sets; a small recorder
plugin (``downstream_recorder.py``) notes the class of every loop that fixture gave, and
the check fails if a loopkit run was not on loopkit's loops after all.

Both runs happen in a network namespace that has only loopback where the
machine allows it (``unshare --net``), so no test reaches outside; where it
does not, a note says so and the runs go on without.

A test that passes on asyncio and does not pass on loopkit is a
*difference*; it is run once more, alone, and if it passes then it is
reported as flaky. The check fails (exit 1) on any difference not listed in
the expected-differences file and on any entry there that no longer differs,
like the conformance gate. Only tests that read asyncio's private attributes
belong in that file. Exit 2 means the check could not run as meant.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from loopkit.tools.conformance import parse_expected

#: The aiohttp release whose tests are run; the one place it is named.
AIOHTTP_VERSION = "3.14.5"

#: aiohttp's test files that exercise the loop: connections, servers,
#: streaming, websockets, sendfile, the runners, the connector and the session.
TEST_FILES = (
    "tests/test_client_functional.py",
    "tests/test_web_functional.py",
    "tests/test_web_server.py",
    "tests/test_client_ws_functional.py",
    "tests/test_web_websocket_functional.py",
    "tests/test_web_sendfile_functional.py",
    "tests/test_web_urldispatcher.py",
    "tests/test_web_runner.py",
    "tests/test_run_app.py",
    "tests/test_connector.py",
    "tests/test_client_session.py",
    "tests/test_test_utils.py",
)

#: The test requirements those files need, at the versions the sdist pins.
#: coverage is there because aiohttp's pytest.ini names one of its warnings.
TEST_REQUIREMENTS = (
    "pytest",
    "pytest-mock",
    "pytest-timeout",
    "freezegun",
    "trustme",
    "blockbuster",
    "coverage",
)

#: aiohttp's own default selection: these markers are for its CI only.
MARKERS = "not dev_mode and not autobahn and not internal"

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXPECTED_FILE = HERE / "aiohttp-expected.txt"
MODES = ("asyncio", "loopkit")
PASSED = "passed"


# ----------------------------------------------------------------------
# Comparison (pure: tested by tests/test_downstream_compare.py)
# ----------------------------------------------------------------------


@dataclasses.dataclass
class Difference:
    """A test that passes on asyncio and does not on loopkit."""

    test_id: str
    loopkit_outcome: str
    summary: list[str]


def totals(records: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """run / pass / fail / skip, and how many tests ran on a loopkit loop."""
    counts = {"run": len(records), "pass": 0, "fail": 0, "skip": 0, "on_loopkit": 0}
    for record in records.values():
        outcome = record["outcome"]
        counts["pass" if outcome == PASSED else "skip" if outcome == "skipped" else "fail"] += 1
        if (record.get("loop") or "").startswith("loopkit"):
            counts["on_loopkit"] += 1
    return counts


def compare(
    asyncio_run: Mapping[str, Mapping[str, Any]], loopkit_run: Mapping[str, Mapping[str, Any]]
) -> list[Difference]:
    """Every test passing on asyncio that does not pass (or was not run) on loopkit."""
    missing = {"outcome": "not run", "summary": []}
    differences = []
    for test_id, record in sorted(asyncio_run.items()):
        other = loopkit_run.get(test_id, missing)
        if record["outcome"] == PASSED and other["outcome"] != PASSED:
            differences.append(Difference(test_id, other["outcome"], list(other["summary"])))
    return differences


def loopkit_only(
    asyncio_run: Mapping[str, Mapping[str, Any]], loopkit_run: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Tests that pass on loopkit and not on asyncio (reported, never a failure)."""
    return sorted(
        test_id
        for test_id, record in loopkit_run.items()
        if record["outcome"] == PASSED and asyncio_run.get(test_id, {}).get("outcome") != PASSED
    )


def wrong_loops(records: Mapping[str, Mapping[str, Any]], mode: str) -> list[str]:
    """Tests whose ``loop`` fixture gave a loop of the other kind than ``mode``'s."""
    return sorted(
        test_id
        for test_id, record in records.items()
        if record.get("loop") and record["loop"].startswith("loopkit") != (mode == "loopkit")
    )


def check_expected(
    differences: Iterable[Difference], expected: Mapping[str, str]
) -> tuple[list[Difference], list[str]]:
    """(differences not in ``expected``, entries of ``expected`` that no longer differ)."""
    differences = list(differences)
    found = {diff.test_id for diff in differences}
    unexpected = [diff for diff in differences if diff.test_id not in expected]
    stale = sorted(test_id for test_id in expected if test_id not in found)
    return unexpected, stale


def pinned_requirements(requirements_txt: str, names: Iterable[str]) -> list[str]:
    """The lines of a pip-compiled file that pin ``names`` (markers kept, comments not)."""

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    wanted = {canonical(name) for name in names}
    pins: dict[str, str] = {}
    for raw in requirements_txt.splitlines():
        line = raw.split("#", 1)[0].strip()
        name = re.split(r"[\s=<>!~;\[]", line, maxsplit=1)[0]
        if name and canonical(name) in wanted:
            pins[canonical(name)] = line
    absent = sorted(wanted - set(pins))
    if absent:
        raise ValueError(f"not pinned in the sdist's requirements: {', '.join(absent)}")
    return [pins[name] for name in sorted(pins)]


# ----------------------------------------------------------------------
# Setting up: the sdist, the environment, the network namespace
# ----------------------------------------------------------------------


def _run(command: Sequence[str]) -> None:
    """Run a set-up command quietly; show what it printed only if it failed."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stdout.write(done.stdout + done.stderr)
        raise SystemExit(f"ERROR: {' '.join(command)} failed (exit status {done.returncode})")


def fetch_tests(workdir: Path) -> Path:
    """Download aiohttp's sdist and unpack its tests and pytest.ini (not its source)."""
    tests = workdir / "aiohttp"
    if tests.exists():
        return tests
    downloads = workdir / "downloads"
    _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
          "-d", str(downloads), f"aiohttp=={AIOHTTP_VERSION}"])  # fmt: skip
    (sdist,) = downloads.glob(f"aiohttp-{AIOHTTP_VERSION}.tar.gz")
    prefix = f"aiohttp-{AIOHTTP_VERSION}/"
    wanted = ("tests/", "pytest.ini", "requirements/")
    with tarfile.open(sdist) as archive:
        members = [
            member
            for member in archive.getmembers()
            if member.name.startswith(prefix) and member.name[len(prefix) :].startswith(wanted)
        ]
        for member in members:
            member.name = member.name[len(prefix) :]
        # The sdist's aiohttp/ sources are left out on purpose: the tests must
        # import the installed release, not a source tree beside them.
        archive.extractall(tests, members=members, filter="data")
    return tests


def make_environment(workdir: Path, tests: Path) -> Path:
    """A virtual environment with this loopkit, the pinned aiohttp and its test pins."""
    venv = workdir / "venv"
    python = venv / "bin" / "python"
    if python.exists():
        return python
    pins = pinned_requirements(
        (tests / "requirements" / "test.txt").read_text(encoding="utf-8"), TEST_REQUIREMENTS
    )
    _run([sys.executable, "-m", "venv", str(venv)])
    _run([str(python), "-m", "pip", "install", "-q", "-e", str(ROOT),
          f"aiohttp=={AIOHTTP_VERSION}", *pins])  # fmt: skip
    return python


def loopback_only_prefix() -> tuple[list[str], str]:
    """A command prefix that runs in a new network namespace with only loopback up.

    Returns ``([], reason)`` where this machine cannot make one (no
    ``unshare`` or ``ip``, or no permission to make namespaces).
    """
    prefix = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    if not (shutil.which("unshare") and shutil.which("ip")):
        return [], "unshare or ip not found"
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return [], "unshare --net timed out"
    if probe.returncode != 0:
        return [], probe.stderr.decode(errors="replace").strip() or "unshare --net failed"
    return prefix, ""


# ----------------------------------------------------------------------
# Running the tests
# ----------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """One pytest run of aiohttp's tests: its records and how it ended."""

    mode: str
    records: dict[str, dict[str, Any]]
    seconds: float
    exit_code: int


def run_tests(
    python: Path, tests: Path, mode: str, selection: Sequence[str], prefix: Sequence[str],
    timeout: float, label: str = "",
) -> Run:  # fmt: skip
    """Run pytest on ``selection`` in aiohttp's tree, on ``mode``'s loops."""
    label = label or mode
    record = tests / f"record-{label}.json"
    record.unlink(missing_ok=True)
    command = [
        *prefix, str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-p", "downstream_recorder",
        # aiohttp's addopts turn on xdist, coverage and doctests: none wanted here.
        "-o", "addopts=", "-m", MARKERS, "--timeout=60", "-rfE",
        # aiohttp's own option: no gc.collect() after each test (a third of the time).
        "--aiohttp-fast",
        *(["--loopkit"] if mode == "loopkit" else []), *selection,
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE),
        "LOOPKIT_DOWNSTREAM_RECORD": str(record),
        # `python -m pytest` puts the current folder on sys.path: harmless, as
        # the sdist's aiohttp/ sources were not unpacked.
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    started = time.monotonic()
    with open(tests / f"output-{label}.txt", "w", encoding="utf-8") as output:
        try:
            completed = subprocess.run(
                command, cwd=tests, env=env, stdout=output, stderr=subprocess.STDOUT,
                timeout=timeout,
            )  # fmt: skip
            exit_code = completed.returncode
        except subprocess.TimeoutExpired:
            exit_code = -1
    seconds = time.monotonic() - started
    records = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    return Run(mode, records, seconds, exit_code)


# ----------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------


def _format_totals(counts: Mapping[str, int]) -> str:
    return (
        f"run {counts['run']:4d}  pass {counts['pass']:4d}  "
        f"fail {counts['fail']:3d}  skip {counts['skip']:3d}"
    )


def report(
    runs: Mapping[str, Run],
    differences: Sequence[Difference],
    flaky: Sequence[Difference],
    out: TextIO,
) -> None:
    """Totals of both runs, each difference with its cause, and the loopkit-only passes."""
    for mode, run in runs.items():
        counts = totals(run.records)
        extra = f"; {counts['on_loopkit']} tests ran on a loopkit loop" if mode == "loopkit" else ""
        out.write(f"   {mode}: {_format_totals(counts)}   ({run.seconds:.1f}s{extra})\n")
    out.write(f"   differences: {len(differences)}\n")
    for diff in differences:
        out.write(f"   - {diff.test_id}  [{diff.loopkit_outcome}]\n")
        for line in diff.summary:
            out.write(f"       {line[:200]}\n")
    for diff in flaky:
        out.write(f"   ~ flaky (failed, then passed alone): {diff.test_id}\n")
    for test_id in loopkit_only(runs["asyncio"].records, runs["loopkit"].records):
        out.write(f"   + passes only on loopkit: {test_id}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: set up, run both, compare, report; the exit status is the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expected", default=str(EXPECTED_FILE), help="expected differences")
    parser.add_argument("--workdir", help="keep the sdist and environment here (reused)")
    parser.add_argument("--run-timeout", type=float, default=900, help="seconds per pytest run")
    parser.add_argument("--version", action="version", version=AIOHTTP_VERSION,
                        help="print the pinned aiohttp version and exit")  # fmt: skip
    parser.add_argument("tests", nargs="*", help=f"aiohttp test files (default: {len(TEST_FILES)})")
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        expected = parse_expected(Path(args.expected).read_text(encoding="utf-8"),
                                  sys.version_info[:2])  # fmt: skip
    except ValueError as exc:
        parser.error(f"{args.expected}: {exc}")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="loopkit-downstream-"))
    workdir.mkdir(parents=True, exist_ok=True)
    selection = args.tests or list(TEST_FILES)
    status = check(workdir, selection, expected, args.expected, args.run_timeout, out)
    if status == 0 and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    elif status:
        out.write(f"the runs' outputs are kept in {workdir / 'aiohttp'}\n")
    return status


def check(
    workdir: Path, selection: list[str], expected: Mapping[str, str], expected_path: str,
    run_timeout: float, out: TextIO,
) -> int:  # fmt: skip
    """Set up in ``workdir``, run ``selection`` on both loops, report; the exit status."""
    tests = fetch_tests(workdir)
    python = make_environment(workdir, tests)
    prefix, why_not = loopback_only_prefix()
    network = "a network namespace with only loopback" if prefix else "the host's network"
    out.write(f"   {len(selection)} test files of aiohttp {AIOHTTP_VERSION}, in {network}\n")
    if why_not:
        out.write(f"   note: no loopback-only network namespace here ({why_not})\n")
    out.flush()

    runs = {mode: run_tests(python, tests, mode, selection, prefix, run_timeout)
            for mode in MODES}  # fmt: skip
    problems = [
        f"{run.mode} run ended with exit status {run.exit_code} "
        f"(see {tests / f'output-{run.mode}.txt'})"
        for run in runs.values()
        if run.exit_code not in (0, 1) or not run.records
    ]
    for mode, run in runs.items():
        for test_id in wrong_loops(run.records, mode)[:10]:
            problems.append(f"{mode} run: {test_id} got a loop from {run.records[test_id]['loop']}")
    differences = compare(runs["asyncio"].records, runs["loopkit"].records)
    flaky: list[Difference] = []
    if differences and not problems:
        again = run_tests(python, tests, "loopkit", [d.test_id for d in differences], prefix,
                          run_timeout, label="loopkit-rerun").records  # fmt: skip
        flaky = [d for d in differences if again.get(d.test_id, {}).get("outcome") == PASSED]
        differences = [d for d in differences if d not in flaky]
    report(runs, differences, flaky, out)

    for problem in problems:
        out.write(f"ERROR: {problem}\n")
    if problems:
        return 2
    unexpected, stale = check_expected(differences, expected)
    for diff in unexpected:
        out.write(f"UNEXPECTED difference: {diff.test_id}\n")
    for test_id in stale:
        out.write(f"STALE expected entry (no longer differs): {test_id}\n")
    if unexpected or stale:
        out.write(f"FAILED: see {expected_path}\n")
        return 1
    out.write("all differences are expected\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
