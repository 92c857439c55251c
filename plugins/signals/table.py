"""The per-loop signal table: which Handle runs for which signal on one loop.

It is the signals plugin's per-loop state (kernel services
``state("signals", ...)``), made on first use and dropped with the loop.
The channel hands it each signal number that belongs to its loop, and the
table queues the handler as an ordinary callback.

What it must never do: run a handler itself (it only queues it), or be
touched from another thread except through ``call_soon_threadsafe``.
"""

from __future__ import annotations

from asyncio import events
from typing import Any

from loopkit.plugin import loop_states, services

#: The key of the table among the loop's per-plugin states.
STATE_KEY = "signals"


class SignalTable:
    """Signal number -> :class:`asyncio.Handle` of one loop."""

    __slots__ = ("handlers", "loop", "schedule")

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.handlers: dict[int, events.Handle] = {}
        self.schedule = services(loop).schedule

    def dispatch(self, sig: int) -> None:
        """Queue this loop's handler for ``sig`` (on the loop's own thread)."""
        handle = self.handlers.get(sig)
        if handle is None:
            return  # removed after the signal arrived
        if handle.cancelled():
            # Cancelled through the Handle itself: drop it properly, as
            # asyncio does.
            self.loop.remove_signal_handler(sig)
            return
        self.schedule(handle)


def table(loop: Any) -> SignalTable:
    """The signal table of ``loop``, made on first use."""
    return services(loop).state(STATE_KEY, lambda: SignalTable(loop))


def existing_table(loop: Any) -> SignalTable | None:
    """The signal table of ``loop`` if it was ever made."""
    # loop_states, not services(): a loop that never used signals is closed
    # without being given a services object it would get only to be asked this.
    found: SignalTable | None = loop_states(loop).get(STATE_KEY)
    return found
