"""Run CPython's own ``test.test_asyncio`` under asyncio and under loopkit, and compare.

Usage::

    python -m loopkit.tools.conformance [MODULE ...] [--expected FILE] [--json OUT] [-j N]

Every MODULE (``test_futures``, ``test_tasks``, ...) of the running Python's
``test.test_asyncio`` package is run twice, each time in a fresh child
process: once with asyncio's default event loop policy and once with
loopkit's. A test that passes under asyncio but not under loopkit is a
*difference*; the report lists each one with the first lines of its failure,
and the totals (run / pass / fail / skip) of both runs per module.

With ``--expected FILE`` the runner is a gate: it exits 1 when a difference is
not listed in the file, and when a listed test no longer differs (so the file
never keeps stale excuses). Each entry is ``test_id  # one-line reason`` under
a ``[all]`` or ``[3.X]`` section naming the Python versions it applies to; an
entry written ``~test_id`` may pass or fail (a test that races with a helper
thread of loopkit's), and is never stale.

How loopkit is made "the default" (in :mod:`loopkit.tools.conformance_child`, the
half that runs in the children): test_asyncio modules reset the policy to
None in tearDownModule (and some tests in setUp/tearDown), after which asyncio
builds a fresh ``asyncio.DefaultEventLoopPolicy``. The loopkit child therefore
replaces that name with :class:`loopkit.EventLoopPolicy` before any test is
imported, installs the policy, and checks that a loop obtained after a reset
really is a loopkit loop; it also counts the loopkit loops each test made, so
the report shows how many tests actually exercised loopkit (tests built on
test_asyncio's private ``TestLoop`` run on asyncio's base loop in both runs).

A test that makes no progress for ``--test-timeout`` seconds is killed with
its child and recorded as a timeout; a new child goes on with the rest. A
difference is run once more, alone; if it passes then, it is reported as
flaky and does not fail the gate (``--no-rerun`` turns this off).

This module must never change what a test sees beyond the policy: no test is
patched or skipped, and a hang is a result ("timeout"), not a pass.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import IO, Any, TextIO

from loopkit.tools.conformance_child import ERROR, MISSING, PACKAGE, PASS, SKIP, TIMEOUT

MODES = ("asyncio", "loopkit")


# ----------------------------------------------------------------------
# The parent: run the children, with timeouts, and gather their results
# ----------------------------------------------------------------------


@dataclasses.dataclass
class RunResult:
    """The outcome of one module under one policy."""

    module: str
    mode: str
    tests: dict[str, dict[str, Any]]
    seconds: float
    complete: bool
    note: str = ""

    def totals(self) -> dict[str, int]:
        """run / pass / fail / skip, and how many tests made a loopkit loop."""
        counts = {"run": 0, "pass": 0, "fail": 0, "skip": 0, "loopkit_loops": 0}
        for record in self.tests.values():
            counts["run"] += 1
            status = record["status"]
            if status == PASS:
                counts["pass"] += 1
            elif status == SKIP:
                counts["skip"] += 1
            else:
                counts["fail"] += 1
            if record.get("loopkit_loops"):
                counts["loopkit_loops"] += 1
        return counts


def short_id(test_id: str) -> str:
    """``test.test_asyncio.test_x.C.test_y`` -> ``test_x.C.test_y``."""
    prefix = PACKAGE + "."
    return test_id[len(prefix) :] if test_id.startswith(prefix) else test_id


def _read_records(path: str, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Complete JSON lines written after ``offset``, and the new offset."""
    with open(path, "rb") as stream:
        stream.seek(offset)
        data = stream.read()
    end = data.rfind(b"\n") + 1
    records = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return records, offset + end


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the child and anything it started (it leads its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def run_module(
    module: str,
    mode: str,
    *,
    test_timeout: float,
    module_timeout: float,
    log: IO[bytes] | None = None,
    only: Sequence[str] | None = None,
) -> RunResult:
    """Run ``module`` under ``mode`` in child processes.

    A test that shows no progress for ``test_timeout`` seconds is recorded as
    a timeout; its child is killed and a new child runs the tests not yet
    run. When ``module_timeout`` is exceeded, the tests not run are missing.
    With ``only`` (full test ids), just those tests are run.
    """
    started = time.monotonic()
    tests: dict[str, dict[str, Any]] = {}
    attempted: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="loopkit-conformance-") as tmp:
        out_path = os.path.join(tmp, "results.jsonl")
        selection_path = os.path.join(tmp, "selection.json")
        open(out_path, "w").close()
        offset = 0
        while True:
            with open(selection_path, "w", encoding="utf-8") as selection_file:
                selection = {
                    "skip": sorted(attempted),
                    "only": None if only is None else list(only),
                }
                json.dump(selection, selection_file)
            command = [
                sys.executable,
                "-m",
                "loopkit.tools.conformance_child",
                module,
                "--mode",
                mode,
                "--out",
                out_path,
                "--selection",
                selection_path,
            ]
            output_path = os.path.join(tmp, "child.log")
            with open(output_path, "wb") as output:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                done, hung, running, offset = _follow(
                    process,
                    out_path,
                    offset,
                    tests,
                    attempted,
                    started,
                    test_timeout,
                    module_timeout,
                )
            with open(output_path, "rb") as output:
                child_output = output.read()
            if log is not None:
                log.write(child_output)
                log.flush()
            if done:
                return RunResult(module, mode, tests, time.monotonic() - started, True)
            if running is not None:
                why = TIMEOUT if hung else ERROR
                text = "no progress, killed" if hung else f"child died (exit {process.returncode})"
                tests[running] = {"id": running, "status": why, "summary": [text]}
            over_budget = time.monotonic() - started > module_timeout
            if running is None or over_budget:
                if over_budget:
                    note = "module time budget exceeded"
                elif hung:
                    note = "no progress outside any test, killed"
                else:
                    note = f"child ended early (exit {process.returncode})"
                tail = [line for line in child_output.decode(errors="replace").splitlines() if line]
                if tail and not over_budget:
                    note += ": " + " | ".join(tail[-3:])[:400]
                return RunResult(module, mode, tests, time.monotonic() - started, False, note)


def _follow(
    process: subprocess.Popen[bytes],
    out_path: str,
    offset: int,
    tests: dict[str, dict[str, Any]],
    attempted: set[str],
    started: float,
    test_timeout: float,
    module_timeout: float,
) -> tuple[bool, bool, str | None, int]:
    """Collect a child's results until it exits or stalls (then it is killed).

    Returns (finished normally, killed for no progress, test running at the
    end or None, new offset in the results file).
    """
    running: str | None = None
    last_progress = time.monotonic()
    done = False
    while True:
        exited = process.poll() is not None
        records, offset = _read_records(out_path, offset)
        for record in records:
            last_progress = time.monotonic()
            if record["event"] == "start":
                running = record["id"]
                attempted.add(running)
            elif record["event"] == "result":
                record.pop("event")
                tests[record["id"]] = record
                if record["id"] == running:
                    running = None
            elif record["event"] == "done":
                done = True
        if exited:
            return done, False, running, offset
        now = time.monotonic()
        if now - started > module_timeout or now - last_progress > test_timeout:
            _kill_group(process)
            return done, True, running, offset
        time.sleep(0.2)


# ----------------------------------------------------------------------
# Comparison and the expected-differences file
# ----------------------------------------------------------------------


@dataclasses.dataclass
class Difference:
    """A test that passes under asyncio and does not under loopkit."""

    test_id: str
    asyncio_status: str
    loopkit_status: str
    summary: list[str]
    full_id: str = ""


def compare(asyncio_run: RunResult, loopkit_run: RunResult) -> list[Difference]:
    """Every test passing under asyncio that does not pass under loopkit."""
    differences = []
    for test_id, record in sorted(asyncio_run.tests.items()):
        if record["status"] != PASS:
            continue
        other = loopkit_run.tests.get(test_id, {"status": MISSING, "summary": ["not run"]})
        if other["status"] != PASS:
            differences.append(
                Difference(short_id(test_id), PASS, other["status"], other["summary"], test_id)
            )
    return differences


class ExpectedEntries(dict[str, str]):
    """Expected differences, test id -> reason, and the ids that may go either way.

    An entry written ``~test_id  # reason`` is in :attr:`either_way`: the
    test races with something loopkit does on purpose (a helper thread), so
    it may pass or fail from one run to the next. A failure is expected and
    a pass is not stale.
    """

    def __init__(self) -> None:
        super().__init__()
        self.either_way: set[str] = set()


def parse_expected(text: str, version: tuple[int, int]) -> ExpectedEntries:
    """Entries of an expected-differences file that apply to ``version``.

    Sections ``[all]`` and ``[3.X]`` say which versions the entries after
    them apply to (``[all]`` is assumed before the first header). An entry is
    ``test_id  # reason``, or ``~test_id  # reason`` for a test that may pass
    or fail (see :class:`ExpectedEntries`); the reason is required.
    """
    entries = ExpectedEntries()
    applies = True
    wanted = f"{version[0]}.{version[1]}"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            names = {name.strip() for name in line[1:-1].split(",")}
            applies = "all" in names or wanted in names
            continue
        test_id, sep, reason = line.partition("#")
        if not sep or not reason.strip() or not test_id.strip():
            raise ValueError(f"line {number}: expected 'test_id  # reason', got {raw!r}")
        if applies:
            test_id = test_id.strip()
            if test_id.startswith("~"):
                test_id = test_id[1:].strip()
                entries.either_way.add(test_id)
            entries[test_id] = reason.strip()
    return entries


def check_expected(
    differences: dict[str, list[Difference]], expected: dict[str, str]
) -> tuple[list[Difference], list[str]]:
    """(differences not in ``expected``, entries of the modules run that no longer differ).

    An entry that may go either way is never stale.
    """
    found = {d.test_id for diffs in differences.values() for d in diffs}
    either_way: set[str] = getattr(expected, "either_way", set())
    unexpected = [d for diffs in differences.values() for d in diffs if d.test_id not in expected]
    stale = sorted(
        test_id
        for test_id in expected
        if test_id.split(".", 1)[0] in differences
        and test_id not in found
        and test_id not in either_way
    )
    return unexpected, stale


# ----------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------


def _format_totals(totals: dict[str, int]) -> str:
    return (
        f"run {totals['run']:4d}  pass {totals['pass']:4d}  "
        f"fail {totals['fail']:3d}  skip {totals['skip']:3d}"
    )


def confirm(
    differences: list[Difference], rerun: RunResult
) -> tuple[list[Difference], list[Difference]]:
    """Split ``differences`` into (confirmed, flaky) by a rerun of just those tests.

    A test that passes under loopkit when run again on its own is flaky, not
    a difference: it is reported, but does not fail the gate.
    """
    confirmed: list[Difference] = []
    flaky: list[Difference] = []
    for diff in differences:
        again = rerun.tests.get(diff.full_id, {}).get("status")
        (flaky if again == PASS else confirmed).append(diff)
    return confirmed, flaky


def _cause(diff: Difference) -> str:
    """The exception line of a difference, with where it was raised."""
    first = diff.summary[0][:120] if diff.summary else "?"
    where = next((line for line in diff.summary[1:] if line.startswith("at ")), "")
    return f"[{diff.loopkit_status}] {first} {where}".rstrip()


def _causes(diffs: list[Difference]) -> list[tuple[int, str]]:
    """Differences grouped by cause, most common first."""
    counts = collections.Counter(_cause(diff) for diff in diffs)
    return [(count, cause) for cause, count in counts.most_common()]


def all_modules() -> list[str]:
    """Every ``test_*`` module of the running Python's test_asyncio package."""
    import importlib
    import pkgutil

    package = importlib.import_module(PACKAGE)
    return sorted(
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.startswith("test_")
    )


def _report(
    module: str,
    runs: dict[str, RunResult],
    diffs: list[Difference],
    flaky: list[Difference],
    out: TextIO,
    *,
    list_tests: bool = True,
) -> dict[str, Any]:
    a_totals, l_totals = runs["asyncio"].totals(), runs["loopkit"].totals()
    out.write(f"\n== {module}\n")
    out.write(f"   asyncio: {_format_totals(a_totals)}   ({runs['asyncio'].seconds:.1f}s)\n")
    out.write(
        f"   loopkit: {_format_totals(l_totals)}   ({runs['loopkit'].seconds:.1f}s; "
        f"{l_totals['loopkit_loops']} tests made a loopkit loop)\n"
    )
    for run in runs.values():
        if not run.complete:
            out.write(f"   ! {run.mode} run incomplete: {run.note}\n")
    out.write(f"   differences: {len(diffs)}\n")
    if list_tests:
        for diff in diffs:
            out.write(f"   - {diff.test_id}  [{diff.loopkit_status}]\n")
            for line in diff.summary:
                out.write(f"       {line}\n")
    if len(diffs) > 5 or (diffs and not list_tests):
        out.write("   by cause:\n")
        for count, cause in _causes(diffs)[:10]:
            out.write(f"   {count:5d}  {cause[:200]}\n")
    for diff in flaky:
        out.write(f"   ~ flaky (failed, then passed alone): {diff.test_id}\n")
    loopkit_only = sorted(
        short_id(test_id)
        for test_id, record in runs["loopkit"].tests.items()
        if record["status"] == PASS and runs["asyncio"].tests.get(test_id, {}).get("status") != PASS
    )
    for test_id in loopkit_only:
        out.write(f"   + passes only under loopkit: {test_id}\n")
    return {
        "asyncio": {**a_totals, "seconds": round(runs["asyncio"].seconds, 2)},
        "loopkit": {**l_totals, "seconds": round(runs["loopkit"].seconds, 2)},
        "complete": all(run.complete for run in runs.values()),
        "differences": [dataclasses.asdict(d) for d in diffs],
        "flaky": [d.test_id for d in flaky],
        "loopkit_only_passes": loopkit_only,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m loopkit.tools.conformance``."""
    parser = argparse.ArgumentParser(
        prog="python -m loopkit.tools.conformance",
        description="Run test.test_asyncio modules under asyncio and under loopkit; compare.",
    )
    parser.add_argument("modules", nargs="*", help="test_asyncio modules (default: test_futures)")
    parser.add_argument("--all", action="store_true", help="every test_asyncio module")
    parser.add_argument("--expected", help="expected-differences file: fail on any change")
    parser.add_argument("--json", dest="json_out", help="write the full results here as JSON")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="child processes at once")
    parser.add_argument("--test-timeout", type=float, default=60.0, help="seconds per test")
    parser.add_argument("--module-timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--log", help="append the children's output to this file")
    parser.add_argument(
        "--no-rerun",
        dest="rerun",
        action="store_false",
        help="do not rerun differing tests alone to tell flaky ones apart",
    )
    parser.add_argument(
        "--totals-only",
        action="store_true",
        help="list causes, not every differing test",
    )
    args = parser.parse_args(argv)

    known = all_modules()
    modules = known if args.all else (args.modules or ["test_futures"])
    unknown = [module for module in modules if module not in known]
    if unknown:
        parser.error(
            f"no module {', '.join(unknown)} in {PACKAGE} of Python "
            f"{sys.version.split()[0]}; valid: {', '.join(known)}"
        )
    version = sys.version_info[:2]
    expected: dict[str, str] | None = None
    if args.expected:
        with open(args.expected, encoding="utf-8") as expected_file:
            try:
                expected = parse_expected(expected_file.read(), version)
            except ValueError as exc:
                parser.error(f"{args.expected}: {exc}")

    started = time.monotonic()
    log = open(args.log, "ab") if args.log else None  # noqa: SIM115 - shared by the threads
    try:
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            jobs = {
                (module, mode): pool.submit(
                    run_module,
                    module,
                    mode,
                    test_timeout=args.test_timeout,
                    module_timeout=args.module_timeout,
                    log=log,
                )
                for module in modules
                for mode in MODES
            }
            runs = {key: job.result() for key, job in jobs.items()}
    finally:
        if log is not None:
            log.close()

    out = sys.stdout
    out.write(f"loopkit conformance on Python {sys.version.split()[0]}\n")
    report: dict[str, Any] = {"python": sys.version.split()[0], "modules": {}}
    differences: dict[str, list[Difference]] = {}
    broken = False
    for module in modules:
        pair = {mode: runs[(module, mode)] for mode in MODES}
        found = compare(pair["asyncio"], pair["loopkit"])
        flaky: list[Difference] = []
        if found and args.rerun:
            rerun = run_module(
                module,
                "loopkit",
                test_timeout=args.test_timeout,
                module_timeout=args.module_timeout,
                only=[diff.full_id for diff in found],
            )
            found, flaky = confirm(found, rerun)
        differences[module] = found
        report["modules"][module] = _report(
            module, pair, found, flaky, out, list_tests=not args.totals_only
        )
        if not pair["asyncio"].tests:
            broken = True
            out.write(f"   ! the asyncio run of {module} produced no result\n")
    elapsed = time.monotonic() - started
    total = sum(len(diffs) for diffs in differences.values())
    out.write(f"\n{total} differences in {len(modules)} modules; {elapsed:.1f}s\n")
    report["seconds"] = round(elapsed, 2)

    status = 2 if broken else 0
    if expected is not None:
        unexpected, stale = check_expected(differences, expected)
        report["unexpected"] = [d.test_id for d in unexpected]
        report["stale"] = stale
        for diff in unexpected:
            out.write(f"UNEXPECTED difference: {diff.test_id} [{diff.loopkit_status}]\n")
        for test_id in stale:
            out.write(f"STALE expected entry (no longer differs): {test_id}\n")
        if unexpected or stale:
            status = max(status, 1)
        else:
            out.write("all differences are expected\n")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as json_file:
            json.dump(report, json_file, indent=2)
    return status


if __name__ == "__main__":
    sys.exit(main())
