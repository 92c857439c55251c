"""What the instruments plugin costs: nothing when off, something when on.

Usage::

    python benchmarks/instruments_cost.py [--repeats N] [--quick] [--clock wall|cpu]
                                          [--markdown FILE] [--rst FILE]

Runs the ``call_soon`` and ``sleep0_pingpong`` scenarios (the loop's two
hottest paths: running ready callbacks, and switching tasks) on asyncio's
loop, on loopkit's default loop and on a loopkit loop made with
``enable=["instruments"]``, each measurement in a fresh process, interleaved
with the order rotated between repeats, like ``run.py``. It also reports
whether each loopkit loop runs unobserved, on the kernel's one-frame run
path with the poller's own ``poll``: the default loop does (the plugin not
being enabled leaves no wrapper behind); the instrumented loop is observed.

The measurement is the scenario modules' own (``benchmarks/scenarios``), so
these numbers are comparable with the main runner's. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import summarize

SCENARIOS = ("call_soon", "sleep0_pingpong")
VARIANTS = ("asyncio", "loopkit", "loopkit+instruments")


def _factory(variant: str) -> Callable[[], Any]:
    if variant == "asyncio":
        import asyncio

        return asyncio.DefaultEventLoopPolicy().new_event_loop
    import loopkit

    if variant == "loopkit":
        return loopkit.new_event_loop
    if variant == "loopkit+instruments":
        return lambda: loopkit.new_event_loop(enable=["instruments"])
    raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")


def kernel_identity(variant: str) -> bool | None:
    """Whether ``variant``'s loops run unobserved (the kernel's own run path)."""
    if variant == "asyncio":
        return None
    from loopkit.plugin import services

    loop = _factory(variant)()
    try:
        return services(loop).observer is None
    finally:
        loop.close()


def child(variant: str, scenario_name: str, quick: bool) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    from benchmarks.scenarios import load_all

    scenario = load_all()[scenario_name]
    size = scenario.quick_size if quick else scenario.size
    sample = scenario.measure(_factory(variant), size)
    return {
        "variant": variant,
        "scenario": scenario_name,
        "ops": sample.ops,
        "wall": sample.seconds,
        "cpu": sample.cpu_seconds,
        "kernel_run_once": kernel_identity(variant),
    }


def _measure(variant: str, scenario: str, quick: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPKIT_")}
    command = [sys.executable, __file__, "--child", variant, scenario]
    done = subprocess.run(
        [*command, *(["--quick"] if quick else [])],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise RuntimeError(f"{scenario} on {variant}: {detail[0]}")
    record: dict[str, Any] = json.loads(lines[-1])
    return record


def _rate(record: dict[str, Any], clock: str) -> float:
    seconds = record[clock] if record.get(clock) is not None else record["wall"]
    return float(record["ops"]) / float(seconds)


def _si(value: float) -> str:
    for threshold, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.3g}"


def table_rows(records: Sequence[dict[str, Any]], clock: str) -> list[list[str]]:
    """Header, then per scenario: rates as median (min..max), then the two ratios."""
    rows = [
        [
            "scenario",
            *(f"`{v}`" for v in VARIANTS),
            "loopkit/asyncio",
            "instruments on/off",
        ]
    ]
    for scenario in SCENARIOS:
        medians: dict[str, float] = {}
        cells = [f"`{scenario}` (ops/s)"]
        for variant in VARIANTS:
            rates = [
                _rate(r, clock)
                for r in records
                if r["scenario"] == scenario and r["variant"] == variant
            ]
            if not rates:
                cells.append("n/a")
                continue
            summary = summarize(rates)
            medians[variant] = summary.median
            cells.append(f"{_si(summary.median)} ({_si(summary.low)}..{_si(summary.high)})")
        for top, bottom in (("loopkit", "asyncio"), ("loopkit+instruments", "loopkit")):
            if top in medians and bottom in medians:
                cells.append(f"{medians[top] / medians[bottom]:.2f}x")
            else:
                cells.append("n/a")
        rows.append(cells)
    return rows


def table(records: Sequence[dict[str, Any]], clock: str) -> list[str]:
    """The Markdown table."""
    header, *body = table_rows(records, clock)
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines.extend("| " + " | ".join(cells) + " |" for cells in body)
    return lines


def rst_table(records: Sequence[dict[str, Any]], clock: str) -> list[str]:
    """The same table as a reStructuredText list-table, for the documentation."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in table_rows(records, clock):
        first, *rest = (cell.replace("`", "``") for cell in cells)
        lines.append(f"   * - {first}")
        lines.extend(f"     - {cell}" for cell in rest)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/instruments_cost.py", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="measurements per pair (5)")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the report here")
    parser.add_argument("--rst", type=Path, default=None, help="write the table as RST here")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "SCENARIO"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child[0], args.child[1], args.quick)))
        return 0
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    records: list[dict[str, Any]] = []
    total = args.repeats * len(SCENARIOS) * len(VARIANTS)
    step = 0
    for repeat in range(args.repeats):
        shift = repeat % len(VARIANTS)
        order = VARIANTS[shift:] + VARIANTS[:shift]
        for scenario in SCENARIOS:
            for variant in order:
                step += 1
                record = _measure(variant, scenario, args.quick)
                records.append(record)
                print(
                    f"[{step}/{total}] {scenario} on {variant}: {_rate(record, args.clock):,.0f}/s",
                    file=sys.stderr,
                )

    identity = {
        v: next(r["kernel_run_once"] for r in records if r["variant"] == v) for v in VARIANTS
    }
    lines = [
        "# The instruments plugin's cost",
        "",
        f"- Python {platform.python_version()} on {platform.system()} {platform.machine()}; "
        f"{args.clock} clock; {args.repeats} repeat(s), {'quick' if args.quick else 'full'} "
        "sizes, one fresh process per measurement, interleaved; cells: median (min..max) ops/s",
        f"- `services(loopkit.new_event_loop()).observer is None`: {identity['loopkit']}",
        f"- `services(loopkit.new_event_loop(enable=['instruments'])).observer is None`: "
        f"{identity['loopkit+instruments']}",
        "",
        *table(records, args.clock),
    ]
    report = "\n".join(lines) + "\n"
    sys.stdout.write(report)
    if args.markdown is not None:
        args.markdown.write_text(report)
    if args.rst is not None:
        args.rst.write_text("\n".join(rst_table(records, args.clock)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
