"""The few facts about plugins that assembly needs before importing any.

Which plugin provides which loop method is *not* here: every plugin, built-in
or third-party, declares that itself with the ``loopkit_provides`` hook,
which assembly reads only when it must explain a missing method. The one
exception is the short list of non-asyncio attributes built-in plugins add
(:data:`BUILTIN_EXTRA_METHODS`).
"""

from __future__ import annotations

import asyncio
import functools
import select

KERNEL = "kernel"

#: Plugins that every loop has: ``asyncio.run`` and ``asyncio.Runner`` call
#: ``shutdown_default_executor`` on every loop they make.
ESSENTIAL_PLUGINS = ("executor",)

#: Poller plugins shipped with loopkit. They are candidates in every loop
#: (unless excluded by name), even when ``plugins=`` lists only families.
BUILTIN_POLLERS = ("epoll", "kqueue", "poll", "select")

#: Built-in pollers whose call this platform's :mod:`select` lacks (kqueue on
#: Linux, epoll on macOS and the BSDs; each poller is named after its call).
#: A loop leaves them out, so their modules are never imported where they
#: cannot work, unless ``plugins=`` names one; ``poller=`` naming one is the
#: same "not available on this platform" error as before.
FOREIGN_POLLERS = frozenset(name for name in BUILTIN_POLLERS if not hasattr(select, name))

#: Built-in plugins that are installed but not autoloaded: a loop has them
#: only when they are named (``enable=``, ``plugins=``, ``LOOPKIT_ENABLE``).
#: The instruments plugin measures every loop iteration; a loop that did not
#: ask for it must not pay for it.
OPT_IN_PLUGINS = ("instruments",)

#: The loop attributes built-in plugins add beyond asyncio's API, by plugin
#: (what their ``loopkit_provides`` says, checked by a test). A loop without
#: the plugin explains these names without importing it (see assembly).
BUILTIN_EXTRA_METHODS: dict[str, tuple[str, ...]] = {
    "instruments": ("reset_stats", "slow_iteration_duration", "stats"),
}


@functools.cache
def abstract_loop_methods() -> tuple[str, ...]:
    """The public methods of :class:`asyncio.AbstractEventLoop` on this Python."""
    return tuple(
        sorted(
            name
            for name, value in vars(asyncio.AbstractEventLoop).items()
            if not name.startswith("_") and callable(value)
        )
    )
