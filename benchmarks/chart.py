"""Turn the runner's ``--json`` output into a bar chart and a table of ratios.

Usage::

    python benchmarks/run.py --clock cpu --json results.json
    python benchmarks/chart.py results.json --png ratios.png [--rst table.inc]
                                            [--title TEXT]

(``python benchmarks/run.py --chart ratios.png`` does both steps in one.)

For every scenario the chart shows each loop's speed relative to asyncio's
(median against asyncio's median; > 1 means faster, whatever the unit), with
a whisker from the lowest to the highest per-repeat ratio (each repeat's
value against asyncio's value in the same repeat: the runs are interleaved,
so the two saw the same machine), as horizontal bars on a logarithmic axis
so that 2x faster and 2x slower are the same distance from the line at 1.0.
A saved run is redrawn without measuring anything again::

    python benchmarks/chart.py docs/measured/benchmarks-py311.json \\
        --png docs/measured/ratios-py311.png

``--rst`` writes the same numbers as a reStructuredText table for the
documentation.

matplotlib is needed only for the PNG (it is in the ``benchmarks`` extra,
never a runtime dependency of loopkit). This module reads numbers; it never
runs a benchmark.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import format_number, paired_ratios, ratio_cell, speed_ratio
from benchmarks.scenarios import Scenario, load_all

REFERENCE = "asyncio"

#: Bar colours per loop (colour-blind-safe pair), others get matplotlib's cycle.
COLOURS = {"loopkit": "#0072B2", "uvloop": "#E69F00"}


@dataclass(frozen=True)
class Row:
    """One scenario's numbers: per-loop medians and ranges, ratios vs asyncio."""

    scenario: Scenario
    medians: dict[str, float]
    ranges: dict[str, tuple[float, float]]
    #: loop -> (ratio of the medians, lowest and highest ratio of one repeat's
    #: pair of values: see :func:`benchmarks.report.paired_ratios`)
    ratios: dict[str, tuple[float, float, float]]


def rows_from(payload: Mapping[str, Any], known: Mapping[str, Scenario]) -> list[Row]:
    """Group the payload's samples by scenario; skip failed or unknown pairs."""
    failed = {(e["scenario"], e["loop"]) for e in payload.get("errors", ())}
    values: dict[str, dict[str, dict[int, float]]] = {}
    for index, sample in enumerate(payload["samples"]):
        if (sample["scenario"], sample["loop"]) in failed:
            continue
        repeat = sample.get("repeat", index)
        per_loop = values.setdefault(sample["scenario"], {})
        per_loop.setdefault(sample["loop"], {})[repeat] = float(sample["value"])
    rows = []
    for name, per_loop in values.items():
        scenario = known.get(name)
        if scenario is None:
            print(f"chart: scenario {name!r} is not known here; left out", file=sys.stderr)
            continue
        medians = {loop: statistics.median(v.values()) for loop, v in per_loop.items()}
        ranges = {loop: (min(v.values()), max(v.values())) for loop, v in per_loop.items()}
        ratios: dict[str, tuple[float, float, float]] = {}
        reference = medians.get(REFERENCE)
        if reference is not None:
            for loop, median in medians.items():
                if loop == REFERENCE:
                    continue
                ratio = speed_ratio(scenario, reference, median)
                pairs = paired_ratios(
                    scenario.higher_is_better, per_loop[REFERENCE], per_loop[loop]
                ) or [ratio]
                ratios[loop] = (ratio, min(pairs), max(pairs))
        rows.append(Row(scenario, medians, ranges, ratios))
    return rows


def compared_loops(rows: Sequence[Row]) -> list[str]:
    """The loops compared against asyncio, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row.ratios))
    return list(seen)


#: The chart's size on a documentation page: the PNG is drawn at the width it
#: is shown at (about 900 px in a 1280 px browser window), so that a 10-point
#: label is about 14 px on screen, never scaled down to a few pixels.
WIDTH_INCHES = 9.0
DPI = 100
#: Height of one scenario's row of bars, and what the title, legend and axis need.
ROW_INCHES = 0.36
MARGIN_INCHES = 1.6
FONT_POINTS = 10


def write_png(rows: Sequence[Row], path: Path, title: str) -> None:
    """Horizontal bars of ratios vs asyncio, one row per scenario, log scale.

    Scenario names sit on the left, horizontally, where they are read
    without tilting the head; the bars grow from the line at 1.0 (right:
    faster than asyncio, left: slower), and the figure grows in height
    with the number of scenarios instead of shrinking its text.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda row: row.scenario.name)
    all_ratios = [r for row in rows for trio in row.ratios.values() for r in trio]
    low = min([0.5, *all_ratios]) * 0.8
    high = max([2.0, *all_ratios]) * 1.6
    with plt.rc_context({"font.size": FONT_POINTS}):
        figure, axes = plt.subplots(
            figsize=(WIDTH_INCHES, MARGIN_INCHES + ROW_INCHES * max(1, len(rows))),
            dpi=DPI,
        )
        _draw_bars(axes, rows, compared_loops(rows), (low, high))
        # Wrapped to the figure's width: a long title must not be cut off.
        axes.set_title(textwrap.fill(title, 90), fontsize=FONT_POINTS)
        axes.legend(loc="lower right", framealpha=0.95)
        figure.tight_layout()
        figure.savefig(path)
        plt.close(figure)


def _draw_bars(axes: Any, rows: Sequence[Row], others: Sequence[str], limits: Any) -> None:
    """Bars, whiskers, value labels and axes (``limits``: the ratio axis's range)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    height = 0.8 / max(1, len(others))
    for index, loop in enumerate(others):
        ys, medians, low_err, high_err, ends = [], [], [], [], []
        for position, row in enumerate(rows):
            # The first loop on top within its scenario's row.
            y = position - 0.4 + height * (index + 0.5)
            if loop not in row.ratios:
                axes.annotate("n/a", (1.0, y), ha="left", va="center", fontsize=FONT_POINTS - 2)
                continue
            median, low, high = row.ratios[loop]
            ys.append(y)
            medians.append(median)
            low_err.append(max(0.0, median - low))
            high_err.append(max(0.0, high - median))
            ends.append(high if median >= 1 else low)
        # Bars grow from the asyncio line: right when faster, left when slower.
        axes.barh(
            ys,
            [median - 1.0 for median in medians],
            left=1.0,
            height=height * 0.9,
            label=loop,
            color=COLOURS.get(loop),
            xerr=[low_err, high_err],
            capsize=2,
            error_kw={"elinewidth": 0.8, "ecolor": "#444444"},
        )
        for y, median, end in zip(ys, medians, ends, strict=True):
            axes.annotate(
                f"{median:.2f}",
                (end, y),
                textcoords="offset points",
                xytext=(3 if median >= 1 else -3, 0),
                ha="left" if median >= 1 else "right",
                va="center",
                fontsize=FONT_POINTS - 2,
            )
    axes.axvline(1.0, color="black", linewidth=1.0, label=f"{REFERENCE} (= 1.0)")
    axes.set_xscale("log")
    low, high = limits
    axes.set_xlim(low, high)
    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16) if low <= t <= high]
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([row.scenario.name for row in rows])
    axes.set_ylim(len(rows) - 0.5, -0.5)  # the first scenario at the top
    axes.set_xlabel(f"speed relative to {REFERENCE} (> 1: faster)")
    axes.grid(axis="x", linewidth=0.4, alpha=0.6)


def rst_table(rows: Sequence[Row], loop_names: Sequence[str]) -> list[str]:
    """A reStructuredText list-table: medians (min..max) per loop, then ratios."""
    others = [loop for loop in loop_names if loop != REFERENCE]
    header = ["scenario", "unit", *loop_names, *(f"{loop}/{REFERENCE}" for loop in others)]
    lines = [".. list-table::", "   :header-rows: 1", ""]
    body: list[list[str]] = [header]
    for row in rows:
        kind = row.scenario.kind
        cells = [f"``{row.scenario.name}``", row.scenario.unit]
        for loop in loop_names:
            if loop in row.medians:
                low, high = row.ranges[loop]
                cells.append(
                    f"{format_number(row.medians[loop], kind)} "
                    f"({format_number(low, kind)}..{format_number(high, kind)})"
                )
            else:
                cells.append("n/a")
        for loop in others:
            ratio = row.ratios.get(loop)
            cells.append(ratio_cell(ratio[0], ratio[1:]) if ratio else "n/a")
        body.append(cells)
    for cells in body:
        lines.append(f"   * - {cells[0]}")
        lines.extend(f"     - {cell}" for cell in cells[1:])
    return lines


def default_title(payload: Mapping[str, Any]) -> str:
    """Python version, loop versions, repeats and clock, from the payload."""
    versions = ", ".join(f"{name} {version}" for name, version in payload["loops"].items())
    tuned = "; glibc allocator thresholds fixed" if payload.get("malloc_tuned") else ""
    return (
        f"Python {payload['python']}; {versions}; "
        f"{payload['repeats']} repeats, {payload['clock']} clock{tuned}"
    )


def chart_from_payload(payload: Mapping[str, Any], png: Path, title: str | None = None) -> None:
    """What ``run.py --chart`` calls: the PNG straight from the run's payload."""
    rows = rows_from(payload, load_all())
    write_png(rows, png, title or default_title(payload))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks/chart.py",
        description="Bar chart (PNG) and RST table of ratios vs asyncio from run.py --json.",
    )
    parser.add_argument("results", type=Path, help="the file run.py --json wrote")
    parser.add_argument("--png", type=Path, default=None, help="write the chart here")
    parser.add_argument("--rst", type=Path, default=None, help="write an RST table here")
    parser.add_argument("--title", default=None, help="chart title (default: from the run)")
    args = parser.parse_args(argv)
    if args.png is None and args.rst is None:
        parser.error("nothing to do: give --png and/or --rst")
    payload = json.loads(args.results.read_text())
    rows = rows_from(payload, load_all())
    if not rows:
        raise SystemExit("no scenario in the results has a measurement")
    if args.png is not None:
        write_png(rows, args.png, args.title or default_title(payload))
    if args.rst is not None:
        args.rst.write_text("\n".join(rst_table(rows, list(payload["loops"]))) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
