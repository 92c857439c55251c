"""loopkit: an asyncio event loop assembled from plugins.

Use it the way you would use uvloop::

    asyncio.run(main(), loop_factory=loopkit.new_event_loop)   # Python 3.12+
    with asyncio.Runner(loop_factory=loopkit.new_event_loop) as runner: ...
    loopkit.run(main())
    loopkit.install()   # asyncio.run() and new_event_loop() make loopkit loops

``python -m loopkit`` shows what the assembled loop is made of.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopkit.core.assembly import (
    ENV_ENABLE,
    ENV_EXCLUDE,
    ENV_EXECUTOR,
    ENV_NO_AUTOLOAD,
    ENV_PLUGINS,
    ENV_POLLER,
    ENV_RESOLVER,
    Assembly,
    PluginRecord,
    assemble,
    diagnose,
    new_event_loop,
    refresh_plugins,
)
from loopkit.core.backends import ExecutorInfo, ResolverInfo
from loopkit.core.errors import (
    AssemblyError,
    LoopkitError,
    PluginAttributeNotEnabledError,
    PluginLoadWarning,
    PluginNotEnabledError,
    UnknownNameError,
)
from loopkit.core.hookspecs import hookimpl
from loopkit.core.kernel import KernelLoop
from loopkit.core.poller import EVENT_READ, EVENT_WRITE, Poller, PollerInfo

if TYPE_CHECKING:
    from loopkit.policy import EventLoopPolicy, install
    from loopkit.runner import run

__version__ = "0.1.0"

__all__ = [
    "ENV_ENABLE",
    "ENV_EXCLUDE",
    "ENV_EXECUTOR",
    "ENV_NO_AUTOLOAD",
    "ENV_PLUGINS",
    "ENV_POLLER",
    "ENV_RESOLVER",
    "EVENT_READ",
    "EVENT_WRITE",
    "Assembly",
    "AssemblyError",
    "EventLoopPolicy",
    "ExecutorInfo",
    "KernelLoop",
    "LoopkitError",
    "PluginAttributeNotEnabledError",
    "PluginLoadWarning",
    "PluginNotEnabledError",
    "PluginRecord",
    "Poller",
    "PollerInfo",
    "ResolverInfo",
    "UnknownNameError",
    "__version__",
    "assemble",
    "diagnose",
    "hookimpl",
    "install",
    "new_event_loop",
    "refresh_plugins",
    "run",
]


def __getattr__(name: str) -> Any:
    """The policy and the runner, imported on first use: a program that only
    makes loops (``loopkit.new_event_loop``) does not load them."""
    module: Any
    if name in ("EventLoopPolicy", "install"):
        from loopkit import policy as module
    elif name == "run":
        from loopkit import runner as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value  # the next access is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
