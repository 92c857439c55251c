"""Hello World with call_soon(): schedule one callback, which prints and stops the loop.

The classic low-level asyncio example, on a loop made by loopkit.
"""

import asyncio

import loopkit


def hello_world(loop: asyncio.AbstractEventLoop) -> None:
    """Print the greeting, then ask the loop to stop."""
    print("Hello World")
    loop.stop()


loop = loopkit.new_event_loop()

# Queue hello_world(loop) for the loop's first iteration.
loop.call_soon(hello_world, loop)

# run_forever() returns once hello_world() has called loop.stop().
try:
    loop.run_forever()
finally:
    loop.close()
