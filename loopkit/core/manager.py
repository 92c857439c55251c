"""loopkit's pluggy plugin manager: the one module of the kernel that imports pluggy.

Assembly uses it for every plugin set that includes a plugin not shipped
with loopkit (third-party plugins, plugin objects passed to ``plugins=``):
pluggy then validates every hook implementation against
:class:`~loopkit.core.hookspecs.LoopkitSpec` and finds them all. Sets made
only of loopkit's own plugins, which the test suite validates through this
same manager, are read without it (see :mod:`loopkit.core.assembly`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import FunctionType, MethodType, ModuleType
from typing import Any

import pluggy

from loopkit.core.hookspecs import IMPL_MARK, PROJECT_NAME, SPEC_MARK, LoopkitSpec

#: What pluggy can bind as a hook implementation (see ``pluggy._manager``).
_HOOKABLE = (FunctionType, staticmethod, classmethod, MethodType)
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
            answer = _namespace_answer(plugin.__dict__, name, IMPL_MARK)
            if answer is not _ASK_PLUGGY and answer is not _ABSENT:
                return answer
        return super().parse_hookimpl_opts(plugin, name)

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        # The same shortcut for loopkit's own spec class, a plain class
        # whose only base is object: names it does not define itself are
        # object's and type's C-level attributes, which pluggy cannot bind.
        if module_or_class is LoopkitSpec:
            answer = _namespace_answer(vars(LoopkitSpec), name, SPEC_MARK)
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
