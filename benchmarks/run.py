"""Run loopkit's benchmarks against asyncio and uvloop, in one run.

Usage::

    python benchmarks/run.py [--repeats N] [--quick] [--only NAME[,NAME]]
                             [--group GROUP[,GROUP]] [--loops loopkit,asyncio,uvloop]
                             [--markdown FILE] [--json FILE] [--clock wall|cpu]
                             [--gc-freeze] [--list] [--chart PNG] [--report DIR]

Every (scenario, loop, repeat) is measured in its own fresh process (see
``worker.py``), interleaved: for each repeat, every scenario runs on every
loop before the next repeat starts, with the loop order rotated between
repeats, so that a noisy neighbour slows all loops alike. The table gives
the median and the min..max range per loop, and each loop's speed relative
to asyncio's (ratio > 1: faster than asyncio). Progress goes to stderr, the
report to stdout. This script never asserts anything about the numbers.

``--report DIR`` writes, in one go, what the docs' performance page uses:
the report, its tables alone (Markdown, included by ``docs/performance.rst``),
every sample as JSON, and the PNG chart of the ratios (``chart.py``).

Transport scenarios (tcp, tls, unix, udp, http) always report the server's CPU
time per request, whatever ``--clock`` says, and add a throughput table
(requests per wall-clock second).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import loops
from benchmarks.report import (
    Measurement,
    baseline_table,
    main_table,
    throughput_table,
    user_cpu_table,
)
from benchmarks.scenarios import Scenario, load_all

WORKER = Path(__file__).resolve().parent / "worker.py"

#: A measurement is sized for well under a second even on a crowded machine;
#: one that has not finished after this long is hung (a lost wake-up, say),
#: and is reported as an error instead of stalling the whole run.
WORKER_TIMEOUT = 60.0

#: ``--group`` names beyond the scenario families themselves.
CORE_FAMILIES = frozenset({"callbacks", "lifecycle", "methods", "tasks", "timers"})
GROUP_HELP = "core (the loop-internal families), transport (everything else), or a family"


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="loopkit vs asyncio vs uvloop: medians and ratios from one interleaved run.",
    )
    parser.add_argument("--repeats", type=int, default=5, help="measurements per pair (5)")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (a smoke run; numbers are rough)"
    )
    parser.add_argument("--only", type=_split, default=None, help="scenario names, comma-separated")
    parser.add_argument(
        "--group", type=_split, default=None, help=f"scenario groups, comma-separated: {GROUP_HELP}"
    )
    parser.add_argument(
        "--loops",
        type=_split,
        default=None,
        help="loops, comma-separated (default: asyncio,loopkit and uvloop when importable)",
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write the report here")
    parser.add_argument("--json", type=Path, default=None, help="write every sample here")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: elapsed time (default); cpu: the process's CPU time, which leaves out "
        "the time it sat descheduled: steadier on a crowded machine",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() what start-up left alive, so that full collections do not also "
        "scan each loop library's import-time objects (a small-heap artefact)",
    )
    parser.add_argument(
        "--malloc-tuned",
        action="store_true",
        help="fix glibc's malloc thresholds in every worker (asyncio's best case: its "
        "recv(262144) reads then stay off mmap/mremap/munmap; see docs/performance.rst)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--chart", type=Path, default=None, help="with --json: also draw the ratios (chart.py)"
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="DIR",
        help="write everything the docs use into DIR: the report (benchmarks-pyXY.md), "
        "its tables alone (benchmarks-pyXY-tables.md.inc), every sample (benchmarks-pyXY.json) "
        "and the chart (ratios-pyXY.png); XY is this Python's version",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.tables = None
    if args.report is not None:
        paths = report_paths(args.report, args.malloc_tuned)
        args.markdown = args.markdown or paths["markdown"]
        args.json = args.json or paths["json"]
        args.chart = args.chart or paths["chart"]
        args.tables = paths["tables"]
    if args.chart is not None and args.json is None:
        parser.error("--chart draws from the --json file: give both")
    if args.chart is not None and importlib.util.find_spec("matplotlib") is None:
        # Found out now, not after the whole run.
        parser.error("the chart needs matplotlib: pip install -e '.[benchmarks]'")
    return args


def report_paths(directory: Path, malloc_tuned: bool = False) -> dict[str, Path]:
    """The files ``--report DIR`` writes, named after this Python (``-py311``),
    and after the allocator setting (``-py311-malloc-tuned``) so that the two
    views of one machine sit side by side."""
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    if malloc_tuned:
        tag += "-malloc-tuned"
    return {
        "markdown": directory / f"benchmarks-{tag}.md",
        "tables": directory / f"benchmarks-{tag}-tables.md.inc",
        "json": directory / f"benchmarks-{tag}.json",
        "chart": directory / f"ratios-{tag}.png",
    }


def _in_group(scenario: Scenario, group: str) -> bool:
    if group == "core":
        return scenario.family in CORE_FAMILIES
    if group == "transport":
        return scenario.family not in CORE_FAMILIES
    return scenario.family == group


def _choose_scenarios(
    only: list[str] | None, groups: list[str] | None, known: dict[str, Scenario]
) -> list[Scenario]:
    """``--only`` names, plus the members of each ``--group``; all if neither is given."""
    if only is None and groups is None:
        return list(known.values())
    unknown = [name for name in only or () if name not in known]
    if unknown:
        raise SystemExit(
            f"unknown scenario(s): {', '.join(unknown)}; known scenarios: {', '.join(known)}"
        )
    families = sorted({scenario.family for scenario in known.values()})
    bad = [g for g in groups or () if g not in ("core", "transport") and g not in families]
    if bad:
        raise SystemExit(
            f"unknown group(s): {', '.join(bad)}; known groups: core, transport, "
            f"{', '.join(families)}"
        )
    wanted = set(only or ())
    return [
        scenario
        for scenario in known.values()
        if scenario.name in wanted or any(_in_group(scenario, g) for g in groups or ())
    ]


def _choose_loops(requested: list[str] | None) -> tuple[list[str], list[str]]:
    """The loops to run (in table order) and notes about skipped ones."""
    notes: list[str] = []
    if requested is None:
        chosen = []
        for name in loops.LOOP_NAMES:
            if loops.is_available(name):
                chosen.append(name)
            else:
                notes.append(f"{name} is not importable here and was skipped")
        return chosen, notes
    for name in requested:
        if name not in loops.LOOP_NAMES:
            raise SystemExit(f"unknown loop {name!r}; known loops: {', '.join(loops.LOOP_NAMES)}")
        if not loops.is_available(name):
            raise SystemExit(f"loop {name!r} was asked for but cannot be imported here")
    ordered = [name for name in loops.LOOP_NAMES if name in requested]
    return ordered, notes


#: glibc allocator settings for ``--malloc-tuned``. With the default dynamic
#: thresholds, a 256 KiB ``bytes`` (asyncio reads with ``recv(262144)``) may
#: be mmap'ed, shrunk with mremap and munmap'ed on every read, for the life of
#: a process or never, depending on its allocation history. Fixing the
#: thresholds takes that out of the comparison for every loop alike.
MALLOC_TUNED_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "1048576",
    "MALLOC_TRIM_THRESHOLD_": "4194304",
    "MALLOC_TOP_PAD_": "1048576",
}


def _measure(scenario: Scenario, loop_name: str, options: Sequence[str]) -> dict[str, Any]:
    """Run one worker process; return its record, or raise RuntimeError.

    The record holds ``skipped`` (the reason) instead of numbers when the
    scenario cannot run on that loop.
    """
    command = [sys.executable, str(WORKER), scenario.name, loop_name, *options]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=WORKER_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"no result after {WORKER_TIMEOUT:.0f} s: hung?") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise RuntimeError(detail[0])
    record: dict[str, Any] = json.loads(lines[-1])
    return record


def _header(args: argparse.Namespace, loop_names: Sequence[str], notes: Sequence[str]) -> list[str]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = ", ".join(f"{name} {loops.version(name)}" for name in loop_names)
    lines = [
        "# loopkit benchmarks",
        "",
        f"- {now}; Python {platform.python_version()} ({platform.python_implementation()}) "
        f"on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        f"- loops: {versions}",
        f"- {args.repeats} repeat(s), {'quick' if args.quick else 'full'} sizes, "
        f"{args.clock} clock{', start-up objects gc-frozen' if args.gc_freeze else ''}"
        f"{', glibc malloc thresholds fixed (--malloc-tuned)' if args.malloc_tuned else ''}, "
        "one fresh process per measurement, interleaved",
        "- cells: median (min..max) over repeats; ratios: median vs asyncio's median, "
        "> 1 means better than asyncio (for costs such as µs/request: less than asyncio's), "
        "then (lowest..highest) of the per-repeat ratios (each repeat's value against "
        "asyncio's in the same repeat)",
    ]
    lines.extend(f"- note: {note}" for note in notes)
    return lines


class Collected:
    """Everything one run measured: per-pair values, failures, raw records."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, str], list[Measurement]] = {}
        self.errors: dict[tuple[str, str], str] = {}
        self.skipped: dict[tuple[str, str], str] = {}
        self.records: list[dict[str, Any]] = []


def _to_measurement(
    scenario: Scenario, record: dict[str, Any], clock: str, repeat: int | None = None
) -> Measurement:
    """The reported value of a worker record, on the chosen clock."""
    seconds = record["seconds"]
    base_seconds = record.get("baseline_seconds")
    if (clock == "cpu" or scenario.cpu_metric) and record.get("cpu_seconds") is not None:
        seconds = record["cpu_seconds"]
        base_seconds = record.get("baseline_cpu_seconds", base_seconds)
    value = scenario.value(record["ops"], seconds)
    baseline = scenario.value(record["ops"], base_seconds) if base_seconds is not None else None
    throughput = None
    if scenario.throughput_unit is not None:
        throughput = record["ops"] / record["seconds"]
    user_cost = None
    if record.get("user_cpu_seconds") is not None:
        user_cost = scenario.value(record["ops"], record["user_cpu_seconds"])
    return Measurement(value, baseline, throughput, user_cost, repeat)


def _run_all(
    scenarios: Sequence[Scenario],
    loop_names: list[str],
    repeats: int,
    worker_options: Sequence[str],
    clock: str,
) -> Collected:
    """Every (repeat, scenario, loop), interleaved, loop order rotating per repeat."""
    collected = Collected()
    total = repeats * len(scenarios) * len(loop_names)
    step = 0
    for repeat in range(repeats):
        shift = repeat % len(loop_names)
        order = loop_names[shift:] + loop_names[:shift]
        for scenario in scenarios:
            for loop_name in order:
                step += 1
                key = (scenario.name, loop_name)
                if key in collected.errors or key in collected.skipped:
                    continue
                progress = f"[{step}/{total}] repeat {repeat + 1}: {scenario.name} on {loop_name}"
                try:
                    record = _measure(scenario, loop_name, worker_options)
                except RuntimeError as exc:
                    collected.errors[key] = str(exc)
                    print(f"{progress}: ERROR {exc}", file=sys.stderr)
                    continue
                if "skipped" in record:
                    collected.skipped[key] = record["skipped"]
                    print(f"{progress}: skipped: {record['skipped']}", file=sys.stderr)
                    continue
                measurement = _to_measurement(scenario, record, clock, repeat)
                collected.results.setdefault(key, []).append(measurement)
                collected.records.append(
                    {
                        **record,
                        "repeat": repeat,
                        "value": measurement.value,
                        "baseline": measurement.baseline,
                        "throughput": measurement.throughput,
                        "user_cost": measurement.user_cost,
                    }
                )
                print(f"{progress}: {measurement.value:,.1f} {scenario.unit}", file=sys.stderr)
    return collected


def _tables(scenarios: Sequence[Scenario], loop_names: list[str], run: Collected) -> list[str]:
    """The main table, the throughput table, and what was skipped or failed.

    This is what the docs include (``--report``): everything needed to read
    the comparison, nothing about the particular run's machine.
    """
    results, errors, skipped = run.results, run.errors, run.skipped
    lines = main_table(scenarios, loop_names, results, loops.REFERENCE, errors, skipped)
    rates = throughput_table(scenarios, loop_names, results, loops.REFERENCE, errors, skipped)
    if rates:
        lines += [
            "",
            "Throughput of the transport scenarios, per wall-clock second (the load "
            "generator shares the machine, so this swings more than server CPU time):",
            "",
            *rates,
        ]
    if skipped:
        lines += ["", "Skipped:", ""]
        lines += [f"- {name} on {loop}: {reason}" for (name, loop), reason in skipped.items()]
    if errors:
        lines += ["", "Errors:", ""]
        lines += [f"- {name} on {loop}: {message}" for (name, loop), message in errors.items()]
    return lines


def _extra_tables(
    scenarios: Sequence[Scenario], loop_names: list[str], run: Collected
) -> list[str]:
    """The user-mode CPU table and the method-call table (the full report only)."""
    results, errors, skipped = run.results, run.errors, run.skipped
    lines: list[str] = []
    user = user_cpu_table(scenarios, loop_names, results, loops.REFERENCE, errors, skipped)
    if user:
        lines += [
            "",
            "The user-mode part of the server's CPU time (the rest is system time: "
            "system calls, and on loopback much of the peer's network stack too). "
            "The OS splits user from system time by sampling at its clock tick, so "
            "this is coarser than the total above; read it for where the time goes:",
            "",
            *user,
        ]
    extra = baseline_table(scenarios, loop_names, results)
    if extra:
        lines += [
            "",
            "Method-call cost: the same method on a plain Python class, same process "
            "(loop/plain ~ 1.00x means it costs what a plain method call costs):",
            "",
            *extra,
        ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    known = load_all()
    if args.list:
        for scenario in known.values():
            print(f"{scenario.name:24} {scenario.family:10} {scenario.description}")
        return 0
    scenarios = _choose_scenarios(args.only, args.group, known)
    loop_names, notes = _choose_loops(args.loops)
    if not loop_names:
        raise SystemExit("no loop to benchmark")

    if args.malloc_tuned:
        os.environ.update(MALLOC_TUNED_ENV)  # inherited by every worker and load generator
    started = time.monotonic()
    worker_options = [
        *(["--quick"] if args.quick else []),
        *(["--gc-freeze"] if args.gc_freeze else []),
    ]
    collected = _run_all(scenarios, loop_names, args.repeats, worker_options, args.clock)
    errors, skipped = collected.errors, collected.skipped

    tables = _tables(scenarios, loop_names, collected)
    lines = [*_header(args, loop_names, notes), "", *tables]
    extra = _extra_tables(scenarios, loop_names, collected)
    lines += extra
    lines += ["", f"Total wall time: {time.monotonic() - started:.0f} s"]
    report = "\n".join(lines) + "\n"
    sys.stdout.write(report)
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report)
    if args.tables is not None:
        args.tables.write_text("\n".join(tables) + "\n")
    if args.json is not None:
        payload = {
            "python": platform.python_version(),
            "loops": {name: loops.version(name) for name in loop_names},
            "repeats": args.repeats,
            "quick": args.quick,
            "clock": args.clock,
            "gc_freeze": args.gc_freeze,
            "malloc_tuned": args.malloc_tuned,
            "samples": collected.records,
            "errors": [{"scenario": s, "loop": lp, "error": m} for (s, lp), m in errors.items()],
            "skipped": [{"scenario": s, "loop": lp, "reason": m} for (s, lp), m in skipped.items()],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if args.chart is not None:
        from benchmarks.chart import chart_from_payload

        chart_from_payload(json.loads(args.json.read_text()), args.chart)
    if args.report is not None:
        print(f"report written to {args.report}/", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
