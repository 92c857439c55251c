"""loopkit finds exactly the hook implementations pluggy finds.

:class:`loopkit.core.manager.PluginManager` answers ``parse_hookimpl_opts``
for the ordinary attributes of module plugins from the module's namespace
(pluggy's static lookup costs most of the first assembly). These tests hold
it to pluggy's own answer, attribute by attribute, for every built-in plugin
and for a module that has every kind of attribute pluggy distinguishes.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

import pluggy
import pytest

from loopkit import hookimpl
from loopkit.core import assembly, catalog, discovery
from loopkit.core.hookspecs import PROJECT_NAME, HookspecMarker, LoopkitSpec
from loopkit.core.manager import new_manager


def _pluggy() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(LoopkitSpec)
    return manager


class _Holder:
    @staticmethod
    @hookimpl
    def loopkit_requires() -> list[str]:
        return []


def _tricky_module() -> types.ModuleType:
    """A module plugin with each kind of attribute pluggy tells apart."""
    module = types.ModuleType("tricky")
    namespace: dict[str, Any] = {
        "loopkit_provides": hookimpl(lambda: ["x"]),
        "loopkit_requires": hookimpl(staticmethod(lambda: [])),
        "loopkit_loop_methods": hookimpl(classmethod(lambda cls: {})),
        "loopkit_pollers": _Holder.loopkit_requires,
        "bound": _Holder().__init__,
        "unmarked": lambda: None,
        "a_class": _Holder,
        "a_builtin": len,
        "a_number": 3,
        "renamed": hookimpl(specname="loopkit_executors")(lambda: []),
        "wrong_mark": lambda: None,
        "__getattr__": hookimpl(lambda name: None),
        "__doc__": "a module's own docstring",
    }
    namespace["wrong_mark"].loopkit_impl = "not a dict"
    module.__dict__.update(namespace)
    return module


class _LazyModule(types.ModuleType):
    """A module type of its own: its class attributes shadow the namespace."""

    @property
    def loopkit_provides(self) -> Any:
        raise AssertionError("pluggy must not evaluate a property")


def _module_subclass() -> types.ModuleType:
    module = _LazyModule("lazy")
    module.__dict__["loopkit_requires"] = hookimpl(lambda: [])
    return module


def _modules() -> list[object]:
    return [importlib.import_module(path) for path in discovery.BUILTIN.values()]


@pytest.mark.parametrize(
    "plugin", [*_modules(), _tricky_module(), _module_subclass(), _Holder, _Holder()]
)
def test_every_attribute_gets_the_answer_pluggy_gives(plugin: object) -> None:
    ours, theirs = new_manager(), _pluggy()
    for name in dir(plugin):
        assert ours.parse_hookimpl_opts(plugin, name) == theirs.parse_hookimpl_opts(plugin, name), (
            name
        )


def test_every_name_of_the_spec_class_gets_the_answer_pluggy_gives() -> None:
    ours, theirs = new_manager(), _pluggy()
    for name in dir(LoopkitSpec):
        assert ours.parse_hookspec_opts(LoopkitSpec, name) == theirs.parse_hookspec_opts(
            LoopkitSpec, name
        ), name
    assert sorted(vars(ours.hook)) == sorted(vars(theirs.hook))


def test_registering_finds_the_same_hooks_as_pluggy() -> None:
    for plugin in [*_modules(), _tricky_module(), _module_subclass()]:
        ours, theirs = new_manager(), _pluggy()
        found = []
        for manager in (ours, theirs):
            try:
                manager.register(plugin, name="p")
            except pluggy.PluginValidationError as exc:
                found.append(("refused", str(exc)))
                continue
            found.append(
                sorted(
                    (name, hook.get_hookimpls()[0].function.__name__)
                    for name, hook in vars(manager.hook).items()
                    if hook.get_hookimpls()
                )
            )
        assert found[0] == found[1], plugin


def _builtin_chosen(names: list[str]) -> list[tuple[str, object, Any]]:
    entry_points = discovery.builtin_entry_points()
    return [(name, entry_points[name].load(), entry_points[name]) for name in names]


_LOADABLE = [name for name in discovery.BUILTIN if name not in catalog.FOREIGN_POLLERS]


@pytest.mark.parametrize("names", [[name] for name in _LOADABLE] + [_LOADABLE])
def test_builtin_plugins_are_read_exactly_as_pluggy_registers_them(names: list[str]) -> None:
    """A set of loopkit's own plugins is assembled without pluggy: same hooks, same order."""
    chosen = _builtin_chosen(names)
    own = assembly._own_implementations(chosen)
    assert own is not None, "a built-in plugin marks something pluggy would have to order"
    assert own == assembly._pluggy_implementations(chosen)


def test_a_plugin_from_elsewhere_or_with_options_goes_to_pluggy() -> None:
    foreign = types.ModuleType("foreign")
    foreign.loopkit_requires = hookimpl(lambda: [])  # type: ignore[attr-defined]
    builtin = _builtin_chosen(["executor"])
    assert assembly._own_implementations([*builtin, ("foreign", foreign, None)]) is None
    # loopkit's own module under an entry point that names something else
    entry_point = discovery.EntryPoint("executor", "elsewhere.executor", None)
    assert assembly._own_implementations([("executor", builtin[0][1], entry_point)]) is None
    ordered = types.ModuleType("loopkit.plugins.tcp")
    ordered.loopkit_requires = hookimpl(tryfirst=True)(lambda: [])  # type: ignore[attr-defined]
    tcp = discovery.builtin_entry_points()["tcp"]
    assert assembly._own_implementations([("tcp", ordered, tcp)]) is None


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"tryfirst": True},
        {"trylast": True, "optionalhook": True},
        {"wrapper": True},
        {"hookwrapper": True, "specname": "loopkit_pollers"},
    ],
)
def test_the_impl_marker_marks_as_pluggys_does(options: dict[str, Any]) -> None:
    def ours() -> None: ...

    def theirs() -> None: ...

    hookimpl(**options)(ours)
    pluggy.HookimplMarker(PROJECT_NAME)(**options)(theirs)
    assert ours.loopkit_impl == theirs.loopkit_impl  # type: ignore[attr-defined]
    bare = hookimpl(lambda: None)
    assert bare.loopkit_impl == pluggy.HookimplMarker(PROJECT_NAME)(lambda: None).loopkit_impl  # type: ignore[attr-defined]


@pytest.mark.parametrize("options", [{}, {"firstresult": True}, {"historic": True}])
def test_the_spec_marker_marks_as_pluggys_does(options: dict[str, Any]) -> None:
    ours = HookspecMarker(PROJECT_NAME)(**options)(lambda: None)
    theirs = pluggy.HookspecMarker(PROJECT_NAME)(**options)(lambda: None)
    assert ours.loopkit_spec == theirs.loopkit_spec


def test_a_historic_firstresult_spec_is_refused_when_applied_as_pluggy_does() -> None:
    for marker in (HookspecMarker(PROJECT_NAME), pluggy.HookspecMarker(PROJECT_NAME)):
        mark = marker(historic=True, firstresult=True)
        with pytest.raises(ValueError, match="historic firstresult"):
            mark(lambda: None)
