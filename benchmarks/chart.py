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
so the two saw the same machine), on a logarithmic axis so that 2x faster and 2x slower are
the same distance from the line at 1.0. ``--rst`` writes the same numbers
as a reStructuredText table for the documentation.

matplotlib is needed only for the PNG (it is in the ``benchmarks`` extra,
never a runtime dependency of loopkit). This module reads numbers; it never
runs a benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
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


#: At most this many scenarios side by side; more are split over stacked panels.
PANEL_SCENARIOS = 14


def write_png(rows: Sequence[Row], path: Path, title: str) -> None:
    """Grouped bars of ratios vs asyncio per scenario, a line at 1.0, log scale.

    A long run is drawn as several panels, one above the other, on the same
    scale, so that the chart keeps a readable shape on a documentation page.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = max(1, math.ceil(len(rows) / PANEL_SCENARIOS))
    per_panel = max(1, math.ceil(len(rows) / panels))
    chunks = [rows[i : i + per_panel] for i in range(0, len(rows), per_panel)] or [rows]
    all_ratios = [r for row in rows for trio in row.ratios.values() for r in trio]
    low = min([0.5, *all_ratios]) * 0.8
    high = max([2.0, *all_ratios]) * 1.25
    figure, grid = plt.subplots(
        len(chunks),
        1,
        figsize=(max(6.0, 0.9 * per_panel + 2), 4.5 * len(chunks)),
        dpi=110,
        squeeze=False,
    )
    others = compared_loops(rows)
    for number, (axes, chunk) in enumerate(zip(grid[:, 0], chunks, strict=True)):
        _draw_panel(axes, chunk, others, (low, high), per_panel)
        if number == 0:
            # Wrapped to the figure's width: a run of few scenarios makes a narrow chart.
            axes.set_title(textwrap.fill(title, int(figure.get_figwidth() * 11)), fontsize=9)
            axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _draw_panel(
    axes: Any, rows: Sequence[Row], others: Sequence[str], limits: Any, slots: int
) -> None:
    """One panel's bars, whiskers, labels and axis (``limits``: the y range;
    ``slots``: scenario places on the x axis, the same in every panel)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    width = 0.8 / max(1, len(others))
    for index, loop in enumerate(others):
        xs, medians, low_err, high_err, ends = [], [], [], [], []
        for position, row in enumerate(rows):
            x = position - 0.4 + width * (index + 0.5)
            if loop not in row.ratios:
                axes.annotate("n/a", (x, 1.0), ha="center", va="bottom", fontsize=7)
                continue
            median, low, high = row.ratios[loop]
            xs.append(x)
            medians.append(median)
            low_err.append(max(0.0, median - low))
            high_err.append(max(0.0, high - median))
            ends.append(high if median >= 1 else low)
        # Bars grow from the asyncio line: up when faster, down when slower.
        axes.bar(
            xs,
            [median - 1.0 for median in medians],
            bottom=1.0,
            width=width * 0.9,
            label=loop,
            color=COLOURS.get(loop),
            yerr=[low_err, high_err],
            capsize=2,
            error_kw={"elinewidth": 0.8, "ecolor": "#444444"},
        )
        for x, median, end in zip(xs, medians, ends, strict=True):
            axes.annotate(
                f"{median:.2f}",
                (x, end),
                textcoords="offset points",
                xytext=(0, 2 if median >= 1 else -2),
                ha="center",
                va="bottom" if median >= 1 else "top",
                fontsize=7,
            )
    axes.axhline(1.0, color="black", linewidth=1.0, label=f"{REFERENCE} (= 1.0)")
    axes.set_yscale("log")
    low, high = limits
    axes.set_ylim(low, high)
    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16) if low <= t <= high]
    axes.yaxis.set_major_locator(FixedLocator(ticks))
    axes.yaxis.set_minor_locator(NullLocator())
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
    axes.set_xticks(range(len(rows)))
    axes.set_xticklabels([row.scenario.name for row in rows], rotation=35, ha="right")
    axes.set_xlim(-0.6, slots - 0.4)
    axes.set_ylabel(f"speed relative to {REFERENCE} (> 1: faster)")
    axes.grid(axis="y", linewidth=0.4, alpha=0.6)


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
    return (
        f"Python {payload['python']}; {versions}; "
        f"{payload['repeats']} repeats, {payload['clock']} clock"
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
