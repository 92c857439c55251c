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

``--top N`` also lists the N C-level functions whose per-unit count differs
most (``_PyEval_EvalFrameDefault`` is the Python bytecode the loop and the
scenario run). Needs valgrind (``apt install valgrind``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WORKER = Path(__file__).resolve().parent / "worker.py"
DEFAULT_LOOPS = ("asyncio", "loopkit", "uvloop")
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


def per_unit(small: int, large: int, small_size: int, large_size: int) -> float:
    """Instructions per unit of work between two runs."""
    return (large - small) / (work_units(large_size) - work_units(small_size))


def _run(scenario: str, loop: str, size: int, out: Path) -> int:
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
    return collected(done.stderr)


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
        "--sizes", type=int, nargs=2, default=(2000, 6000), metavar=("SMALL", "LARGE")
    )
    parser.add_argument("--top", type=int, default=0, help="list the N costliest functions")
    args = parser.parse_args(argv)
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
                small = _run(args.scenario, loop, small_size, outs[0])
                large = _run(args.scenario, loop, large_size, outs[1])
            except RuntimeError as exc:
                print(f"  {loop:8} not measured: {exc}")
                continue
            print(f"  {loop:8} {per_unit(small, large, small_size, large_size):>12,.0f}")
            if args.top:
                before, after = _functions(outs[0]), _functions(outs[1])
                units = work_units(large_size) - work_units(small_size)
                delta = {
                    name: (after.get(name, 0) - before.get(name, 0)) / units
                    for name in before.keys() | after.keys()
                }
                for name, count in sorted(delta.items(), key=lambda item: -item[1])[: args.top]:
                    print(f"           {count:>10,.0f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
