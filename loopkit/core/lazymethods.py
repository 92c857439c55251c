"""Loop methods whose module is imported the first time a loop looks them up.

A plugin that adds many methods (tcp adds ten, from four modules) would
otherwise import all of their code when a loop is assembled, although most
programs call two or three of them, and a short-lived program none. Every
module imported costs start-up time; for a trimmed loop, the plugin modules
are a large part of what it costs over asyncio's.

:func:`lazy_method` stands in for a method in the plugin's
``loopkit_loop_methods`` answer. The first lookup of the name, on any loop
of that class or on the class itself, imports the module and puts the real
function in the stand-in's place on the class: every later call is an
ordinary method call, with no lookup and no indirection left.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyMethod:
    """A loop class attribute that becomes ``module.function`` on first lookup.

    Made by :func:`lazy_method`. It is a non-data descriptor: the class
    statement (here, assembly's ``type(...)``) tells it the attribute name
    it stands under, and the first ``__get__`` replaces it, on the class
    that holds it, by the function it names.
    """

    __slots__ = ("_attribute", "function", "module")

    def __init__(self, module: str, function: str | None = None) -> None:
        if not isinstance(module, str) or not module:
            raise TypeError(f"lazy_method() needs a module name, got {module!r}")
        if function is not None and (not isinstance(function, str) or not function):
            raise TypeError(f"lazy_method() needs a function name or None, got {function!r}")
        self.module = module
        self.function = function
        self._attribute: str | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        if self._attribute is not None and self._attribute != name:
            raise TypeError(
                f"{self!r} already stands for {self._attribute!r}; "
                f"make one lazy_method() per loop attribute (here {name!r})"
            )
        self._attribute = name

    def load(self, attribute: str | None = None) -> Any:
        """Import the module and return the function (no class is changed).

        ``attribute`` is the loop attribute name, when the stand-in does not
        know it and names no function of its own.
        """
        name = self.function or self._attribute or attribute
        if name is None:
            raise TypeError(f"{self!r} names no function and stands for no attribute yet")
        module = importlib.import_module(self.module)
        try:
            return getattr(module, name)
        except AttributeError:
            raise AttributeError(
                f"lazy_method: module {self.module!r} has no attribute {name!r}"
            ) from None

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        holder, name = self._holder(owner or type(instance))
        function = self.load(name)
        if holder is not None and name is not None:
            setattr(holder, name, function)
        if instance is None or not hasattr(function, "__get__"):
            return function
        return function.__get__(instance, owner)

    def _holder(self, klass: type) -> tuple[type | None, str | None]:
        """The class in ``klass``'s MRO that holds this stand-in, and under which name."""
        for base in klass.__mro__:
            namespace = vars(base)
            if self._attribute is not None:
                if namespace.get(self._attribute) is self:
                    return base, self._attribute
                continue
            # Set on a class after it was made (so no __set_name__): look for it.
            for key, value in namespace.items():
                if value is self:
                    return base, key
        return None, self._attribute

    def __repr__(self) -> str:
        target = f"{self.module}.{self.function or self._attribute or '?'}"
        return f"<lazy method {target}>"


def lazy_method(module: str, function: str | None = None) -> LazyMethod:
    """A loop method imported from ``module`` the first time it is looked up.

    Return it in place of the function from ``loopkit_loop_methods`` or
    ``loopkit_loop_overrides``; ``function`` defaults to the loop attribute
    name it is returned under::

        @hookimpl
        def loopkit_loop_methods():
            return {"create_widget": lazy_method("my_plugin.widgets")}

    The plugin's top-level module then imports nothing of the method's code,
    and a loop that never calls it never imports it. A missing module or
    function shows up as :class:`ImportError` or :class:`AttributeError` at
    the first lookup; a test that calls (or looks up) every method the
    plugin adds catches that before users do.
    """
    return LazyMethod(module, function)
