"""Flow control of a transport's writes: water marks and pause/resume_writing.

The rule asyncio gives every writing transport, written once: the protocol
is told ``pause_writing()`` when the write buffer grows above the high-water
mark and ``resume_writing()`` when it drains to the low-water mark or below;
an exception from either goes to the loop's exception handler and the
transport carries on. :func:`water_marks` is asyncio's defaulting and
validation of ``set_write_buffer_limits`` (the TLS layer uses it for its
own limits too).

What it must never do: call ``pause_writing`` twice without a
``resume_writing`` between them (or the reverse), or let a protocol's
exception escape.
"""

from __future__ import annotations

from typing import Any

from loopkit.transports.base import TransportBase

__all__ = ["DEFAULT_HIGH_WATER", "WriteFlowControl", "water_marks"]

#: asyncio's default high-water mark of a write buffer (the low mark is a quarter).
DEFAULT_HIGH_WATER = 64 * 1024
_DEFAULT_LOW_WATER = DEFAULT_HIGH_WATER // 4


def water_marks(
    high: int | None, low: int | None, default_high: int = DEFAULT_HIGH_WATER
) -> tuple[int, int]:
    """Resolve (high, low) the way asyncio's transports do: a missing low is
    a quarter of high, a missing high is four times low (or ``default_high``).

    ValueError unless ``high >= low >= 0``.
    """
    if high is None:
        high = default_high if low is None else 4 * low
    if low is None:
        low = high // 4
    if not high >= low >= 0:
        raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
    return high, low


class WriteFlowControl(TransportBase):
    """Water marks for a transport that buffers writes.

    A subclass calls :meth:`_init_write_flow` from ``__init__``, answers
    ``get_write_buffer_size()``, and calls :meth:`_maybe_pause_protocol`
    after queueing and :meth:`_maybe_resume_protocol` after draining.

    It also gives the transport ``abort()``: only a transport that buffers
    writes has something to drop (asyncio's read-only transports have no
    ``abort``).
    """

    _high_water: int
    _low_water: int
    _protocol_paused: bool

    def abort(self) -> None:
        """Close at once, dropping whatever is queued; ``connection_lost(None)`` follows."""
        self._force_close(None)

    def _init_write_flow(self, default_high: int = DEFAULT_HIGH_WATER) -> None:
        """Set the water marks to ``default_high`` and a quarter of it, not paused."""
        # Instance attributes, not class defaults: 3.12+ read and write an
        # attribute that shadows a class attribute markedly slower.
        self._high_water = default_high
        # One shared int for the usual marks: a computed 16384 is a new
        # 32-byte object per transport.
        self._low_water = (
            _DEFAULT_LOW_WATER if default_high == DEFAULT_HIGH_WATER else default_high // 4
        )
        self._protocol_paused = False

    def get_write_buffer_size(self) -> int:
        """Bytes queued but not yet handed to the kernel."""
        raise NotImplementedError

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """The (low, high) water marks."""
        return (self._low_water, self._high_water)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the marks at which the protocol is paused / resumed for writing."""
        self._high_water, self._low_water = water_marks(high, low)
        self._maybe_pause_protocol()

    def _maybe_pause_protocol(self) -> None:
        """Call the protocol's ``pause_writing`` if the buffer is now over the high mark."""
        if self._protocol_paused or self.get_write_buffer_size() <= self._high_water:
            return
        self._protocol_paused = True
        self._call_flow_control("pause_writing")

    def _maybe_resume_protocol(self) -> None:
        """Call the protocol's ``resume_writing`` if paused and now at the low mark or under."""
        if not self._protocol_paused or self.get_write_buffer_size() > self._low_water:
            return
        self._protocol_paused = False
        self._call_flow_control("resume_writing")

    def _call_flow_control(self, name: str) -> None:
        protocol: Any = self._protocol
        try:
            getattr(protocol, name)()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report(f"protocol.{name}() failed", exc)
