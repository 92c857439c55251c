"""The ``@hookspec`` and ``@hookimpl`` markers, without importing pluggy.

pluggy recognises a hook specification or implementation by one attribute
on the function, named after the project (``loopkit_spec``,
``loopkit_impl``), holding a dict of the marker's options. These markers set
exactly the attribute and the dict that ``pluggy.HookspecMarker("loopkit")``
and ``pluggy.HookimplMarker("loopkit")`` set, so a function marked here is a
pluggy hook in every respect, and a plugin may use either marker.

They live apart from pluggy because every plugin module imports its marker:
a trimmed loop made only of loopkit's own plugins is assembled without
importing pluggy at all (see :mod:`loopkit.core.assembly`), and importing
pluggy is a third of what such a loop's start-up costs over asyncio's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

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
