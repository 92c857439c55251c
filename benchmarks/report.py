"""Statistics over repeated measurements, and the Markdown tables.

Pure functions of the numbers the runner collected: this module never runs
a benchmark and never imports a loop.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
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
    """One repeat's reported values: the loop's, the plain baseline's, and
    operations per wall-clock second for scenarios with a throughput table,
    and the user-mode CPU cost per operation where the scenario measured it."""

    value: float
    baseline: float | None = None
    throughput: float | None = None
    user_cost: float | None = None
    #: Which repeat of the run this is (pairs it with the reference loop's
    #: measurement of the same repeat); None: its position in the list.
    repeat: int | None = None


def summarize(values: Sequence[float]) -> Summary:
    """Median, minimum and maximum of ``values`` (at least one)."""
    return Summary(statistics.median(values), min(values), max(values), len(values))


def speed_ratio(scenario: Scenario, reference: float, other: float) -> float:
    """How many times faster ``other`` is than ``reference`` (> 1: faster).

    Rates (higher is better) are divided directly; costs per operation
    (lower is better) are inverted, so every ratio reads the same way.
    """
    return _ratio(scenario.higher_is_better, reference, other)


def _ratio(higher_is_better: bool, reference: float, other: float) -> float:
    if higher_is_better:
        return other / reference
    return reference / other


def paired_ratios(
    higher_is_better: bool, reference: Mapping[int, float], other: Mapping[int, float]
) -> list[float]:
    """The ratio of each repeat's two values, for the repeats both loops measured.

    Repeats are interleaved (each repeat runs every loop once, one after
    another), so the two values of one repeat saw the same machine; the
    spread of these per-repeat ratios is the spread of the comparison
    itself. Ratios read like :func:`speed_ratio` (> 1: ``other`` is faster);
    a pair with a zero value is left out.
    """
    return [
        _ratio(higher_is_better, reference[repeat], other[repeat])
        for repeat in sorted(reference.keys() & other.keys())
        if reference[repeat] > 0 and other[repeat] > 0
    ]


def ratio_cell(median_ratio: float, pairs: Sequence[float]) -> str:
    """``1.21x (1.10..1.30)``: the ratio of medians, then the per-repeat range."""
    if len(pairs) < 2:
        return f"{median_ratio:.2f}x"
    return f"{median_ratio:.2f}x ({min(pairs):.2f}..{max(pairs):.2f})"


def format_number(value: float, kind: str) -> str:
    """Short human form: SI prefixes for rates; costs with one decimal (two below 10)."""
    if kind == "cost":
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
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


#: Picks one number out of a repeat's measurement (None: not measured).
Pick = Callable[[Measurement], "float | None"]


def _value(measurement: Measurement) -> float | None:
    return measurement.value


def _throughput(measurement: Measurement) -> float | None:
    return measurement.throughput


def _user_cost(measurement: Measurement) -> float | None:
    return measurement.user_cost


def _rows(
    scenarios: Sequence[Scenario],
    loop_names: Sequence[str],
    results: Results,
    reference: str,
    errors: Mapping[tuple[str, str], str],
    skipped: Mapping[tuple[str, str], str],
    pick: Pick,
    unit: Callable[[Scenario], str],
    kind: Callable[[Scenario], str],
) -> list[str]:
    others = [name for name in loop_names if name != reference] if reference in loop_names else []
    header = ["scenario", "unit", *loop_names, *(f"{name}/{reference}" for name in others)]
    rows: list[list[str]] = []
    for scenario in scenarios:
        summaries: dict[str, Summary | None] = {}
        by_repeat: dict[str, dict[int, float]] = {}
        row = [scenario.name, unit(scenario)]
        for name in loop_names:
            key = (scenario.name, name)
            by_repeat[name] = _by_repeat(results.get(key, ()), pick)
            picked = list(by_repeat[name].values())
            summary = summarize(picked) if picked else None
            summaries[name] = summary
            if key in errors:
                row.append("error")
            elif key in skipped:
                row.append("skipped")
            else:
                row.append(_cell(summary, kind(scenario)))
        ref = summaries.get(reference)
        for name in others:
            other = summaries.get(name)
            failed = (scenario.name, name) in errors or (scenario.name, reference) in errors
            if failed:
                # Some repeats are missing: a ratio of the rest would hide that.
                row.append("error")
            elif ref is None or other is None or ref.median <= 0 or other.median <= 0:
                # (a user-CPU median can be 0 in a tiny --quick window)
                row.append("n/a")
            else:
                better = kind(scenario) == "rate"
                pairs = paired_ratios(better, by_repeat[reference], by_repeat[name])
                row.append(ratio_cell(_ratio(better, ref.median, other.median), pairs))
        rows.append(row)
    return _table(header, rows)


def _by_repeat(measurements: Sequence[Measurement], pick: Pick) -> dict[int, float]:
    """Picked values keyed by repeat (by list position when a repeat is unknown)."""
    values: dict[int, float] = {}
    for position, measurement in enumerate(measurements):
        value = pick(measurement)
        if value is not None:
            values[position if measurement.repeat is None else measurement.repeat] = value
    return values


def main_table(
    scenarios: Sequence[Scenario],
    loop_names: Sequence[str],
    results: Results,
    reference: str,
    errors: Mapping[tuple[str, str], str],
    skipped: Mapping[tuple[str, str], str] | None = None,
) -> list[str]:
    """Scenario rows; per loop "median (min..max)"; then ratios vs reference.

    A ratio cell is the ratio of the two medians, then (with two or more
    repeats) the lowest and highest ratio of one repeat's pair of values:
    ``1.21x (1.10..1.30)``.

    A pair in ``errors`` shows "error" (and no ratio), one in ``skipped``
    shows "skipped" (its ratio "n/a").
    """
    return _rows(
        scenarios,
        loop_names,
        results,
        reference,
        errors,
        skipped or {},
        _value,
        lambda scenario: scenario.unit,
        lambda scenario: scenario.kind,
    )


def throughput_table(
    scenarios: Sequence[Scenario],
    loop_names: Sequence[str],
    results: Results,
    reference: str,
    errors: Mapping[tuple[str, str], str],
    skipped: Mapping[tuple[str, str], str] | None = None,
) -> list[str]:
    """Operations per wall-clock second, for scenarios with a throughput unit."""
    chosen = [scenario for scenario in scenarios if scenario.throughput_unit is not None]
    if not chosen:
        return []
    return _rows(
        chosen,
        loop_names,
        results,
        reference,
        errors,
        skipped or {},
        _throughput,
        lambda scenario: scenario.throughput_unit or "",
        lambda scenario: "rate",
    )


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


def user_cpu_table(
    scenarios: Sequence[Scenario],
    loop_names: Sequence[str],
    results: Results,
    reference: str,
    errors: Mapping[tuple[str, str], str],
    skipped: Mapping[tuple[str, str], str] | None = None,
) -> list[str]:
    """The user-mode part of the CPU cost, for scenarios that measured it."""
    chosen = [
        scenario
        for scenario in scenarios
        if any(m.user_cost is not None for m in _all(results, scenario, loop_names))
    ]
    if not chosen:
        return []
    return _rows(
        chosen,
        loop_names,
        results,
        reference,
        errors,
        skipped or {},
        _user_cost,
        lambda scenario: scenario.unit.replace("CPU", "user CPU", 1),
        lambda scenario: scenario.kind,
    )


def _all(results: Results, scenario: Scenario, loop_names: Sequence[str]) -> list[Measurement]:
    return [m for name in loop_names for m in results.get((scenario.name, name), ())]
