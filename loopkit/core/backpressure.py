"""Back-pressure on threads that flood a running loop with ``call_soon_threadsafe``.

Callbacks from other threads join the one ready queue, in order. When other
threads post them faster than the loop runs them (they need no system call
while the loop is busy: see ``KernelLoop.call_soon_threadsafe``), the queue
grows without bound, and everything the loop queues itself, a timer that
came due or a task woken by it, waits behind the whole flood: FIFO order
puts each hop of ``await asyncio.sleep(...)`` behind every callback posted
before it, so the sleep ends only when the flood does. (asyncio throttles
its producers by accident: each of its calls writes to a socket, releasing
the GIL.)

So a thread other than the loop's that finds the queue longer than
:data:`HIGH_WATER` after adding its callback waits, without holding the
GIL, until the loop has brought the queue down to :data:`LOW_WATER`. The
queue then never holds much more than ``HIGH_WATER`` callbacks (plus one per
producer, plus what the loop queues itself), so anything the loop queues
runs within one such batch. The callback is always queued first and never
dropped; the wait is bounded by :data:`MAX_WAIT`, so a producer is never
stuck behind a loop that stopped, closed or sits in a long callback.

What this module must never do: make the loop's own thread wait, or cost a
producer anything while the queue is short (the kernel checks the length
inline and calls in here only past the high-water mark).
"""

from __future__ import annotations

import threading
from collections.abc import Sized

#: Past this many queued callbacks, a foreign thread's call waits.
HIGH_WATER = 16384
#: The loop releases waiting threads once the queue is this short.
LOW_WATER = HIGH_WATER // 2
#: The longest a producer waits for one call (seconds).
MAX_WAIT = 0.1

#: Held while a loop's event is made, so that two producers agree on one.
_MAKING = threading.Lock()


class Backpressure:
    """Where threads wait for a flooded loop to catch up."""

    __slots__ = ("_drained", "waiting")

    def __init__(self) -> None:
        #: True while some thread may be waiting: the loop then calls release().
        self.waiting = False
        # Made by the first producer that has to wait: most loops are never
        # flooded, and an Event (a Condition and two locks) would cost every
        # loop made a few microseconds.
        self._drained: threading.Event | None = None

    def _event(self) -> threading.Event:
        with _MAKING:
            drained = self._drained
            if drained is None:
                drained = self._drained = threading.Event()
            return drained

    def wait(self, ready: Sized, loop_thread_id: int | None) -> None:
        """Called by a producer that found ``len(ready) > HIGH_WATER``.

        Waits only in a thread other than the running loop's. The flag is
        raised before the length is looked at again, so a loop that drains
        the queue in between either sees the flag (and wakes this thread) or
        has already drained it (and this thread does not wait).
        """
        if loop_thread_id is None or loop_thread_id == threading.get_ident():
            return
        drained = self._drained or self._event()
        drained.clear()
        self.waiting = True
        if len(ready) > HIGH_WATER:
            drained.wait(MAX_WAIT)

    def release(self) -> None:
        """Wake every waiting producer (from the loop's thread)."""
        self.waiting = False
        drained = self._drained
        if drained is not None:
            drained.set()
