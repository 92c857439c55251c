"""The hook specifications through which plugins build a loop.

Every hook here is called at *assembly* time, once per set of plugins, except
the two lifecycle hooks, whose implementations are collected at assembly and
then called as plain functions when a loop is made or closed (and not at all
when no plugin implements them). No hook is ever dispatched on a hot path.

A plugin is any object (usually a module) with functions marked by
:data:`hookimpl`. Built-in plugins and third-party plugins register the same
way: an entry point in the ``loopkit`` group naming the plugin module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loopkit.core.markers import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    import asyncio

    from loopkit.core.backends import ExecutorInfo, ResolverInfo
    from loopkit.core.poller import PollerInfo

PROJECT_NAME = "loopkit"
ENTRY_POINT_GROUP = "loopkit"

hookspec = HookspecMarker(PROJECT_NAME)
#: Marks a function of a plugin as the implementation of a loopkit hook
#: (what ``pluggy.HookimplMarker("loopkit")`` marks, without importing pluggy).
hookimpl = HookimplMarker(PROJECT_NAME)


class LoopkitSpec:
    """Namespace of loopkit's hook specifications."""

    @hookspec
    def loopkit_provides(self) -> Sequence[str]:
        """Names of the loop attributes this plugin adds, read without assembling it.

        Answer from constants in the plugin's top-level module. Assembly asks
        the plugins that a loop does *not* enable, and only when it has to
        explain a missing attribute: ``loop.create_quic_connection()`` on a
        loop without the plugin then raises
        :class:`~loopkit.PluginNotEnabledError` naming the plugin and how to
        enable it, instead of a bare :class:`AttributeError`. Never called on
        the happy path, so a plugin that is not enabled is not imported.
        """
        raise NotImplementedError  # pragma: no cover - specification only

    @hookspec
    def loopkit_requires(self) -> Sequence[str]:
        """Names of other plugins this plugin needs.

        They are enabled together with it, so that a trimmed loop asking for
        ``tcp`` also gets the ``resolver`` that tcp uses to look up names.
        """
        raise NotImplementedError  # pragma: no cover - specification only

    @hookspec
    def loopkit_loop_methods(self) -> Mapping[str, Any]:
        """Attributes this plugin adds to the loop class.

        Usually functions that become loop methods (``create_connection``),
        but any class attribute is allowed (a default for per-loop state, a
        private helper). Two plugins adding the same name is an assembly
        error that names both; to replace a method deliberately, use
        :meth:`loopkit_loop_overrides`.
        """
        raise NotImplementedError  # pragma: no cover - specification only

    @hookspec
    def loopkit_loop_overrides(self) -> Mapping[str, Any]:
        """Attributes this plugin deliberately *replaces*.

        Precedence, from lowest to highest: the kernel, then
        :meth:`loopkit_loop_methods` of any plugin, then this hook. An
        override of a name nobody else provides simply provides it. Two
        plugins overriding the same name is an assembly error naming both.
        """
        raise NotImplementedError  # pragma: no cover - specification only

    @hookspec
    def loopkit_pollers(self) -> Sequence[PollerInfo]:
        """I/O readiness backends this plugin offers.

        Each is a :class:`~loopkit.PollerInfo`; the poller is chosen per loop
        (``poller=``, ``LOOPKIT_POLLER``, else the best available).
        """
        raise NotImplementedError  # pragma: no cover - specification only

    @hookspec
    def loopkit_resolvers(self) -> Sequence[ResolverInfo]:
        """Name-resolution backends this plugin offers.

        Each is a :class:`~loopkit.ResolverInfo`. One is chosen per assembly
        (``resolver=``, ``LOOPKIT_RESOLVER``, else the available one with the
        highest priority) and its functions become the loop's
        ``getaddrinfo`` and ``getnameinfo``.
        """
        raise NotImplementedError  # pragma: no cover - specification only

    @hookspec
    def loopkit_executors(self) -> Sequence[ExecutorInfo]:
        """Default-executor backends this plugin offers.

        Each is a :class:`~loopkit.ExecutorInfo`. One is chosen per assembly
        (``executor=``, ``LOOPKIT_EXECUTOR``, else the available one with the
        highest priority); its ``create()`` makes the pool behind
        ``run_in_executor(None, ...)``, lazily, once per loop.
        """
        raise NotImplementedError  # pragma: no cover - specification only

    @hookspec
    def loopkit_loop_created(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called at the end of a new loop's ``__init__``.

        Use it to give the loop per-instance state. Collected at assembly
        time and called directly, so it costs one call per loop made.
        """

    @hookspec
    def loopkit_loop_closing(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called by ``loop.close()`` before the kernel drops its queues and poller.

        Release what the plugin holds for this loop (threads, handlers, fds).
        An exception here is reported through the loop's exception handler
        and does not stop the other plugins' hooks or the close itself.
        """
