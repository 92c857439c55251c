"""Take one measurement in a fresh process and print it as one JSON line.

Usage (the runner does this; run it by hand to debug a scenario)::

    python benchmarks/worker.py SCENARIO LOOP [--quick | --size N]

``--profile`` runs the measurement under cProfile and prints the busiest
functions to stderr (the timing is then inflated; use it to see where the
time goes, not how much there is). For the echo scenarios only the measured
window is profiled. ``--profile-timer cpu`` charges functions with this
process's CPU time instead of wall time, so that time spent descheduled
(waiting in a system call for the load generator, or for a neighbour to
leave the CPU) is not counted; ``--profile-lines N`` sets how many rows.

A worker measures exactly one (scenario, loop) pair, so no measurement
inherits another's heap, caches or threads. It never prints anything else
to stdout. A scenario that cannot run on this loop (a plugin it needs is
missing) prints ``{"skipped": "why"}`` instead of a measurement.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import loops
from benchmarks.scenarios import Skipped, _echo, load_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("loop", choices=loops.LOOP_NAMES)
    parser.add_argument("--quick", action="store_true", help="use the small size")
    parser.add_argument(
        "--size", type=int, default=None, help="run this many units instead of the full size"
    )
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary to stderr")
    parser.add_argument(
        "--profile-timer",
        choices=("wall", "cpu"),
        default="wall",
        help="the profiler's clock: wall (default) or this process's CPU time",
    )
    parser.add_argument("--profile-lines", type=int, default=25, help="rows of the profile")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="move everything alive after start-up (imports, first loop) out of the GC's sight",
    )
    args = parser.parse_args(argv)
    scenarios = load_all()
    if args.scenario not in scenarios:
        parser.error(f"unknown scenario {args.scenario!r}; known: {', '.join(scenarios)}")
    chosen = scenarios[args.scenario]
    size = chosen.quick_size if args.quick else chosen.size
    if args.size is not None:
        if args.size < 1:
            parser.error(f"--size must be at least 1, got {args.size}")
        size = args.size
    new_loop = loops.factory(args.loop)
    if args.gc_freeze:
        # One loop made and closed first, so lazily imported modules and
        # loopkit's cached assembly are part of what is frozen.
        new_loop().close()
        gc.collect()
        gc.freeze()
    try:
        if args.profile:
            timer = time.process_time if args.profile_timer == "cpu" else time.perf_counter
            profiler = cProfile.Profile(timer)
            if chosen.throughput_unit is not None:
                # An echo scenario: the profiler runs inside the measured window.
                _echo.window_profiler = profiler
                sample = chosen.measure(new_loop, size)
            else:
                sample = profiler.runcall(chosen.measure, new_loop, size)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(args.profile_lines)
        else:
            sample = chosen.measure(new_loop, size)
    except Skipped as exc:
        print(json.dumps({"scenario": chosen.name, "loop": args.loop, "skipped": str(exc)}))
        return 0
    record = {
        "scenario": chosen.name,
        "loop": args.loop,
        "ops": sample.ops,
        "seconds": sample.seconds,
        "baseline_seconds": sample.baseline_seconds,
        "cpu_seconds": sample.cpu_seconds,
        "baseline_cpu_seconds": sample.baseline_cpu_seconds,
        "user_cpu_seconds": sample.user_cpu_seconds,
    }
    if sample.all_ops is not None:
        record["all_ops"] = sample.all_ops
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
