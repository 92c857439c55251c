"""The type of ``plugins=`` / ``exclude=`` / ``enable=``: names, never one string.

``plugins="tcp"`` is an easy mistake that an ``Iterable[str]`` hint lets
through (a string is an iterable of one-letter strings). :class:`NameSequence`
is a protocol that ``list`` and ``tuple`` satisfy and ``str`` does not (its
``__contains__`` accepts only strings), so mypy rejects a bare string;
:func:`name_list` rejects it at run time for callers that mypy does not check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Set
from typing import Any, Protocol, SupportsIndex, TypeAlias, TypeVar, overload

_T_co = TypeVar("_T_co", covariant=True)


class NameSequence(Protocol[_T_co]):
    """A sequence that is not a ``str``: ``list``, ``tuple``, ``range``-like types."""

    @overload
    def __getitem__(self, index: SupportsIndex, /) -> _T_co: ...
    @overload
    def __getitem__(self, index: slice, /) -> Sequence[_T_co]: ...
    def __contains__(self, value: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[_T_co]: ...


#: A plugin given by name or as a plugin object.
PluginSpec: TypeAlias = str | object
#: ``plugins=``: a list, tuple or set of plugin names and plugin objects.
PluginSpecs: TypeAlias = NameSequence[PluginSpec] | Set[PluginSpec]
#: ``exclude=`` / ``enable=``: a list, tuple or set of plugin names.
Names: TypeAlias = NameSequence[str] | Set[str]


def name_list(value: Iterable[Any] | None, argument: str) -> list[Any] | None:
    """``value`` as a list (None stays None); a ``str`` is a TypeError that says why."""
    if value is None:
        return None
    if isinstance(value, str | bytes):
        raise TypeError(
            f"{argument} must be an iterable of plugin names, not a string "
            f"(write {argument}=[{value!r}])"
        )
    return list(value)
