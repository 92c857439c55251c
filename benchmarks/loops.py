"""The event loops under comparison, by name, and how to make each.

Imports of loopkit and uvloop happen only when a loop is asked for, so a
worker process loads exactly the loop it measures.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
from collections.abc import Callable

#: Every loop the runner knows, in table order. asyncio is the reference.
LOOP_NAMES = ("asyncio", "loopkit", "uvloop")
REFERENCE = "asyncio"


def is_available(name: str) -> bool:
    """Whether loop ``name`` can be imported in this environment."""
    if name == "asyncio":
        return True
    return importlib.util.find_spec(name) is not None


def version(name: str) -> str:
    """The installed version of the loop's distribution ("stdlib" for asyncio)."""
    if name == "asyncio":
        return "stdlib"
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A callable returning a new loop of kind ``name``, not set as current."""
    if name == "asyncio":
        # The default policy's loop class (the selector loop on Unix),
        # made directly so that an installed policy cannot substitute another.
        return asyncio.DefaultEventLoopPolicy().new_event_loop
    if name == "loopkit":
        import loopkit

        return loopkit.new_event_loop
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    raise ValueError(f"unknown loop {name!r}; known loops: {', '.join(LOOP_NAMES)}")
