"""Loop factories and helpers shared by the real-library tests."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable

import loopkit

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

#: The reference loop first, then loopkit's.
LOOP_FACTORIES: dict[str, LoopFactory] = {
    "asyncio": asyncio.new_event_loop,
    "loopkit": loopkit.new_event_loop,
}

#: True once the TLS layer (loopkit.transports.tls.layer) is in the tree.
HAS_TLS_LAYER = importlib.util.find_spec("loopkit.transports.tls.layer") is not None


def missing_on_loopkit(names: tuple[str, ...]) -> list[str]:
    """The loop methods in ``names`` that no installed loopkit plugin provides."""
    providers = loopkit.assemble().providers
    return [name for name in names if name not in providers]


def expected_loop_module(loop_name: str) -> str:
    """The ``__module__`` of the running loop's class on each kind of loop."""
    return "loopkit" if loop_name == "loopkit" else asyncio.SelectorEventLoop.__module__
