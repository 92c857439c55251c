"""lazy_method: a loop method whose module is imported on first lookup.

The method modules here are real files on a temporary ``sys.path`` entry,
so "not imported yet" and "imported now" are what ``sys.modules`` says.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import loopkit
from loopkit.core import catalog, discovery
from loopkit.plugin import LazyMethod, hookimpl, lazy_method


@pytest.fixture
def method_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The name of a fresh module defining ``greet`` and ``shout`` loop methods."""
    name = f"lazy_methods_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            def greet(self, who):
                return f"hello {who} from {type(self).__name__}"

            def shout(self, who):
                return f"HELLO {who}"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


class LazyPlugin:
    """A plugin object adding the given attributes."""

    def __init__(self, **methods: Any) -> None:
        self._methods = methods

    @hookimpl
    def loopkit_loop_methods(self) -> dict[str, Any]:
        return self._methods


def test_the_module_is_imported_on_first_lookup_and_the_class_then_holds_the_function(
    method_module: str,
) -> None:
    loop = loopkit.new_event_loop(plugins=[LazyPlugin(greet=lazy_method(method_module))])
    try:
        assert method_module not in sys.modules
        assert isinstance(vars(type(loop))["greet"], LazyMethod)
        assert loop.greet("you") == "hello you from Loop"  # type: ignore[attr-defined]
        module = sys.modules[method_module]
        assert vars(type(loop))["greet"] is module.greet
        assert loop.greet.__func__ is module.greet  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_a_named_function_and_a_lookup_on_the_class(method_module: str) -> None:
    plugin = LazyPlugin(loud_greet=lazy_method(method_module, "shout"))
    loop = loopkit.new_event_loop(plugins=[plugin])
    try:
        function = type(loop).loud_greet  # type: ignore[attr-defined]
        assert function is sys.modules[method_module].shout
        assert loop.loud_greet("you") == "HELLO you"  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_a_subclass_lookup_replaces_the_stand_in_where_it_is_held(method_module: str) -> None:
    loop = loopkit.new_event_loop(plugins=[LazyPlugin(greet=lazy_method(method_module))])
    loop.close()
    base = type(loop)

    class Derived(base):  # type: ignore[valid-type, misc]
        pass

    assert Derived.greet is sys.modules[method_module].greet
    assert "greet" not in vars(Derived)
    assert vars(base)["greet"] is sys.modules[method_module].greet


def test_a_stand_in_set_on_a_class_after_it_was_made(method_module: str) -> None:
    class Holder:
        pass

    Holder.greet = lazy_method(method_module)  # type: ignore[attr-defined]
    assert Holder().greet("you") == "hello you from Holder"  # type: ignore[attr-defined]
    assert vars(Holder)["greet"] is sys.modules[method_module].greet


def test_a_missing_function_names_the_module_and_the_name(method_module: str) -> None:
    class Holder:
        whisper = lazy_method(method_module)

    with pytest.raises(AttributeError, match=rf"{method_module}.*'whisper'"):
        Holder().whisper  # noqa: B018
    assert isinstance(vars(Holder)["whisper"], LazyMethod)


def test_a_missing_module_is_an_import_error() -> None:
    class Holder:
        greet = lazy_method("loopkit_no_such_module_anywhere")

    with pytest.raises(ModuleNotFoundError, match="loopkit_no_such_module_anywhere"):
        Holder().greet  # noqa: B018


@pytest.mark.parametrize(
    ("args", "message"),
    [((None,), "module name"), (("",), "module name"), (("m", 3), "function name")],
)
def test_bad_arguments_are_type_errors(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        lazy_method(*args)


def test_one_stand_in_cannot_stand_for_two_names(method_module: str) -> None:
    shared = lazy_method(method_module, "greet")
    # Python 3.11 wraps an error of __set_name__ in a RuntimeError; 3.12 does not.
    with pytest.raises((TypeError, RuntimeError)) as raised:

        class Holder:
            greet = shared
            hello = shared

    assert "one lazy_method() per loop attribute" in str(raised.value.__cause__ or raised.value)


def test_the_stand_in_says_what_it_stands_for(method_module: str) -> None:
    class Holder:
        greet = lazy_method(method_module)

    assert repr(vars(Holder)["greet"]) == f"<lazy method {method_module}.greet>"


def test_builtin_methods_stay_unimported_until_used() -> None:
    """tcp's server code is not imported by a loop that only looks up create_connection."""
    loop = loopkit.new_event_loop(plugins=["tcp"])
    try:
        loop_class = type(loop)
        if not isinstance(vars(loop_class).get("create_server"), LazyMethod):
            pytest.skip("this process already looked create_server up on this loop class")
        assert callable(loop.create_server)
        assert not isinstance(vars(loop_class)["create_server"], LazyMethod)
    finally:
        loop.close()


def test_every_lazy_method_of_the_builtin_plugins_resolves() -> None:
    """A misspelt module or function name in a built-in plugin fails here, not for a user."""
    checked = 0
    for name, entry_point in discovery.builtin_entry_points().items():
        if name in catalog.FOREIGN_POLLERS:
            continue
        plugin = entry_point.load()
        for hook in ("loopkit_loop_methods", "loopkit_loop_overrides"):
            answer = getattr(plugin, hook, lambda: {})()
            for attribute, value in answer.items():
                if isinstance(value, LazyMethod):
                    assert callable(value.load(attribute)), (name, attribute)
                    checked += 1
    assert checked >= 11  # tcp's ten methods and start_tls
