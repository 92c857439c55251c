"""A base for the small records of the plugin API, without :mod:`dataclasses`.

:class:`~loopkit.PollerInfo`, :class:`~loopkit.ResolverInfo`,
:class:`~loopkit.ExecutorInfo`, :class:`~loopkit.PluginRecord` and
:class:`~loopkit.Assembly` are made on every loop's import path. As
dataclasses they cost about 2 ms of a ~35 ms start-up (importing
:mod:`dataclasses` and :mod:`copy`, and generating each class's methods
with ``exec``). These classes behave as those dataclasses did for what a
user sees: keyword (or positional) construction with defaults, a repr
listing the fields, equality field by field with an instance of the same
class, and, for the frozen ones, a hash and an error on assignment.

What this module must never do: import anything at module level. The
assignment error is :class:`dataclasses.FrozenInstanceError` (an
:class:`AttributeError`), as before; :mod:`dataclasses` is imported only
when it is raised.
"""

from __future__ import annotations

from typing import Any


def always() -> bool:
    """The default ``is_available`` of a backend: available everywhere."""
    return True


class Record:
    """Fields in ``__slots__`` (in order), with repr and field-wise equality.

    A subclass lists its fields in ``__slots__`` and writes its own
    ``__init__`` (so that type checkers see the signature). A slot whose
    name starts with ``_`` is private state, not a field: it is left out of
    the repr and of equality.
    """

    __slots__ = ()

    def _names(self) -> list[str]:
        slots: tuple[str, ...] = self.__slots__
        return [name for name in slots if not name.startswith("_")]

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._names())

    def _set(self, *values: Any) -> None:
        """Set the fields, in ``__slots__`` order (for ``__init__``)."""
        for name, value in zip(self._names(), values, strict=True):
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._names())
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined, no-any-return]

    # Defining __eq__ without __hash__ makes instances unhashable, like a
    # dataclass that is not frozen.


class FrozenRecord(Record):
    """A :class:`Record` whose fields cannot be assigned after ``__init__``.

    ``__init__`` sets the fields with :meth:`Record._set`.
    """

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        import dataclasses

        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        import dataclasses

        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self) -> tuple[Any, ...]:
        # copy, deepcopy and pickle rebuild through __init__: the default
        # for slots would assign each field, which a frozen record refuses.
        return (type(self), self._fields())
