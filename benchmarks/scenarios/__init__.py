"""Benchmark scenarios, one module per family, found by :func:`load_all`.

To add a family, add a module here whose functions are decorated with
:func:`scenario`; it is picked up automatically, in module-name order.
"""

from __future__ import annotations

import importlib
import pkgutil

from benchmarks.scenarios._registry import (
    SCENARIOS,
    LoopFactory,
    Sample,
    Scenario,
    Skipped,
    scenario,
)

__all__ = ["SCENARIOS", "LoopFactory", "Sample", "Scenario", "Skipped", "load_all", "scenario"]


def load_all() -> dict[str, Scenario]:
    """Import every scenario module of this package; return the registry."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return SCENARIOS
