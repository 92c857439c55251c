"""The resolver plugin: ``getaddrinfo`` and ``getnameinfo`` that never block the loop.

It offers two backends through ``loopkit_resolvers``, and assembly builds
the chosen one's functions into the loop class (so a lookup costs no
dispatch):

* :mod:`~loopkit.plugins.resolver.threaded` (``threaded``, the default):
  the C library's resolver in the default executor, as asyncio does;
* :mod:`~loopkit.plugins.resolver.aiodns` (``aiodns``): c-ares through
  aiodns, when ``loopkit-asyncio[aiodns]`` is installed.

Both answer IP literals at once, on the loop, without any lookup. A third
party adds a backend the same way, from its own plugin.
"""

from __future__ import annotations

from loopkit.plugin import ResolverInfo, hookimpl
from loopkit.plugins.resolver import aiodns, threaded


@hookimpl
def loopkit_requires() -> list[str]:
    """The threaded backend looks names up in the default executor."""
    return ["executor"]


@hookimpl
def loopkit_provides() -> list[str]:
    """The name-resolution part of the loop API."""
    return ["getaddrinfo", "getnameinfo"]


@hookimpl
def loopkit_resolvers() -> list[ResolverInfo]:
    """The threaded default and the c-ares alternative."""
    return [threaded.INFO, aiodns.INFO]


@hookimpl
def loopkit_loop_closing(loop: object) -> None:
    """Close the loop's c-ares channel, if the aiodns backend made one."""
    aiodns.close(loop)
