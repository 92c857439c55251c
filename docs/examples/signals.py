"""SIGINT and SIGTERM handlers that stop the loop, on a loopkit loop.

The "Set signal handlers for SIGINT and SIGTERM" example of the asyncio
documentation, adapted: the loop is made by loopkit, and the handler's
``loop.stop()`` ends ``run_forever()`` so the program can close the loop
and exit cleanly (in the original, stopping the loop under ``asyncio.run``
ends with "Event loop stopped before Future completed.").

Run it, then press Ctrl+C or ``kill -TERM <pid>``.
"""

import asyncio
import functools
import os
import signal

import loopkit


def ask_exit(signame: str, loop: asyncio.AbstractEventLoop) -> None:
    print(f"got signal {signame}: exit", flush=True)
    loop.stop()


async def main() -> None:
    loop = asyncio.get_running_loop()
    for signame in ("SIGINT", "SIGTERM"):
        loop.add_signal_handler(
            getattr(signal, signame), functools.partial(ask_exit, signame, loop)
        )
    print("Event loop running for 1 hour, press Ctrl+C to interrupt.", flush=True)
    print(f"pid {os.getpid()}: send SIGINT or SIGTERM to exit.", flush=True)
    await asyncio.sleep(3600)


loop = loopkit.new_event_loop()
task: asyncio.Task[None] = loop.create_task(main())
try:
    loop.run_forever()
finally:
    task.cancel()
    loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
    loop.close()
print("loop closed, bye", flush=True)
