"""Print, from inside a running program, which plugins its loop was assembled from."""

import asyncio

import loopkit


async def main() -> None:
    loop = asyncio.get_running_loop()
    print(type(loop).__doc__)


loopkit.run(main())
