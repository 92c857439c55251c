"""The scenario registry: what a benchmark scenario is and where it is listed.

A scenario module (any non-underscore module in this package) declares its
scenarios with :func:`scenario`; :func:`benchmarks.scenarios.load_all`
imports every such module. Adding a family (tcp, udp, unix, subprocess, ...)
is adding a module: neither the runner nor the worker changes. This module
must never import a loop implementation; scenarios receive a loop factory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

#: Makes a fresh, not yet running event loop (loopkit's, asyncio's, uvloop's).
LoopFactory = Callable[[], asyncio.AbstractEventLoop]

#: "rate": operations per second, higher is better.
#: "cost": time per operation (nanoseconds unless ``cost_scale`` says
#: otherwise), lower is better.
Kind = Literal["rate", "cost"]


class Skipped(Exception):
    """Raised by a measurement that cannot run on the loop it was given.

    The message says why (a loop lacking the plugin the scenario needs, say);
    the report shows the pair as skipped with that reason, not as an error.
    """


@dataclass(frozen=True)
class Sample:
    """One measurement: ``ops`` operations took ``seconds`` (wall clock).

    ``cpu_seconds``, when the scenario measured it, is the CPU time the
    process spent meanwhile (all threads): on a crowded machine it does not
    count the time the process sat descheduled, so it is the steadier figure.

    ``user_cpu_seconds`` is the user-mode part of ``cpu_seconds``.

    ``baseline_seconds`` is set by scenarios that also time the same number
    of operations on a plain Python stand-in (in the same process, interleaved
    with the real thing), so that the two can be compared directly.
    """

    ops: int
    seconds: float
    baseline_seconds: float | None = None
    cpu_seconds: float | None = None
    baseline_cpu_seconds: float | None = None
    #: The user-mode part of ``cpu_seconds`` (the rest is the OS kernel's work
    #: for this process: system calls, and on loopback much of the peer's
    #: network stack). Set by the transport scenarios.
    user_cpu_seconds: float | None = None
    #: Operations the process made in all, warm-up included, when the
    #: scenario cannot know them in advance (a wrk run lasts a time, not a
    #: number of requests): ``benchmarks/instructions.py`` divides by it.
    all_ops: int | None = None


#: A measurement function: given a loop factory and an operation count,
#: measure and return one :class:`Sample`.
Measure = Callable[[LoopFactory, int], Sample]


@dataclass(frozen=True)
class Scenario:
    """A named measurement, run once per (loop, repeat) in a fresh process."""

    name: str
    family: str
    unit: str
    kind: Kind
    size: int
    quick_size: int
    description: str
    measure: Measure
    baseline_label: str | None = None
    #: Seconds per operation times this is the reported cost (1e9: ns, 1e6: µs).
    cost_scale: float = 1e9
    #: The reported value always uses the process's CPU time, whatever the
    #: runner's ``--clock``: for "server CPU per request" that *is* the metric.
    cpu_metric: bool = False
    #: When set, operations per wall-clock second are reported as well, in
    #: a throughput table with this unit (e.g. "requests/s").
    throughput_unit: str | None = None

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger reported value means faster."""
        return self.kind == "rate"

    def value(self, ops: int, seconds: float) -> float:
        """The reported number for ``ops`` operations in ``seconds``."""
        if self.kind == "rate":
            return ops / seconds
        return seconds / ops * self.cost_scale


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str,
    *,
    family: str,
    unit: str,
    size: int,
    quick_size: int | None = None,
    kind: Kind = "rate",
    baseline_label: str | None = None,
    cost_scale: float = 1e9,
    cpu_metric: bool = False,
    throughput_unit: str | None = None,
) -> Callable[[Measure], Measure]:
    """Register the decorated measurement function as scenario ``name``.

    ``size`` operations should take roughly 0.2-0.5 s on asyncio's loop on a
    typical machine; ``quick_size`` (default ``size // 20``) is for smoke runs.
    The function's docstring's first line becomes the description.
    ``cost_scale``, ``cpu_metric`` and ``throughput_unit`` are described on
    :class:`Scenario`.
    """

    def register(measure: Measure) -> Measure:
        if name in SCENARIOS:
            raise ValueError(f"two benchmark scenarios are named {name!r}")
        doc = (measure.__doc__ or "").strip().splitlines()
        SCENARIOS[name] = Scenario(
            name=name,
            family=family,
            unit=unit,
            kind=kind,
            size=size,
            quick_size=quick_size if quick_size is not None else max(1, size // 20),
            description=doc[0] if doc else name,
            measure=measure,
            baseline_label=baseline_label,
            cost_scale=cost_scale,
            cpu_metric=cpu_metric,
            throughput_unit=throughput_unit,
        )
        return measure

    return register
