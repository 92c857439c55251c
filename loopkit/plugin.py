"""The public plugin API: everything a loopkit plugin imports from loopkit.

A plugin, built in or third party, imports this module and nothing else of
loopkit. What is here is documented (docs/plugin-authoring.rst and the API
reference), typed, and kept stable; nothing a plugin does reaches the kernel
any other way, and no plugin reads or writes an underscore attribute of a
loop (the test suite checks the built-in ones).

What it offers:

* the hook marker :data:`hookimpl` and the hook specifications
  (:class:`LoopkitSpec`);
* the poller contract (:class:`Poller`, :class:`PollerInfo` and the event
  bits);
* the kernel services of a loop (:func:`services`, :class:`LoopServices`):
  fd watching with and without the public methods' checks, fd ownership,
  the debug flag, per-plugin per-loop state, shared buffers, scheduling a
  kept handle, and the iteration-observer seam (:class:`IterationObserver`);
* the errors a plugin raises or lets through.

This module only gathers names; the code lives where its layer is
(:mod:`loopkit.core` for the kernel side).
"""

from __future__ import annotations

from loopkit.core.errors import (
    AssemblyError,
    LoopkitError,
    PluginNotEnabledError,
    UnknownNameError,
)
from loopkit.core.hookspecs import LoopkitSpec, hookimpl
from loopkit.core.poller import (
    EVENT_ERROR,
    EVENT_READ,
    EVENT_WRITE,
    MAX_POLL_TIMEOUT,
    Poller,
    PollerInfo,
)
from loopkit.core.services import IterationObserver, LoopServices, services

__all__ = [
    "EVENT_ERROR",
    "EVENT_READ",
    "EVENT_WRITE",
    "MAX_POLL_TIMEOUT",
    "AssemblyError",
    "IterationObserver",
    "LoopServices",
    "LoopkitError",
    "LoopkitSpec",
    "PluginNotEnabledError",
    "Poller",
    "PollerInfo",
    "UnknownNameError",
    "hookimpl",
    "services",
]
