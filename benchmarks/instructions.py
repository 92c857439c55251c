"""Count the instructions one unit of a scenario costs each loop, with callgrind.

Usage::

    python benchmarks/instructions.py SCENARIO [--loops asyncio,loopkit,uvloop]
        [--sizes SMALL LARGE] [--top N]

Timings on a shared machine swing by several per cent from run to run, which
hides the small steps a pure-Python loop is made faster by. Instruction
counts barely swing (benchmarks/README.md says when they do): this runs
``benchmarks/worker.py SCENARIO LOOP --size N`` under ``valgrind
--tool=callgrind`` at two sizes and divides the
difference of the totals by the difference of the work, so that start-up,
imports and warm-up set-up cancel out. What remains is the cost of one unit
(one callback, one task, one request on the server side: callgrind follows
only the worker, never the load generator it starts), in user-mode
instructions. System calls are not in it: for the transport scenarios read
it beside the CPU-time tables, not instead of them.

A scenario whose size is a duration (the wrk scenarios: seconds of load,
not a count of requests) reports how many operations its process made in
all (``all_ops``), warm-up included; the difference of those is the work
then, and the default sizes are 2 and 6 seconds. Under callgrind the server
runs some fifty times slower, so wrk's 32 connections get each answer
later, but every request is still one whole request.

``--top N`` also lists the N C-level functions whose per-unit count differs
most (``_PyEval_EvalFrameDefault`` is the Python bytecode the loop and the
scenario run). Needs valgrind (``apt install valgrind``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scenarios import load_all

WORKER = Path(__file__).resolve().parent / "worker.py"
DEFAULT_LOOPS = ("asyncio", "loopkit", "uvloop")
#: Default sizes for a scenario counted in units, and for one whose size is
#: a duration in seconds (its registered size is below DURATION_BELOW).
COUNTED_SIZES = (2000, 6000)
TIMED_SIZES = (2, 6)
DURATION_BELOW = 100
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
_ANNOTATED = re.compile(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)")


def work_units(size: int) -> int:
    """Units a worker run of ``size`` performs: the measured run plus its
    warm-up, a tenth of it (``on_fresh_loop`` and the echo sessions alike)."""
    return size + max(1, size // 10)


def collected(stderr: str) -> int:
    """The total instruction count callgrind printed on exit."""
    found = _COLLECTED.findall(stderr)
    if not found:
        raise RuntimeError(f"callgrind printed no total; its output ends with:\n{stderr[-2000:]}")
    return int(found[-1])


def per_function(annotated: str) -> dict[str, int]:
    """Instructions per function from ``callgrind_annotate`` output."""
    totals: dict[str, int] = {}
    for line in annotated.splitlines():
        match = _ANNOTATED.match(line)
        if match is None or "PROGRAM TOTALS" in match.group(2):
            continue
        name = match.group(2).split(" [")[0].rsplit(":", 1)[-1]
        totals[name] = totals.get(name, 0) + int(match.group(1).replace(",", ""))
    return totals


def per_unit(small: int, large: int, small_units: int, large_units: int) -> float:
    """Instructions per unit of work between two runs of that many units."""
    return (large - small) / (large_units - small_units)


def _run(scenario: str, loop: str, size: int, out: Path) -> tuple[int, int]:
    """(instructions, units of work) of one worker run under callgrind."""
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(WORKER),
        scenario,
        loop,
        f"--size={size}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{loop}: the worker failed under callgrind:\n{done.stderr[-2000:]}")
    if '"skipped"' in done.stdout:
        raise RuntimeError(f"{loop}: {done.stdout.strip()}")
    record = json.loads(done.stdout)
    return collected(done.stderr), record.get("all_ops") or work_units(size)


def _functions(path: Path) -> dict[str, int]:
    done = subprocess.run(
        ["callgrind_annotate", "--threshold=100", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return per_function(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--loops", default=",".join(DEFAULT_LOOPS))
    parser.add_argument(
        "--sizes",
        type=int,
        nargs=2,
        default=None,
        metavar=("SMALL", "LARGE"),
        help=f"default {COUNTED_SIZES}, or {TIMED_SIZES} seconds for the wrk scenarios",
    )
    parser.add_argument("--top", type=int, default=0, help="list the N costliest functions")
    args = parser.parse_args(argv)
    known = load_all()
    if args.scenario not in known:
        parser.error(f"unknown scenario {args.scenario!r}; known: {', '.join(known)}")
    if args.sizes is None:
        timed = known[args.scenario].size < DURATION_BELOW
        args.sizes = TIMED_SIZES if timed else COUNTED_SIZES
    small_size, large_size = args.sizes
    if not 0 < small_size < large_size:
        parser.error("--sizes needs 0 < SMALL < LARGE")
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt install valgrind)")
    print(
        f"{args.scenario}: user-mode instructions per unit"
        f" (callgrind, sizes {small_size} and {large_size})"
    )
    with tempfile.TemporaryDirectory() as scratch:
        for loop in args.loops.split(","):
            outs = (Path(scratch) / f"{loop}.small", Path(scratch) / f"{loop}.large")
            try:
                small, small_units = _run(args.scenario, loop, small_size, outs[0])
                large, large_units = _run(args.scenario, loop, large_size, outs[1])
            except RuntimeError as exc:
                print(f"  {loop:8} not measured: {exc}")
                continue
            if large_units <= small_units:
                print(f"  {loop:8} not measured: the larger run did no more work")
                continue
            count = per_unit(small, large, small_units, large_units)
            print(f"  {loop:8} {count:>12,.0f}   ({large_units - small_units} units apart)")
            if args.top:
                before, after = _functions(outs[0]), _functions(outs[1])
                units = large_units - small_units
                delta = {
                    name: (after.get(name, 0) - before.get(name, 0)) / units
                    for name in before.keys() | after.keys()
                }
                for name, count in sorted(delta.items(), key=lambda item: -item[1])[: args.top]:
                    print(f"           {count:>10,.0f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
