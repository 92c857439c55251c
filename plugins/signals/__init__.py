"""The signals plugin: ``add_signal_handler`` and ``remove_signal_handler``.

* :mod:`~loopkit.plugins.signals.handlers`: the loop methods and the
  per-loop handler table;
* :mod:`~loopkit.plugins.signals.channel`: the process-wide part (the
  wake-up fd, the socket pair the signal numbers arrive on, and which loop
  owns which signal).

Unix only, like asyncio's signal handlers. This module holds no state.
"""

from __future__ import annotations

from typing import Any

from loopkit.plugin import hookimpl
from loopkit.plugins.signals import handlers
from loopkit.plugins.signals.handlers import UncatchableSignalError

__all__ = ["UncatchableSignalError"]


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop methods this plugin adds (read to explain them on loops without it)."""
    return [
        "add_signal_handler",
        "remove_signal_handler",
    ]


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """The signal part of the asyncio loop API."""
    return {
        "add_signal_handler": handlers.add_signal_handler,
        "remove_signal_handler": handlers.remove_signal_handler,
    }


@hookimpl
def loopkit_loop_closing(loop: Any) -> None:
    """Closing removes the loop's handlers and restores the wake-up fd."""
    handlers.closing(loop)
