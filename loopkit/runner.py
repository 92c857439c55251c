"""``loopkit.run()``: ``asyncio.run()`` on a loopkit loop, on every Python version.

It goes through :class:`asyncio.Runner`, so the shutdown sequence (cancel the
remaining tasks, close async generators, shut down the default executor) and
the Ctrl-C handling are asyncio's own.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine
from typing import Any, TypeVar

from loopkit.core.assembly import new_event_loop
from loopkit.core.names import Names, PluginSpecs, name_list

_T = TypeVar("_T")


def run(
    main: Coroutine[Any, Any, _T],
    *,
    debug: bool | None = None,
    poller: str | None = None,
    plugins: PluginSpecs | None = None,
    exclude: Names | None = None,
    enable: Names | None = None,
    resolver: str | None = None,
    executor: str | None = None,
) -> _T:
    """Run coroutine ``main`` on a new loopkit loop and return its result.

    ``debug`` is asyncio's debug flag; the other options are those of
    :func:`loopkit.new_event_loop`.
    """
    factory = functools.partial(
        new_event_loop,
        poller=poller,
        plugins=name_list(plugins, "plugins"),
        exclude=name_list(exclude, "exclude"),
        enable=name_list(enable, "enable"),
        resolver=resolver,
        executor=executor,
    )
    with asyncio.Runner(debug=debug, loop_factory=factory) as runner:
        return runner.run(main)
