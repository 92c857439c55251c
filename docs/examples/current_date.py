"""Print the current date every second with call_later(), then stop.

The classic low-level asyncio example, on a loop made by loopkit. It runs for
5 seconds; pass another duration in seconds as the first argument (or in the
environment variable EXAMPLE_DURATION) to make it shorter or longer.
"""

import asyncio
import datetime
import os
import sys

import loopkit


def display_date(end_time: float, loop: asyncio.AbstractEventLoop) -> None:
    """Print the date; come back in a second unless that would pass ``end_time``."""
    print(datetime.datetime.now(), flush=True)
    if loop.time() + 1.0 < end_time:
        loop.call_later(1, display_date, end_time, loop)
    else:
        loop.stop()


duration = float(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("EXAMPLE_DURATION", "5"))

loop = loopkit.new_event_loop()

# The loop's clock is monotonic: deadlines are computed from loop.time().
end_time = loop.time() + duration
loop.call_soon(display_date, end_time, loop)

# run_forever() returns once display_date() has called loop.stop().
try:
    loop.run_forever()
finally:
    loop.close()
