"""loopkit's event loop policy, and the helpers that put it in place.

The policy only changes how loops are *made*; everything else (the current
loop per thread, ``get_event_loop`` semantics) is asyncio's own
``BaseDefaultEventLoopPolicy``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from loopkit.core.assembly import new_event_loop
from loopkit.core.names import Names, PluginSpecs, name_list


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """An asyncio policy whose ``new_event_loop()`` makes loopkit loops.

    It derives from asyncio's default policy so that everything else,
    including the (deprecated) child-watcher accessors that some libraries
    still call on 3.11-3.13, behaves exactly as under asyncio. The keyword
    arguments are those of :func:`loopkit.new_event_loop` and
    apply to every loop the policy makes.
    """

    def __init__(
        self,
        *,
        poller: str | None = None,
        plugins: PluginSpecs | None = None,
        exclude: Names | None = None,
        enable: Names | None = None,
        resolver: str | None = None,
        executor: str | None = None,
    ) -> None:
        super().__init__()
        self._loop_options: dict[str, Any] = {
            "poller": poller,
            "plugins": name_list(plugins, "plugins"),
            "exclude": name_list(exclude, "exclude"),
            "enable": name_list(enable, "enable"),
            "resolver": resolver,
            "executor": executor,
        }

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """A new loopkit loop with this policy's options."""
        return new_event_loop(**self._loop_options)


def install(
    *,
    poller: str | None = None,
    plugins: PluginSpecs | None = None,
    exclude: Names | None = None,
    enable: Names | None = None,
    resolver: str | None = None,
    executor: str | None = None,
) -> EventLoopPolicy:
    """Make loopkit the loop of ``asyncio.run()`` and ``asyncio.new_event_loop()``.

    Sets an :class:`EventLoopPolicy` (with these options, those of
    :func:`loopkit.new_event_loop`, for every loop) as the asyncio policy and
    returns it.
    """
    policy = EventLoopPolicy(
        poller=poller,
        plugins=plugins,
        exclude=exclude,
        enable=enable,
        resolver=resolver,
        executor=executor,
    )
    asyncio.set_event_loop_policy(policy)
    return policy
