"""Turning a set of plugins into a loop class, once.

Theory of operation
-------------------
1. *Discovery* reads the ``loopkit`` entry-point group (see
   :mod:`loopkit.core.discovery`: by hand, through an index on disk, and not
   at all when only built-in plugins are named). Nothing is imported yet.
2. *Selection* decides which plugins a loop gets, from ``plugins=`` /
   ``exclude=`` or the ``LOOPKIT_*`` environment variables, adding the
   essential plugins, the built-in pollers and whatever the chosen plugins
   declare in ``loopkit_requires``. Only the selected plugins are imported.
3. *Assembly* registers them with a pluggy PluginManager (which validates
   every hook implementation against the specs), asks each for the
   attributes it adds or overrides, checks for conflicts, and builds one
   subclass of :class:`~loopkit.core.kernel.KernelLoop` whose namespace holds
   the plugins' functions directly. Methods nobody provides become stubs
   that raise :class:`~loopkit.core.errors.PluginNotEnabledError` naming
   the plugin to enable.
4. The result is cached per selection. After assembly a loop method is an
   ordinary method of an ordinary class: no hook dispatch, no proxy.

Precedence: kernel < ``loopkit_loop_methods`` < ``loopkit_loop_overrides``.
Two plugins adding one name, or two overriding one name, is an error that
names both; a plugin adding (rather than overriding) a kernel attribute is an
error that says to use ``loopkit_loop_overrides``.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pluggy

from loopkit.core import catalog, discovery
from loopkit.core.errors import (
    AssemblyError,
    PluginLoadWarning,
    PluginNotEnabledError,
    UnknownNameError,
)
from loopkit.core.hookspecs import PROJECT_NAME, LoopkitSpec
from loopkit.core.kernel import KernelLoop
from loopkit.core.poller import PollerInfo

if TYPE_CHECKING:
    from loopkit.core.discovery import Distribution, EntryPoint

#: Environment variables read when the matching argument is not given.
ENV_POLLER = "LOOPKIT_POLLER"
ENV_PLUGINS = "LOOPKIT_PLUGINS"
ENV_EXCLUDE = "LOOPKIT_EXCLUDE"
ENV_NO_AUTOLOAD = "LOOPKIT_DISABLE_PLUGIN_AUTOLOAD"
ENV_ENABLE = "LOOPKIT_ENABLE"

_OWN_DISTRIBUTION = "loopkit"

PluginSpec = str | object


@dataclass(frozen=True)
class PluginRecord:
    """A plugin as it took part in an assembly."""

    name: str
    plugin: object
    distribution: str | None
    version: str | None
    adds: tuple[str, ...]
    overrides: tuple[str, ...]
    pollers: tuple[str, ...]
    lifecycle: tuple[str, ...]

    @property
    def builtin(self) -> bool:
        """Whether the plugin ships with loopkit itself."""
        return self.distribution == _OWN_DISTRIBUTION


@dataclass
class Assembly:
    """The outcome of assembling one selection of plugins."""

    loop_class: type[KernelLoop]
    plugins: tuple[PluginRecord, ...]
    pollers: dict[str, tuple[PollerInfo, str]]
    providers: dict[str, str]
    skipped: tuple[tuple[str, str], ...] = ()
    _default_poller: str | None = field(default=None, repr=False)

    def available_pollers(self) -> list[str]:
        """Names of the pollers usable on this platform, best first."""
        usable = [
            (info.priority, name) for name, (info, _) in self.pollers.items() if info.is_available()
        ]
        return [name for _, name in sorted(usable, key=lambda item: (-item[0], item[1]))]

    def poller_info(self, name: str | None) -> PollerInfo:
        """The poller called ``name``, or the best available one for None."""
        if name is None:
            if self._default_poller is None:
                usable = self.available_pollers()
                if not usable:
                    raise AssemblyError(
                        "no poller is available: every poller plugin was "
                        "excluded or declined this platform"
                    )
                self._default_poller = usable[0]
            return self.pollers[self._default_poller][0]
        entry = self.pollers.get(name)
        if entry is None:
            raise UnknownNameError(
                f"unknown poller {name!r}; valid pollers here: "
                f"{', '.join(self.available_pollers()) or 'none'}"
            )
        info = entry[0]
        if not info.is_available():
            raise AssemblyError(
                f"poller {name!r} is not available on this platform "
                f"({sys.platform}); available: {', '.join(self.available_pollers())}"
            )
        return info


# ----------------------------------------------------------------------
# Discovery
# ----------------------------------------------------------------------


@functools.cache
def discover() -> dict[str, EntryPoint]:
    """Entry points of the ``loopkit`` group by name (cached until refreshed)."""
    found: dict[str, EntryPoint] = {}
    for entry_point in discovery.scan_entry_points():
        previous = found.get(entry_point.name)
        if previous is not None and previous.value != entry_point.value:
            raise AssemblyError(
                f"two distributions register a loopkit plugin named "
                f"{entry_point.name!r}: {_dist_label(previous)} "
                f"({previous.value}) and {_dist_label(entry_point)} "
                f"({entry_point.value}); uninstall one of them"
            )
        found[entry_point.name] = entry_point
    return found


def refresh_plugins() -> None:
    """Forget discovered entry points and assembled classes.

    Call it after installing or removing a plugin distribution in a running
    process (tests do); new loops are then assembled from scratch.
    """
    discover.cache_clear()
    _dist_name_version.cache_clear()
    _builtin_entry_points.cache_clear()
    with _cache_lock:
        _assemblies.clear()


@functools.cache
def _dist_name_version(dist: Distribution) -> tuple[str, str]:
    """A distribution's name and version (its metadata headers, read by hand)."""
    return dist.name_version()


def _installed(
    plugins: list[PluginSpec] | None, names: Iterable[str], autoload: bool
) -> Mapping[str, EntryPoint]:
    """The entry points a selection needs: loopkit's own, or all installed.

    A selection that names only built-in plugins, and autoloads no third-party
    one, is served from loopkit's own table without touching the disk.
    """
    if plugins is None and autoload:
        return discover()
    named = [spec for spec in plugins or () if isinstance(spec, str)]
    if all(name in discovery.BUILTIN for name in (*named, *names)):
        return _builtin_entry_points()
    return discover()


@functools.cache
def _builtin_entry_points() -> dict[str, EntryPoint]:
    return discovery.builtin_entry_points()


def _dist_label(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    if dist is None:
        return "an unknown distribution"
    name, version = _dist_name_version(dist)
    return f"{name} {version}"


def _split_names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


# ----------------------------------------------------------------------
# Selection
# ----------------------------------------------------------------------


def _plugin_key(spec: PluginSpec) -> Any:
    return spec if isinstance(spec, str) else ("object", id(spec))


def _load(name: str, entry_point: EntryPoint) -> object:
    try:
        return entry_point.load()
    except Exception as exc:
        raise _LoadFailure(name, f"{type(exc).__name__}: {exc}") from exc


class _LoadFailure(Exception):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, reason)
        self.name = name
        self.reason = reason


def _valid_names_message(available: Iterable[str]) -> str:
    return ", ".join(sorted(available)) or "none"


def _select(
    plugins: Iterable[PluginSpec] | None,
    exclude: Iterable[str],
    autoload_third_party: bool,
    enable: Iterable[str] = (),
) -> tuple[
    list[tuple[str, object, EntryPoint | None]],
    list[tuple[str, str]],
]:
    """Import the selected plugins; return them and the skipped ones."""
    excluded = set(exclude)
    plugins = None if plugins is None else list(plugins)
    enable = tuple(enable)
    installed = _installed(plugins, (*excluded, *enable), autoload_third_party)
    for name in sorted(excluded):
        if name not in installed:
            raise UnknownNameError(
                f"cannot exclude unknown plugin {name!r}; installed plugins: "
                f"{_valid_names_message(installed)}"
            )
        if name in catalog.ESSENTIAL_PLUGINS:
            raise AssemblyError(
                f"plugin {name!r} is essential (asyncio.run and asyncio.Runner "
                f"need it) and cannot be excluded"
            )

    explicit: dict[str, object | None] = {}
    if plugins is None:
        for name, entry_point in installed.items():
            own = _dist_of(entry_point)[0] == _OWN_DISTRIBUTION
            if name in excluded or name in catalog.OPT_IN_PLUGINS:
                continue
            if autoload_third_party or own:
                explicit.setdefault(name, None)
        asked_by_name: set[str] = set()
    else:
        asked_by_name = set()
    plugins = [*(plugins or ()), *enable] if enable else plugins
    if plugins is not None:
        for spec in plugins:
            if isinstance(spec, str):
                if spec not in installed:
                    raise UnknownNameError(
                        f"unknown plugin {spec!r}; installed plugins: "
                        f"{_valid_names_message(installed)}"
                    )
                if spec in excluded:
                    raise AssemblyError(
                        f"plugin {spec!r} is both requested and excluded; "
                        f"remove it from one of the two lists"
                    )
                explicit[spec] = None
                asked_by_name.add(spec)
            else:
                name = (
                    getattr(spec, "LOOPKIT_PLUGIN_NAME", None)
                    or getattr(spec, "__name__", None)
                    or type(spec).__name__
                )
                explicit[str(name)] = spec
        for name in (*catalog.ESSENTIAL_PLUGINS, *catalog.BUILTIN_POLLERS):
            if name in installed and name not in excluded:
                explicit.setdefault(name, None)
    for name in catalog.ESSENTIAL_PLUGINS:
        if name not in installed:
            raise AssemblyError(
                f"essential plugin {name!r} is not registered: the loopkit "
                f"installation is broken (reinstall loopkit)"
            )

    chosen: list[tuple[str, object, EntryPoint | None]] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    pending = list(explicit.items())
    while pending:
        name, obj = pending.pop(0)
        if name in seen:
            continue
        seen.add(name)
        source = installed.get(name) if obj is None else None
        if obj is None and source is not None:
            try:
                obj = _load(name, source)
            except _LoadFailure as failure:
                if name in asked_by_name or name in catalog.ESSENTIAL_PLUGINS:
                    raise AssemblyError(
                        f"plugin {name!r} was requested but failed to import: {failure.reason}"
                    ) from failure.__cause__
                warnings.warn(
                    f"loopkit plugin {name!r} failed to import and was skipped: {failure.reason}",
                    PluginLoadWarning,
                    stacklevel=4,
                )
                skipped.append((name, failure.reason))
                continue
        chosen.append((name, obj, source))
        requires = getattr(obj, "loopkit_requires", None)
        for required in requires() if callable(requires) else ():
            if required in excluded:
                raise AssemblyError(
                    f"plugin {name!r} requires plugin {required!r}, which is excluded"
                )
            if required not in installed and installed is _builtin_entry_points():
                installed = discover()  # a plugin object may require a foreign one
            if required not in installed:
                raise AssemblyError(
                    f"plugin {name!r} requires plugin {required!r}, which is not "
                    f"installed; installed plugins: {_valid_names_message(installed)}"
                )
            if required not in seen:
                asked_by_name.add(required)
                pending.append((required, None))
    return chosen, skipped


# ----------------------------------------------------------------------
# Assembly
# ----------------------------------------------------------------------


def _kernel_attributes() -> set[str]:
    names: set[str] = set()
    for klass in KernelLoop.__mro__:
        if klass is object:
            continue
        if klass.__module__.startswith("asyncio"):
            continue
        names.update(vars(klass))
    return names


def _missing_method_stub(name: str, message: str) -> Callable[..., Any]:
    def missing(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise PluginNotEnabledError(message)

    missing.__name__ = name
    missing.__qualname__ = f"Loop.{name}"
    missing.__doc__ = message
    missing.loopkit_missing = True  # type: ignore[attr-defined]
    return missing


def _missing_message(name: str, installed: Mapping[str, Any], excluded: set[str]) -> str:
    owner = catalog.BUILTIN_METHOD_OWNERS.get(name)
    if owner is None:
        return (
            f"loop.{name}() is not provided by any plugin enabled in this loop "
            f"(enabled plugins are listed by 'python -m loopkit')"
        )
    if owner not in installed:
        return (
            f"loop.{name}() is provided by the {owner!r} plugin, which is not "
            f"installed in this environment (reinstall loopkit)"
        )
    how = (
        f"remove {owner!r} from exclude= / {ENV_EXCLUDE}"
        if owner in excluded
        else f"add {owner!r} to plugins= (loopkit.new_event_loop(plugins=[..., "
        f"{owner!r}])) or to {ENV_PLUGINS}"
    )
    return (
        f"loop.{name}() is provided by the {owner!r} plugin, which is not "
        f"enabled in this loop; to enable it, {how}"
    )


def _dist_of(
    entry_point: EntryPoint | None,
) -> tuple[str | None, str | None]:
    if entry_point is None or entry_point.dist is None:
        return None, None
    return _dist_name_version(entry_point.dist)


def _build(
    chosen: list[tuple[str, object, EntryPoint | None]],
    skipped: list[tuple[str, str]],
    excluded: set[str],
) -> Assembly:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(LoopkitSpec)
    for name, obj, _ in chosen:
        try:
            manager.register(obj, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise AssemblyError(f"plugin {name!r} cannot be registered: {exc}") from exc

    def results(hook_name: str) -> list[tuple[str, Any]]:
        hook = getattr(manager.hook, hook_name)
        out = []
        for impl in sorted(hook.get_hookimpls(), key=lambda impl: impl.plugin_name):
            out.append((impl.plugin_name, impl.function()))
        return out

    kernel_names = _kernel_attributes()
    providers: dict[str, str] = {
        name: catalog.KERNEL for name in catalog.abstract_loop_methods() if name in kernel_names
    }
    namespace: dict[str, Any] = {}
    added: dict[str, list[str]] = {}
    for plugin_name, attributes in results("loopkit_loop_methods"):
        for attr, value in (attributes or {}).items():
            if attr in kernel_names:
                raise AssemblyError(
                    f"plugin {plugin_name!r} adds {attr!r}, which the kernel already "
                    f"defines; a plugin that means to replace it must return it from "
                    f"loopkit_loop_overrides"
                )
            if attr in namespace:
                raise AssemblyError(
                    f"plugins {providers[attr]!r} and {plugin_name!r} both add "
                    f"{attr!r}; exclude one of them, or have one declare it in "
                    f"loopkit_loop_overrides"
                )
            namespace[attr] = value
            providers[attr] = plugin_name
            added.setdefault(plugin_name, []).append(attr)
    overridden: dict[str, str] = {}
    overrides_by_plugin: dict[str, list[str]] = {}
    for plugin_name, attributes in results("loopkit_loop_overrides"):
        for attr, value in (attributes or {}).items():
            if attr in overridden:
                raise AssemblyError(
                    f"plugins {overridden[attr]!r} and {plugin_name!r} both override "
                    f"{attr!r}; exclude one of them"
                )
            overridden[attr] = plugin_name
            namespace[attr] = value
            providers[attr] = plugin_name
            overrides_by_plugin.setdefault(plugin_name, []).append(attr)

    pollers: dict[str, tuple[PollerInfo, str]] = {}
    pollers_by_plugin: dict[str, list[str]] = {}
    for plugin_name, infos in results("loopkit_pollers"):
        for info in infos or ():
            if info.name in pollers:
                raise AssemblyError(
                    f"plugins {pollers[info.name][1]!r} and {plugin_name!r} both "
                    f"offer a poller named {info.name!r}; exclude one of them"
                )
            pollers[info.name] = (info, plugin_name)
            pollers_by_plugin.setdefault(plugin_name, []).append(info.name)

    created = tuple(impl.function for impl in manager.hook.loopkit_loop_created.get_hookimpls())
    closing = tuple(
        (impl.plugin_name, impl.function)
        for impl in manager.hook.loopkit_loop_closing.get_hookimpls()
    )
    lifecycle: dict[str, list[str]] = {}
    for hook_name in ("loopkit_loop_created", "loopkit_loop_closing"):
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            lifecycle.setdefault(impl.plugin_name, []).append(hook_name)

    installed = discovery.BUILTIN
    for method in catalog.abstract_loop_methods():
        if method not in providers:
            namespace[method] = _missing_method_stub(
                method, _missing_message(method, installed, excluded)
            )
    namespace["_loopkit_created_hooks"] = created
    namespace["_loopkit_closing_hooks"] = closing
    namespace["__module__"] = "loopkit"
    namespace["__qualname__"] = "Loop"
    namespace["__doc__"] = (
        "An asyncio event loop assembled by loopkit from the plugins: "
        + ", ".join(name for name, _, _ in chosen)
    )
    loop_class = cast(type[KernelLoop], type("Loop", (KernelLoop,), namespace))

    records = []
    for name, obj, entry_point in chosen:
        dist, version = _dist_of(entry_point)
        records.append(
            PluginRecord(
                name=name,
                plugin=obj,
                distribution=dist,
                version=version,
                adds=tuple(sorted(added.get(name, ()))),
                overrides=tuple(sorted(overrides_by_plugin.get(name, ()))),
                pollers=tuple(pollers_by_plugin.get(name, ())),
                lifecycle=tuple(lifecycle.get(name, ())),
            )
        )
    assembly = Assembly(
        loop_class=loop_class,
        plugins=tuple(sorted(records, key=lambda record: record.name)),
        pollers=pollers,
        providers=providers,
        skipped=tuple(skipped),
    )
    loop_class._loopkit_assembly = assembly
    return assembly


_cache_lock = threading.Lock()
_assemblies: dict[Any, Assembly] = {}


def assemble(
    plugins: Iterable[PluginSpec] | None = None,
    exclude: Iterable[str] | None = None,
    enable: Iterable[str] | None = None,
) -> Assembly:
    """Assemble (or fetch from the cache) the loop class for a selection.

    ``plugins``: None for every installed plugin except the opt-in ones
    (unless ``LOOPKIT_PLUGINS`` names some), or an iterable of plugin names
    and plugin objects; the essential plugins and the built-in pollers are
    always added. ``exclude``: plugin names to leave out (default:
    ``LOOPKIT_EXCLUDE``). ``enable``: plugin names to add to whichever set the
    other two give, typically opt-in plugins such as ``instruments``
    (default: ``LOOPKIT_ENABLE``).
    """
    environ = os.environ
    if plugins is None:
        plugins = _split_names(environ.get(ENV_PLUGINS))
    if exclude is None:
        exclude = _split_names(environ.get(ENV_EXCLUDE)) or ()
    if enable is None:
        enable = _split_names(environ.get(ENV_ENABLE)) or ()
    for names, argument in ((exclude, "exclude"), (enable, "enable")):
        if isinstance(names, str):
            raise TypeError(f"{argument} must be an iterable of plugin names, not a string")
    autoload = not environ.get(ENV_NO_AUTOLOAD)
    plugin_list = None if plugins is None else list(plugins)
    if plugin_list is not None and any(isinstance(p, str) and "," in p for p in plugin_list):
        raise UnknownNameError("plugin names contain no commas; pass a list of names")
    excluded = frozenset(exclude)
    enabled = tuple(enable)
    key = (
        None if plugin_list is None else tuple(_plugin_key(p) for p in plugin_list),
        excluded,
        enabled,
        autoload,
    )
    cached = _assemblies.get(key)
    if cached is not None:
        return cached
    with _cache_lock:
        cached = _assemblies.get(key)
        if cached is not None:
            return cached
        chosen, skipped = _select(plugin_list, excluded, autoload, enabled)
        assembly = _build(chosen, skipped, set(excluded))
        _assemblies[key] = assembly
        return assembly


def new_event_loop(
    *,
    poller: str | None = None,
    plugins: Iterable[PluginSpec] | None = None,
    exclude: Iterable[str] | None = None,
    enable: Iterable[str] | None = None,
) -> KernelLoop:
    """Make a new loopkit event loop.

    ``poller`` names the I/O backend (default: ``LOOPKIT_POLLER``, else the
    best available). ``plugins`` / ``exclude`` / ``enable`` trim or extend the
    loop (see :func:`assemble`). Errors name the valid choices.
    """
    assembly = assemble(plugins, exclude, enable)
    if poller is None:
        poller = os.environ.get(ENV_POLLER) or None
    info = assembly.poller_info(poller)
    return assembly.loop_class(info.create())
