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
   every hook implementation against the specs; a set made only of
   loopkit's own plugins, validated by the test suite, is read without
   importing pluggy), asks each for the
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import FunctionType, ModuleType
from typing import TYPE_CHECKING, Any, cast

from loopkit.core import catalog, discovery
from loopkit.core.backends import ExecutorInfo, ResolverInfo
from loopkit.core.errors import (
    AssemblyError,
    PluginAttributeNotEnabledError,
    PluginLoadWarning,
    PluginNotEnabledError,
    UnknownNameError,
)
from loopkit.core.hookspecs import IMPL_MARK, LoopkitSpec, hookimpl
from loopkit.core.kernel import KernelLoop
from loopkit.core.names import Names, PluginSpec, PluginSpecs, name_list
from loopkit.core.poller import PollerInfo
from loopkit.core.records import FrozenRecord, Record

if TYPE_CHECKING:
    from loopkit.core.discovery import Distribution, EntryPoint

#: Environment variables read when the matching argument is not given.
ENV_POLLER = "LOOPKIT_POLLER"
ENV_PLUGINS = "LOOPKIT_PLUGINS"
ENV_EXCLUDE = "LOOPKIT_EXCLUDE"
ENV_NO_AUTOLOAD = "LOOPKIT_DISABLE_PLUGIN_AUTOLOAD"
ENV_ENABLE = "LOOPKIT_ENABLE"
ENV_RESOLVER = "LOOPKIT_RESOLVER"
ENV_EXECUTOR = "LOOPKIT_EXECUTOR"

_OWN_DISTRIBUTION = discovery.OWN_DISTRIBUTION

# Every new_event_loop() reads up to seven LOOPKIT_* variables, most of them
# unset. os.environ.get() encodes the name and decodes the value in Python
# (about 0.5 µs a read, a third of making a loop); on POSIX the mapping keeps
# the raw bytes in a plain dict, which answers an unset name in a few tens of
# nanoseconds. os.environ writes go through that dict, so it is never stale.
_RAW_ENVIRON: Any = getattr(os.environ, "_data", None)
if not (isinstance(_RAW_ENVIRON, dict) and os.name == "posix"):  # pragma: no cover
    _RAW_ENVIRON = None


def getenv(name: str) -> str | None:
    """``os.environ.get(name)``, cheaper where the platform allows."""
    raw = _RAW_ENVIRON
    if raw is None:  # pragma: no cover - not POSIX
        return os.environ.get(name)
    value = raw.get(os.fsencode(name))
    return None if value is None else os.fsdecode(value)


class PluginRecord(FrozenRecord):
    """A plugin as it took part in an assembly (immutable)."""

    # Field order, not sorted: it is the order of construction and of the repr.
    __slots__ = (  # noqa: RUF023
        "name",
        "plugin",
        "distribution",
        "version",
        "adds",
        "overrides",
        "pollers",
        "lifecycle",
        "resolvers",
        "executors",
    )

    name: str
    plugin: object
    distribution: str | None
    version: str | None
    adds: tuple[str, ...]
    overrides: tuple[str, ...]
    pollers: tuple[str, ...]
    lifecycle: tuple[str, ...]
    resolvers: tuple[str, ...]
    executors: tuple[str, ...]

    def __init__(
        self,
        name: str,
        plugin: object,
        distribution: str | None,
        version: str | None,
        adds: tuple[str, ...],
        overrides: tuple[str, ...],
        pollers: tuple[str, ...],
        lifecycle: tuple[str, ...],
        resolvers: tuple[str, ...] = (),
        executors: tuple[str, ...] = (),
    ) -> None:
        self._set(
            name,
            plugin,
            distribution,
            version,
            adds,
            overrides,
            pollers,
            lifecycle,
            resolvers,
            executors,
        )

    @property
    def builtin(self) -> bool:
        """Whether the plugin ships with loopkit itself."""
        return discovery.is_own_name(self.distribution)


Backend = PollerInfo | ResolverInfo | ExecutorInfo


def _best_first(table: Mapping[str, tuple[Backend, str]]) -> list[str]:
    """Names of the available backends of ``table``, highest priority first."""
    usable = [(info.priority, name) for name, (info, _) in table.items() if info.is_available()]
    return [name for _, name in sorted(usable, key=lambda item: (-item[0], item[1]))]


class Assembly(Record):
    """The outcome of assembling one selection of plugins.

    ``resolver`` and ``executor`` are the names of the backends built into
    ``loop_class`` (None when no enabled plugin offers one); ``resolvers``
    and ``executors`` are every backend offered, available or not, with
    the plugin offering it. ``problems`` is empty except for an assembly
    made by :func:`diagnose`, where it explains each conflict that a normal
    assembly refuses.
    """

    # Field order, not sorted: it is the order of construction and of the repr.
    __slots__ = (  # noqa: RUF023
        "loop_class",
        "plugins",
        "pollers",
        "providers",
        "skipped",
        "resolvers",
        "executors",
        "resolver",
        "executor",
        "problems",
        "excluded",
        "_default_poller",
    )

    loop_class: type[KernelLoop]
    plugins: tuple[PluginRecord, ...]
    pollers: dict[str, tuple[PollerInfo, str]]
    providers: dict[str, str]
    skipped: tuple[tuple[str, str], ...]
    resolvers: dict[str, tuple[ResolverInfo, str]]
    executors: dict[str, tuple[ExecutorInfo, str]]
    resolver: str | None
    executor: str | None
    #: What assembly found wrong and went on without (see :func:`diagnose`).
    problems: tuple[str, ...]
    excluded: frozenset[str]
    _default_poller: str | None

    def __init__(
        self,
        loop_class: type[KernelLoop],
        plugins: tuple[PluginRecord, ...],
        pollers: dict[str, tuple[PollerInfo, str]],
        providers: dict[str, str],
        skipped: tuple[tuple[str, str], ...] = (),
        resolvers: dict[str, tuple[ResolverInfo, str]] | None = None,
        executors: dict[str, tuple[ExecutorInfo, str]] | None = None,
        resolver: str | None = None,
        executor: str | None = None,
        problems: tuple[str, ...] = (),
        excluded: frozenset[str] = frozenset(),
    ) -> None:
        self._set(
            loop_class,
            plugins,
            pollers,
            providers,
            skipped,
            {} if resolvers is None else resolvers,
            {} if executors is None else executors,
            resolver,
            executor,
            problems,
            excluded,
        )
        # Not a field (no repr, no equality): the poller chosen when none is named.
        self._default_poller = None

    def available_pollers(self) -> list[str]:
        """Names of the pollers usable on this platform, best first."""
        return _best_first(self.pollers)

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
        info: PollerInfo = _choose("poller", self.pollers, name, self)
        return info


def _choose(kind: str, table: Mapping[str, tuple[Any, str]], name: str, assembly: Any) -> Any:
    """The backend called ``name`` in ``table``, or an error that helps.

    An unknown name lists the valid ones and, when an installed plugin that
    this loop does not enable offers that name, says which and how to
    enable it. A known but unavailable one says why, and how to get it.
    """
    entry = table.get(name)
    if (
        entry is None
        and kind == "poller"
        and name in catalog.FOREIGN_POLLERS
        and name not in assembly.excluded
    ):
        raise AssemblyError(
            f"poller {name!r} is not available on this platform ({sys.platform}) "
            f"(plugin {name!r}); available: {', '.join(_best_first(table)) or 'none'}"
        )
    if entry is None:
        message = (
            f"unknown {kind} {name!r}; valid {kind}s here: "
            f"{', '.join(_best_first(table)) or 'none'}"
        )
        elsewhere = _disabled_offering(kind, name, assembly)
        if elsewhere:
            message += f". {elsewhere}"
        raise UnknownNameError(message)
    info = entry[0]
    if not info.is_available():
        hint = getattr(info, "install_hint", "")
        reason = f": {hint}" if hint else f" on this platform ({sys.platform})"
        raise AssemblyError(
            f"{kind} {name!r} is not available{reason} (plugin {entry[1]!r}); "
            f"available: {', '.join(_best_first(table)) or 'none'}"
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
        # The same plugin twice (a stale ``loopkit.egg-info`` of the old
        # distribution name beside an install): loopkit's own copy wins.
        if previous is None or not discovery.is_own(previous.dist):
            found[entry_point.name] = entry_point
    return found


def refresh_plugins() -> None:
    """Forget discovered entry points and assembled classes.

    Call it after installing or removing a plugin distribution in a running
    process (tests do); new loops are then assembled from scratch.
    """
    discover.cache_clear()
    _dist_name_version.cache_clear()
    _offers.clear()
    _seen_methods.clear()
    discovery.forget_remembered_methods()
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
            own = discovery.is_own_name(_dist_of(entry_point)[0])
            if name in excluded or name in catalog.OPT_IN_PLUGINS:
                continue
            if own and name in catalog.FOREIGN_POLLERS:
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
            if name in installed and name not in excluded and name not in catalog.FOREIGN_POLLERS:
                explicit.setdefault(name, None)
    for name in catalog.ESSENTIAL_PLUGINS:
        if name not in installed:
            raise AssemblyError(
                f"essential plugin {name!r} is not registered: the loopkit "
                f"installation is broken (reinstall loopkit-asyncio)"
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
        needed = _names_answer(name, "loopkit_requires", requires() if callable(requires) else ())
        for required in needed:
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


# ----------------------------------------------------------------------
# What plugins that a loop does not enable would offer (error path only)
# ----------------------------------------------------------------------

#: Per installed plugin name: what its hooks declare, by kind ("method",
#: "poller", "resolver", "executor"). Filled only when an error message
#: needs it; cleared by refresh_plugins().
_offers: dict[str, dict[str, tuple[str, ...]]] = {}

_OFFER_HOOKS = (
    ("method", "loopkit_provides"),
    ("poller", "loopkit_pollers"),
    ("resolver", "loopkit_resolvers"),
    ("executor", "loopkit_executors"),
)


def _plugin_offers(name: str) -> dict[str, tuple[str, ...]]:
    """What the installed plugin ``name`` offers, by kind.

    Imports the plugin's top-level module: only an error message or the CLI
    asks, never the assembly of a loop, so a plugin a loop does not enable
    stays unimported on the happy path. A plugin that fails to import, or
    whose hook fails, offers nothing here (its own error shows elsewhere).
    """
    found = _offers.get(name)
    if found is not None:
        return found
    found = {}
    entry_point = discover().get(name)
    try:
        plugin = entry_point.load() if entry_point is not None else None
    except Exception:
        plugin = None
    for kind, hook_name in _OFFER_HOOKS:
        hook = getattr(plugin, hook_name, None)
        if not callable(hook):
            continue
        try:
            answer = hook()
        except Exception:
            continue
        found[kind] = tuple(
            item if isinstance(item, str) else str(getattr(item, "name", ""))
            for item in answer or ()
        )
    _offers[name] = found
    return found


def _how_to_enable(owner: str, excluded: frozenset[str]) -> str:
    if owner in excluded:
        return f"remove {owner!r} from exclude= / {ENV_EXCLUDE}"
    if owner in catalog.OPT_IN_PLUGINS:
        return (
            f"add {owner!r} to enable= (loopkit.new_event_loop(enable=[{owner!r}])) "
            f"or to {ENV_ENABLE}"
        )
    return (
        f"add {owner!r} to plugins= (loopkit.new_event_loop(plugins=[..., "
        f"{owner!r}])) or to {ENV_PLUGINS}"
    )


def _disabled_owner(kind: str, name: str, assembly: Assembly) -> str | None:
    """The installed plugin, not enabled in ``assembly``, that offers ``name``."""
    enabled = {record.name for record in assembly.plugins}
    for plugin_name in sorted(discover()):
        if plugin_name not in enabled and name in _plugin_offers(plugin_name).get(kind, ()):
            return plugin_name
    return None


def _disabled_offering(kind: str, name: str, assembly: Assembly) -> str:
    owner = _disabled_owner(kind, name, assembly)
    if owner is None:
        return ""
    return (
        f"{kind} {name!r} is offered by the {owner!r} plugin, which is installed "
        f"but not enabled in this loop; to enable it, {_how_to_enable(owner, assembly.excluded)}"
    )


def expected_provider(name: str, assembly: Assembly) -> str | None:
    """The plugin that would provide loop attribute ``name``, were it enabled.

    For the CLI's listing of missing methods; imports the plugins that the
    assembly does not enable (see :func:`_plugin_offers`).
    """
    return _disabled_owner("method", name, assembly)


def _missing_message(name: str, assembly: Assembly) -> str:
    owner = _disabled_owner("method", name, assembly)
    if owner is None:
        return (
            f"loop.{name}() is not provided by any plugin enabled in this loop "
            f"(enabled plugins are listed by 'python -m loopkit')"
        )
    return (
        f"loop.{name}() is provided by the {owner!r} plugin, which is not "
        f"enabled in this loop; to enable it, {_how_to_enable(owner, assembly.excluded)}"
    )


def _missing_method_stub(name: str) -> Callable[..., Any]:
    def missing(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise PluginNotEnabledError(_missing_message(name, type(self)._loopkit_assembly))

    missing.__name__ = name
    missing.__qualname__ = f"Loop.{name}"
    missing.__doc__ = (
        f"loop.{name}() is not provided by the plugins of this loop; calling it "
        f"raises PluginNotEnabledError naming the plugin that provides it."
    )
    missing.loopkit_missing = True  # type: ignore[attr-defined]
    return missing


def _not_enabled_attribute(name: str, owner: str) -> property:
    """A loop attribute that only the plugin ``owner``, not enabled here, provides.

    Reading it raises PluginAttributeNotEnabledError (an AttributeError, so
    ``hasattr`` is False) naming the plugin. Put on the class at assembly for
    the names known without importing anything (see :func:`_known_extras`):
    a loop class with ``__getattr__`` would do this for any name, but would
    make every attribute read on the loop slower (CPython specialises no
    attribute access on a class whose lookup is overridden).
    """

    def explain(self: Any) -> Any:
        if owner not in discover():
            # Remembered from an earlier process, uninstalled since.
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        excluded = type(self)._loopkit_assembly.excluded
        raise PluginAttributeNotEnabledError(
            f"loop.{name} is provided by the {owner!r} plugin, which is not "
            f"enabled in this loop; to enable it, {_how_to_enable(owner, excluded)}"
        )

    return property(explain, doc=f"Provided by the {owner!r} plugin, not enabled in this loop.")


#: Per plugin name: the loop attributes it added to a loop assembled in this
#: process (cleared by refresh_plugins()). With the built-in table and what
#: third-party plugins added in earlier processes
#: (:func:`loopkit.core.discovery.remembered_methods`), what a loop without
#: that plugin can explain without importing it.
_seen_methods: dict[str, tuple[str, ...]] = {}


def _known_extras(enabled: set[str]) -> dict[str, str]:
    """Attribute name -> the not-enabled plugin known to provide it."""
    known: dict[str, str] = {}
    for source in (catalog.BUILTIN_EXTRA_METHODS, _seen_methods, discovery.remembered_methods()):
        for owner, names in sorted(source.items()):
            if owner not in enabled:
                for name in names:
                    known.setdefault(name, owner)
    for owner, offers in sorted(_offers.items()):
        if owner not in enabled:
            for name in offers.get("method", ()):
                known.setdefault(name, owner)
    return known


def _dist_of(
    entry_point: EntryPoint | None,
) -> tuple[str | None, str | None]:
    if entry_point is None or entry_point.dist is None:
        return None, None
    return _dist_name_version(entry_point.dist)


# ----------------------------------------------------------------------
# Checking what plugins hand in
# ----------------------------------------------------------------------

_HOOK_NAMES = frozenset(name for name in vars(LoopkitSpec) if name.startswith("loopkit_"))


def _check_hook_names(name: str, plugin: object) -> None:
    """Refuse ``loopkit_*`` attributes that loopkit would silently ignore.

    A misspelt hook (``loopkit_loop_method``), marked or not, and a real hook
    name left without ``@hookimpl`` are both mistakes that would otherwise
    make the plugin do nothing.
    """
    for attr in dir(plugin):
        if not attr.startswith("loopkit_"):
            continue
        if attr not in _HOOK_NAMES:
            import difflib  # an error message's only

            close = difflib.get_close_matches(attr, sorted(_HOOK_NAMES), n=1, cutoff=0.6)
            suggestion = f"did you mean {close[0]}? " if close else ""
            raise AssemblyError(
                f"plugin {name!r}: {attr} is not a loopkit hook; {suggestion}"
                f"the hooks are {', '.join(sorted(_HOOK_NAMES))}"
            )
        value = getattr(plugin, attr)
        if callable(value) and getattr(value, IMPL_MARK, None) is None:
            raise AssemblyError(
                f"plugin {name!r}: {attr} is not marked with @loopkit.hookimpl, "
                f"so loopkit would ignore it; mark it"
            )


#: The options of a plain ``@hookimpl``: no ordering, no wrapper, no renaming.
_PLAIN_IMPL = getattr(hookimpl(lambda: None), IMPL_MARK)

#: A hook's implementations, as (plugin name, function), in pluggy's order.
Implementations = dict[str, list[tuple[str, Callable[..., Any]]]]


def _implementations(chosen: list[tuple[str, object, EntryPoint | None]]) -> Implementations:
    """Every chosen plugin's hook implementations, by hook name.

    pluggy finds and validates them, unless every plugin is loopkit's own
    and marks only plain implementations: then they are read straight from
    the plugin modules, giving what pluggy would give (a test holds every
    built-in plugin to that), and a trimmed loop never imports pluggy.
    """
    own = _own_implementations(chosen)
    return own if own is not None else _pluggy_implementations(chosen)


def _own_implementations(
    chosen: list[tuple[str, object, EntryPoint | None]],
) -> Implementations | None:
    """The implementations of loopkit's own plugins, or None when pluggy must look.

    pluggy keeps plain implementations of a hook in registration order,
    which is the order of ``chosen``. Anything else (a plugin from
    elsewhere, ordering or wrapper options, a marked function under a name
    that is not a hook) is pluggy's to order, validate or refuse.
    """
    found: Implementations = {}
    for name, obj, entry_point in chosen:
        if not _is_own_plugin(name, obj, entry_point):
            return None
        for attr, value in vars(obj).items():
            opts = getattr(value, IMPL_MARK, None) if type(value) is FunctionType else None
            if opts is None:
                continue
            if opts != _PLAIN_IMPL or attr not in _HOOK_NAMES:
                return None
            found.setdefault(attr, []).append((name, value))
    return found


def _is_own_plugin(name: str, obj: object, entry_point: EntryPoint | None) -> bool:
    """Whether ``obj`` is the module of one of loopkit's built-in plugins."""
    return (
        entry_point is not None
        and discovery.BUILTIN.get(name) == entry_point.value
        and type(obj) is ModuleType
        and obj.__name__ == entry_point.value
    )


def _pluggy_implementations(chosen: list[tuple[str, object, EntryPoint | None]]) -> Implementations:
    """Register the plugins with pluggy, which validates every implementation."""
    import pluggy

    from loopkit.core.manager import new_manager

    manager = new_manager()
    for name, obj, _ in chosen:
        try:
            manager.register(obj, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise AssemblyError(f"plugin {name!r} cannot be registered: {exc}") from exc
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:  # pragma: no cover - caught above
        raise AssemblyError(f"plugin {exc.plugin!r}: {exc}") from exc
    found: Implementations = {}
    for hook_name, hook in vars(manager.hook).items():
        if hook_name not in _HOOK_NAMES:
            continue
        for impl in hook.get_hookimpls():
            found.setdefault(hook_name, []).append((impl.plugin_name, impl.function))
    return found


def _kind_of(value: Any) -> str:
    return type(value).__name__


def _names_answer(plugin: str, hook: str, answer: Any) -> Sequence[str]:
    """``answer`` of a hook returning names, checked."""
    if answer is None:
        return ()
    if isinstance(answer, str | bytes) or not isinstance(answer, Sequence):
        raise AssemblyError(
            f"plugin {plugin!r}: {hook} must return a sequence of names, got {_kind_of(answer)}"
        )
    for item in answer:
        if not isinstance(item, str):
            raise AssemblyError(
                f"plugin {plugin!r}: {hook} must return a sequence of names, "
                f"got an item of type {_kind_of(item)}"
            )
    return answer


def _mapping_answer(plugin: str, hook: str, answer: Any) -> Mapping[str, Any]:
    if answer is None:
        return {}
    if not isinstance(answer, Mapping) or not all(isinstance(key, str) for key in answer):
        raise AssemblyError(
            f"plugin {plugin!r}: {hook} must return a mapping of names to attributes, "
            f"got {_kind_of(answer)}"
        )
    return answer


def _infos_answer(plugin: str, hook: str, answer: Any, expected: type[Any]) -> Sequence[Any]:
    if answer is None:
        return ()
    if isinstance(answer, str | bytes | Mapping) or not isinstance(answer, Sequence):
        raise AssemblyError(
            f"plugin {plugin!r}: {hook} must return a sequence of {expected.__name__}, "
            f"got {_kind_of(answer)}"
        )
    for item in answer:
        if not isinstance(item, expected):
            raise AssemblyError(
                f"plugin {plugin!r}: {hook} must return a sequence of {expected.__name__}, "
                f"got an item of type {_kind_of(item)}"
            )
    return answer


# ----------------------------------------------------------------------
# Assembly
# ----------------------------------------------------------------------


class _Conflicts:
    """Where a conflict goes: raised (normal assembly) or noted (diagnose)."""

    def __init__(self, tolerant: bool) -> None:
        self.tolerant = tolerant
        self.found: list[str] = []

    def report(self, message: str) -> None:
        if not self.tolerant:
            raise AssemblyError(message)
        self.found.append(message)


def _collect_backends(
    results: list[tuple[str, Any]],
    hook: str,
    expected: type[Any],
    kind: str,
    conflicts: _Conflicts,
) -> tuple[dict[str, tuple[Any, str]], dict[str, list[str]]]:
    table: dict[str, tuple[Any, str]] = {}
    by_plugin: dict[str, list[str]] = {}
    for plugin_name, answer in results:
        for info in _infos_answer(plugin_name, hook, answer, expected):
            if info.name in table:
                conflicts.report(
                    f"plugins {table[info.name][1]!r} and {plugin_name!r} both offer a "
                    f"{kind} named {info.name!r}; exclude one of them "
                    f"(exclude=[{plugin_name!r}] or {ENV_EXCLUDE}={plugin_name})"
                )
                continue
            table[info.name] = (info, plugin_name)
            by_plugin.setdefault(plugin_name, []).append(info.name)
    return table, by_plugin


def _pick(
    kind: str,
    table: Mapping[str, tuple[Any, str]],
    name: str | None,
    from_environment: bool,
    stand_in: Assembly,
) -> str | None:
    """The name of the backend to build in, or None when there is none to choose.

    A name from the environment is ignored by a loop that has no backend of
    that kind at all (a trimmed loop without the resolver plugin), so that
    one ``LOOPKIT_RESOLVER`` can apply to a whole program; an argument is
    always checked.
    """
    if not table and (name is None or from_environment):
        return None
    if name is None:
        # Ask the best first and stop at the first yes: a lower backend's
        # is_available (which may import its library) is not asked at all.
        for _, candidate in sorted((-info.priority, key) for key, (info, _) in table.items()):
            if table[candidate][0].is_available():
                return candidate
        raise AssemblyError(f"no {kind} is available: every {kind} offered here declined")
    return str(_choose(kind, table, name, stand_in).name)


def _build(
    chosen: list[tuple[str, object, EntryPoint | None]],
    skipped: list[tuple[str, str]],
    excluded: frozenset[str],
    resolver: tuple[str | None, bool] = (None, False),
    executor: tuple[str | None, bool] = (None, False),
    tolerant: bool = False,
) -> Assembly:
    conflicts = _Conflicts(tolerant)
    for name, obj, _ in chosen:
        _check_hook_names(name, obj)
    implementations = _implementations(chosen)

    def results(hook_name: str) -> list[tuple[str, Any]]:
        found = sorted(implementations.get(hook_name, ()), key=lambda impl: impl[0])
        return [(plugin_name, function()) for plugin_name, function in found]

    for plugin_name, answer in results("loopkit_provides"):
        _names_answer(plugin_name, "loopkit_provides", answer)

    kernel_names = _kernel_attributes()
    providers: dict[str, str] = {
        name: catalog.KERNEL for name in catalog.abstract_loop_methods() if name in kernel_names
    }
    namespace: dict[str, Any] = {}
    added: dict[str, list[str]] = {}

    def add(plugin_name: str, attr: str, value: Any) -> None:
        if attr in kernel_names:
            raise AssemblyError(
                f"plugin {plugin_name!r} adds {attr!r}, which the kernel already "
                f"defines; a plugin that means to replace it must return it from "
                f"loopkit_loop_overrides"
            )
        if attr in namespace:
            conflicts.report(
                f"plugins {providers[attr]!r} and {plugin_name!r} both add "
                f"{attr!r}; exclude one of them (exclude=[{plugin_name!r}] or "
                f"{ENV_EXCLUDE}={plugin_name}), or have one declare it in "
                f"loopkit_loop_overrides"
            )
            return
        namespace[attr] = value
        providers[attr] = plugin_name
        added.setdefault(plugin_name, []).append(attr)

    for plugin_name, answer in results("loopkit_loop_methods"):
        for attr, value in _mapping_answer(plugin_name, "loopkit_loop_methods", answer).items():
            add(plugin_name, attr, value)

    stand_in = Assembly(
        loop_class=KernelLoop,  # type: ignore[type-abstract]
        plugins=tuple(PluginRecord(n, o, None, None, (), (), (), ()) for n, o, _ in chosen),
        pollers={},
        providers={},
        excluded=excluded,
    )
    resolvers, resolvers_by_plugin = _collect_backends(
        results("loopkit_resolvers"), "loopkit_resolvers", ResolverInfo, "resolver", conflicts
    )
    resolver_name = _pick("resolver", resolvers, *resolver, stand_in)
    if resolver_name is not None:
        info, plugin_name = resolvers[resolver_name]
        add(plugin_name, "getaddrinfo", info.getaddrinfo)
        add(plugin_name, "getnameinfo", info.getnameinfo)
    executors, executors_by_plugin = _collect_backends(
        results("loopkit_executors"), "loopkit_executors", ExecutorInfo, "executor", conflicts
    )
    executor_name = _pick("executor", executors, *executor, stand_in)
    if executor_name is not None:
        namespace["_loopkit_executor_factory"] = executors[executor_name][0].create

    overridden: dict[str, str] = {}
    overrides_by_plugin: dict[str, list[str]] = {}
    for plugin_name, answer in results("loopkit_loop_overrides"):
        for attr, value in _mapping_answer(plugin_name, "loopkit_loop_overrides", answer).items():
            if attr in overridden:
                conflicts.report(
                    f"plugins {overridden[attr]!r} and {plugin_name!r} both override "
                    f"{attr!r}; exclude one of them (exclude=[{plugin_name!r}] or "
                    f"{ENV_EXCLUDE}={plugin_name})"
                )
                continue
            overridden[attr] = plugin_name
            namespace[attr] = value
            providers[attr] = plugin_name
            overrides_by_plugin.setdefault(plugin_name, []).append(attr)

    pollers, pollers_by_plugin = _collect_backends(
        results("loopkit_pollers"), "loopkit_pollers", PollerInfo, "poller", conflicts
    )

    created = tuple(function for _, function in implementations.get("loopkit_loop_created", ()))
    closing = tuple(implementations.get("loopkit_loop_closing", ()))
    lifecycle: dict[str, list[str]] = {}
    for hook_name in ("loopkit_loop_created", "loopkit_loop_closing"):
        for plugin_name, _ in implementations.get(hook_name, ()):
            lifecycle.setdefault(plugin_name, []).append(hook_name)

    for method in catalog.abstract_loop_methods():
        if method not in providers:
            namespace[method] = _missing_method_stub(method)
    enabled = {name for name, _, _ in chosen}
    for name, owner in _known_extras(enabled).items():
        if name not in namespace and name not in kernel_names and not name.startswith("_"):
            namespace[name] = _not_enabled_attribute(name, owner)
    for plugin_name, names in added.items():
        _seen_methods[plugin_name] = tuple(names)
    for plugin_name, _, entry_point in chosen:
        public = tuple(sorted(n for n in added.get(plugin_name, ()) if not n.startswith("_")))
        if (
            public
            and entry_point is not None
            and not discovery.is_own_name(_dist_of(entry_point)[0])
        ):
            discovery.remember_methods(plugin_name, public)
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
                resolvers=tuple(resolvers_by_plugin.get(name, ())),
                executors=tuple(executors_by_plugin.get(name, ())),
            )
        )
    assembly = Assembly(
        loop_class=loop_class,
        plugins=tuple(sorted(records, key=lambda record: record.name)),
        pollers=pollers,
        providers=providers,
        skipped=tuple(skipped),
        resolvers=resolvers,
        executors=executors,
        resolver=resolver_name,
        executor=executor_name,
        problems=tuple(conflicts.found),
        excluded=excluded,
    )
    loop_class._loopkit_assembly = assembly
    return assembly


_cache_lock = threading.Lock()
_assemblies: dict[Any, Assembly] = {}


def _backend_choice(name: str | None, variable: str) -> tuple[str | None, bool]:
    """``(name, from_environment)`` for an argument, else the environment."""
    if name is not None:
        return name, False
    return getenv(variable) or None, True


def _selection(
    plugins: Iterable[PluginSpec] | None,
    exclude: Iterable[str] | None,
    enable: Iterable[str] | None,
) -> tuple[list[PluginSpec] | None, frozenset[str], tuple[str, ...], bool]:
    if plugins is None:
        plugins = _split_names(getenv(ENV_PLUGINS))
    if exclude is None:
        exclude = _split_names(getenv(ENV_EXCLUDE)) or ()
    if enable is None:
        enable = _split_names(getenv(ENV_ENABLE)) or ()
    plugins, exclude, enable = (
        name_list(plugins, "plugins"),
        name_list(exclude, "exclude") or (),
        name_list(enable, "enable") or (),
    )
    autoload = not discovery.switched_on(getenv(ENV_NO_AUTOLOAD))
    plugin_list = None if plugins is None else list(plugins)
    if plugin_list is not None and any(isinstance(p, str) and "," in p for p in plugin_list):
        raise UnknownNameError("plugin names contain no commas; pass a list of names")
    return plugin_list, frozenset(exclude), tuple(enable), autoload


def assemble(
    plugins: PluginSpecs | None = None,
    exclude: Names | None = None,
    enable: Names | None = None,
    *,
    resolver: str | None = None,
    executor: str | None = None,
) -> Assembly:
    """Assemble (or fetch from the cache) the loop class for a selection.

    ``plugins``: None for every installed plugin except the opt-in ones
    (unless ``LOOPKIT_PLUGINS`` names some), or an iterable of plugin names
    and plugin objects; the essential plugins and the built-in pollers are
    always added. ``exclude``: plugin names to leave out (default:
    ``LOOPKIT_EXCLUDE``). ``enable``: plugin names to add to whichever set the
    other two give, typically opt-in plugins such as ``instruments``
    (default: ``LOOPKIT_ENABLE``). ``resolver`` / ``executor``: the backend
    names to build in (default: ``LOOPKIT_RESOLVER`` / ``LOOPKIT_EXECUTOR``,
    else the available backend with the highest priority). They are part of
    the class, not of each loop, so that the resolver's functions are the
    loop's methods with nothing in between; each choice is cached like the
    plugin selection.
    """
    plugin_list, excluded, enabled, autoload = _selection(plugins, exclude, enable)
    resolver_choice = _backend_choice(resolver, ENV_RESOLVER)
    executor_choice = _backend_choice(executor, ENV_EXECUTOR)
    key = (
        None if plugin_list is None else tuple(_plugin_key(p) for p in plugin_list),
        excluded,
        enabled,
        autoload,
        resolver_choice,
        executor_choice,
    )
    cached = _assemblies.get(key)
    if cached is not None:
        return cached
    with _cache_lock:
        cached = _assemblies.get(key)
        if cached is not None:
            return cached
        chosen, skipped = _select(plugin_list, excluded, autoload, enabled)
        assembly = _build(chosen, skipped, excluded, resolver_choice, executor_choice)
        _assemblies[key] = assembly
        return assembly


def diagnose(
    plugins: PluginSpecs | None = None,
    exclude: Names | None = None,
    enable: Names | None = None,
    *,
    resolver: str | None = None,
    executor: str | None = None,
) -> Assembly:
    """Assemble as far as conflicts allow, for showing what went wrong.

    Where :func:`assemble` raises for two plugins claiming one name, this
    keeps the first (in plugin-name order), notes the conflict in
    :attr:`Assembly.problems` and goes on, so that ``python -m loopkit`` can
    list everything else and explain the clash. Other errors (an unknown
    name, a malformed plugin) are raised as by :func:`assemble`. Never
    cached: the class it builds is for looking at, not for running.
    """
    plugin_list, excluded, enabled, autoload = _selection(plugins, exclude, enable)
    chosen, skipped = _select(plugin_list, excluded, autoload, enabled)
    return _build(
        chosen,
        skipped,
        excluded,
        _backend_choice(resolver, ENV_RESOLVER),
        _backend_choice(executor, ENV_EXECUTOR),
        tolerant=True,
    )


def new_event_loop(
    *,
    poller: str | None = None,
    plugins: PluginSpecs | None = None,
    exclude: Names | None = None,
    enable: Names | None = None,
    resolver: str | None = None,
    executor: str | None = None,
) -> KernelLoop:
    """Make a new loopkit event loop.

    ``poller`` names the I/O backend (default: ``LOOPKIT_POLLER``, else the
    best available). ``resolver`` and ``executor`` name the name-resolution
    and default-executor backends (default: ``LOOPKIT_RESOLVER`` /
    ``LOOPKIT_EXECUTOR``, else the best available). ``plugins`` / ``exclude``
    / ``enable`` trim or extend the loop (see :func:`assemble`). Errors name
    the valid choices.
    """
    assembly = assemble(plugins, exclude, enable, resolver=resolver, executor=executor)
    if poller is None:
        poller = getenv(ENV_POLLER) or None
    info = assembly.poller_info(poller)
    return assembly.loop_class(info.create())
