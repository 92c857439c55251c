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
from types import FunctionType, MethodType, ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import asyncio

    from loopkit.core.backends import ExecutorInfo, ResolverInfo
    from loopkit.core.poller import PollerInfo

PROJECT_NAME = "loopkit"
ENTRY_POINT_GROUP = "loopkit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Marks a function of a plugin as the implementation of a loopkit hook.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


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


#: What pluggy can bind as a hook implementation (see ``pluggy._manager``).
_HOOKABLE = (FunctionType, staticmethod, classmethod, MethodType)
_IMPL_MARK = PROJECT_NAME + "_impl"
_SPEC_MARK = PROJECT_NAME + "_spec"
_ABSENT = object()
_ASK_PLUGGY = object()
#: Names that :func:`inspect.getattr_static` may answer from the module's
#: type instead of its namespace (``__dict__``, ``__class__``, ...).
_MODULE_TYPE_NAMES = frozenset(dir(ModuleType))


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, with a shortcut for the attributes of module plugins.

    ``register`` asks :meth:`parse_hookimpl_opts` about every name in
    ``dir(plugin)``, and pluggy answers each through
    :func:`inspect.getattr_static`: for loopkit's plugins, ~150 names and
    most of a millisecond of the first loop's assembly. For an ordinary
    module (the usual plugin) and a name that its type does not define, the
    static lookup is the module's ``__dict__`` entry, so this answers from
    it: a value pluggy cannot bind is not a hook, and a plain function is
    one exactly when it carries the ``@hookimpl`` mark. Everything else
    (class plugins, module subclasses, static and class methods, names such
    as ``__dict__`` that the module's type defines) goes to pluggy
    unchanged, and pluggy still validates every implementation it
    registers against its spec.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        if type(plugin) is ModuleType and name not in _MODULE_TYPE_NAMES:
            answer = _namespace_answer(plugin.__dict__, name, _IMPL_MARK)
            if answer is not _ASK_PLUGGY and answer is not _ABSENT:
                return answer
        return super().parse_hookimpl_opts(plugin, name)

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        # The same shortcut for loopkit's own spec class, a plain class
        # whose only base is object: names it does not define itself are
        # object's and type's C-level attributes, which pluggy cannot bind.
        if module_or_class is LoopkitSpec:
            answer = _namespace_answer(vars(LoopkitSpec), name, _SPEC_MARK)
            if answer is _ABSENT:
                return None
            if answer is not _ASK_PLUGGY:
                return answer
        return super().parse_hookspec_opts(module_or_class, name)


def _namespace_answer(namespace: Mapping[str, Any], name: str, mark: str) -> Any:
    """pluggy's answer for ``name`` when a static lookup finds it in ``namespace``.

    The marker options, or None: ``_ABSENT`` when the namespace lacks the
    name, ``_ASK_PLUGGY`` for the kinds of value that only pluggy's own
    rules settle (static and class methods, bound methods).
    """
    value = namespace.get(name, _ABSENT)
    if value is _ABSENT:
        return _ABSENT
    if not isinstance(value, _HOOKABLE):
        return None
    if type(value) is FunctionType:
        opts = getattr(value, mark, None)
        return opts if isinstance(opts, dict) else None
    return _ASK_PLUGGY


def new_manager() -> PluginManager:
    """A plugin manager that knows loopkit's hook specifications."""
    manager = PluginManager(PROJECT_NAME)
    manager.add_hookspecs(LoopkitSpec)
    return manager
