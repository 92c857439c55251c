"""The uvloop idioms and their loopkit equivalents, side by side.

Runs on Python 3.11 to 3.13; the ``asyncio.run(..., loop_factory=...)``
form needs 3.12 and is used only there.
"""

import asyncio
import sys

import loopkit


async def main() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


# uvloop.run(main())
print("loopkit.run:", loopkit.run(main()))

# asyncio.Runner(loop_factory=uvloop.new_event_loop)
with asyncio.Runner(loop_factory=loopkit.new_event_loop) as runner:
    print("asyncio.Runner:", runner.run(main()))

# asyncio.run(main(), loop_factory=uvloop.new_event_loop)    (Python 3.12+)
if sys.version_info >= (3, 12):
    print("asyncio.run:", asyncio.run(main(), loop_factory=loopkit.new_event_loop))

# uvloop.install()  (deprecated by uvloop; loopkit.install() sets the policy)
loopkit.install()
print("after install():", asyncio.run(main()))
