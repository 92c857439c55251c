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

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    import asyncio

    from loopkit.core.backends import ExecutorInfo, ResolverInfo
    from loopkit.core.poller import PollerInfo

# ----------------------------------------------------------------------
# The markers
# ----------------------------------------------------------------------
#
# pluggy recognises a hook specification or implementation by one attribute
# on the function, named after the project (``loopkit_spec``,
# ``loopkit_impl``), holding a dict of the marker's options. These markers set
# exactly the attribute and the dict that ``pluggy.HookspecMarker("loopkit")``
# and ``pluggy.HookimplMarker("loopkit")`` set, so a function marked here is a
# pluggy hook in every respect and a plugin may use either marker. They are
# loopkit's own because every plugin module imports its marker: a loop made
# only of loopkit's own plugins is assembled without importing pluggy (see
# :mod:`loopkit.core.assembly`), which is a third of what a trimmed loop's
# start-up costs over asyncio's.

_F = TypeVar("_F", bound=Callable[..., Any])


class _ProjectMarker:
    """A marker of one project's hooks: the project names the attribute it sets."""

    __slots__ = ("project_name",)

    def __init__(self, project_name: str) -> None:
        self.project_name = project_name


class HookspecMarker(_ProjectMarker):
    """Marks the methods of a class as hook specifications of one project."""

    __slots__ = ()

    @overload
    def __call__(
        self,
        function: _F,
        firstresult: bool = ...,
        historic: bool = ...,
        warn_on_impl: Warning | None = ...,
        warn_on_impl_args: Mapping[str, Warning] | None = ...,
    ) -> _F: ...

    @overload
    def __call__(
        self,
        function: None = ...,
        firstresult: bool = ...,
        historic: bool = ...,
        warn_on_impl: Warning | None = ...,
        warn_on_impl_args: Mapping[str, Warning] | None = ...,
    ) -> Callable[[_F], _F]: ...

    def __call__(
        self,
        function: _F | None = None,
        firstresult: bool = False,
        historic: bool = False,
        warn_on_impl: Warning | None = None,
        warn_on_impl_args: Mapping[str, Warning] | None = None,
    ) -> _F | Callable[[_F], _F]:
        """Mark ``function`` (or, called with options only, the function decorated next)."""
        opts = {
            "firstresult": firstresult,
            "historic": historic,
            "warn_on_impl": warn_on_impl,
            "warn_on_impl_args": warn_on_impl_args,
        }
        # Refused when the mark is applied, as pluggy does.
        refusal = "cannot have a historic firstresult hook" if historic and firstresult else None
        return _mark(function, self.project_name + "_spec", opts, refusal)


class HookimplMarker(_ProjectMarker):
    """Marks functions as hook implementations of one project.

    The options are pluggy's: ``tryfirst`` and ``trylast`` order the
    implementations of one hook, ``wrapper`` and ``hookwrapper`` make a
    wrapper, ``optionalhook`` lets a hook name that no specification knows
    pass validation, ``specname`` implements a hook under another name.
    """

    __slots__ = ()

    @overload
    def __call__(
        self,
        function: _F,
        hookwrapper: bool = ...,
        optionalhook: bool = ...,
        tryfirst: bool = ...,
        trylast: bool = ...,
        specname: str | None = ...,
        wrapper: bool = ...,
    ) -> _F: ...

    @overload
    def __call__(
        self,
        function: None = ...,
        hookwrapper: bool = ...,
        optionalhook: bool = ...,
        tryfirst: bool = ...,
        trylast: bool = ...,
        specname: str | None = ...,
        wrapper: bool = ...,
    ) -> Callable[[_F], _F]: ...

    def __call__(
        self,
        function: _F | None = None,
        hookwrapper: bool = False,
        optionalhook: bool = False,
        tryfirst: bool = False,
        trylast: bool = False,
        specname: str | None = None,
        wrapper: bool = False,
    ) -> _F | Callable[[_F], _F]:
        """Mark ``function`` (or, called with options only, the function decorated next)."""
        opts = {
            "wrapper": wrapper,
            "hookwrapper": hookwrapper,
            "optionalhook": optionalhook,
            "tryfirst": tryfirst,
            "trylast": trylast,
            "specname": specname,
        }
        return _mark(function, self.project_name + "_impl", opts)


def _mark(
    function: _F | None, attribute: str, opts: dict[str, Any], refusal: str | None = None
) -> _F | Callable[[_F], _F]:
    def mark(func: _F) -> _F:
        if refusal is not None:
            raise ValueError(refusal)
        setattr(func, attribute, opts)
        return func

    return mark if function is None else mark(function)


# ----------------------------------------------------------------------
# The specifications
# ----------------------------------------------------------------------

PROJECT_NAME = "loopkit"
#: The attributes the markers set, as pluggy names them for this project.
IMPL_MARK = PROJECT_NAME + "_impl"
SPEC_MARK = PROJECT_NAME + "_spec"
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
