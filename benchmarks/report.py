"""Statistics over repeated measurements, and the Markdown tables.

Pure functions of the numbers the runner collected: this module never runs
a benchmark and never imports a loop.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchmarks.scenarios import Scenario


@dataclass(frozen=True)
class Summary:
    """Median and range of one (scenario, loop) pair over its repeats."""

    median: float
    low: float
    high: float
    count: int


@dataclass(frozen=True)
class Measurement:
    """One repeat's reported values: the loop's, and the plain baseline's."""

    value: float
    baseline: float | None = None


def summarize(values: Sequence[float]) -> Summary:
    """Median, minimum and maximum of ``values`` (at least one)."""
    return Summary(statistics.median(values), min(values), max(values), len(values))


def speed_ratio(scenario: Scenario, reference: float, other: float) -> float:
    """How many times faster ``other`` is than ``reference`` (> 1: faster).

    Rates (higher is better) are divided directly; costs per operation
    (lower is better) are inverted, so every ratio reads the same way.
    """
    if scenario.higher_is_better:
        return other / reference
    return reference / other


def format_number(value: float, kind: str) -> str:
    """Short human form: SI prefixes for rates, one decimal for ns costs."""
    if kind == "cost":
        return f"{value:.1f}"
    for threshold, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.3g}"


def _cell(summary: Summary | None, kind: str) -> str:
    if summary is None:
        return "n/a"
    median = format_number(summary.median, kind)
    if summary.count == 1:
        return median
    low = format_number(summary.low, kind)
    high = format_number(summary.high, kind)
    return f"{median} ({low}..{high})"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


Results = Mapping[tuple[str, str], Sequence[Measurement]]


def main_table(
    scenarios: Sequence[Scenario],
    loop_names: Sequence[str],
    results: Results,
    reference: str,
    errors: Mapping[tuple[str, str], str],
) -> list[str]:
    """Scenario rows; per loop "median (min..max)"; then ratios vs reference."""
    others = [name for name in loop_names if name != reference] if reference in loop_names else []
    header = ["scenario", "unit", *loop_names, *(f"{name}/{reference}" for name in others)]
    rows: list[list[str]] = []
    for scenario in scenarios:
        summaries: dict[str, Summary | None] = {}
        row = [scenario.name, scenario.unit]
        for name in loop_names:
            samples = results.get((scenario.name, name), ())
            summary = summarize([m.value for m in samples]) if samples else None
            summaries[name] = summary
            row.append(
                "error" if (scenario.name, name) in errors else _cell(summary, scenario.kind)
            )
        ref = summaries.get(reference)
        for name in others:
            other = summaries.get(name)
            failed = (scenario.name, name) in errors or (scenario.name, reference) in errors
            if failed:
                # Some repeats are missing: a ratio of the rest would hide that.
                row.append("error")
            elif ref is None or other is None:
                row.append("n/a")
            else:
                row.append(f"{speed_ratio(scenario, ref.median, other.median):.2f}x")
        rows.append(row)
    return _table(header, rows)


def baseline_table(
    scenarios: Sequence[Scenario],
    loop_names: Sequence[str],
    results: Results,
) -> list[str]:
    """For scenarios with a plain baseline: loop vs baseline, per loop."""
    rows: list[list[str]] = []
    for scenario in scenarios:
        if scenario.baseline_label is None:
            continue
        for name in loop_names:
            samples = results.get((scenario.name, name), ())
            baselines = [m.baseline for m in samples if m.baseline is not None]
            if not samples or not baselines:
                continue
            loop_summary = summarize([m.value for m in samples])
            base_summary = summarize(baselines)
            ratio = speed_ratio(scenario, base_summary.median, loop_summary.median)
            rows.append(
                [
                    scenario.name,
                    name,
                    scenario.unit,
                    _cell(loop_summary, scenario.kind),
                    _cell(base_summary, scenario.kind),
                    f"{ratio:.2f}x",
                ]
            )
    if not rows:
        return []
    header = ["scenario", "loop", "unit", "loop method", "plain class", "loop/plain"]
    return _table(header, rows)
