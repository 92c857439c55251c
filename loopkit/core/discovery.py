"""Finding the ``loopkit`` entry points cheaply, and never stale.

The ``loopkit`` entry-point group is the only source of truth about which
plugins are installed. Reading it through :mod:`importlib.metadata` costs
more than making an asyncio loop (it imports ``email``, ``zipfile``,
``csv``, ``tempfile`` and ~50 more modules), so this module reads it by hand
and keeps what it read in an index on disk. It must never hand a caller a
plugin set that differs from what :mod:`importlib.metadata` would say.

Theory of operation
-------------------
1. *Built-in fast path.* A selection that names only built-in plugins (and
   does not autoload third-party ones) needs no scan: loopkit knows its own
   entry points (:data:`BUILTIN`, checked against ``pyproject.toml`` by a
   test). A third party registering a built-in name is still reported by
   every scan, i.e. by any loop that autoloads or names a foreign plugin.
2. *Scan.* Like :mod:`importlib.metadata`, walk ``sys.path`` in order, take
   every ``*.dist-info`` / ``*.egg-info`` folder, the first distribution of
   a (normalized) name wins, and read the ``[loopkit]`` section of its
   ``entry_points.txt``. Anything this scanner does not understand (a zip or
   egg on ``sys.path``, an import hook that publishes distributions) makes it
   defer to :mod:`importlib.metadata` instead, uncached.
3. *Index.* The scan's result is stored (``marshal``) under the user's cache
   folder, in a file named after the interpreter and ``sys.path``, together
   with a *stamp*: the modification time of every ``sys.path`` folder and of
   every ``entry_points.txt`` that registered a loopkit plugin. Installing,
   removing, upgrading or reinstalling a distribution adds, removes or renames
   a folder in a ``sys.path`` folder, which changes that folder's time; the
   index is used only when the whole stamp is unchanged. An index is not
   written while any stamped time is less than :data:`RACY_SECONDS` old, so
   two changes within one tick of a coarse file-system clock cannot hide
   behind one time stamp.
4. ``LOOPKIT_NO_PLUGIN_CACHE=1`` bypasses the index (always scan, never
   write); :func:`loopkit.refresh_plugins` forgets what this process read.

This module imports nothing that ``asyncio`` has not already imported, and
never imports a plugin.
"""

from __future__ import annotations

import binascii
import marshal
import os
import sys
import time
from collections.abc import Iterable

from loopkit.core.hookspecs import ENTRY_POINT_GROUP

#: Set to a non-empty value to bypass the on-disk index.
ENV_NO_CACHE = "LOOPKIT_NO_PLUGIN_CACHE"
#: Folder for the index (default: ``$XDG_CACHE_HOME/loopkit`` or ``~/.cache/loopkit``).
ENV_CACHE_DIR = "LOOPKIT_CACHE_DIR"

#: loopkit's own entry points, as ``pyproject.toml`` declares them.
BUILTIN: dict[str, str] = {
    "epoll": "loopkit.plugins.pollers.epoll",
    "kqueue": "loopkit.plugins.pollers.kqueue",
    "poll": "loopkit.plugins.pollers.poll",
    "select": "loopkit.plugins.pollers.select",
    "resolver": "loopkit.plugins.resolver",
    "executor": "loopkit.plugins.executor",
    "instruments": "loopkit.plugins.instruments",
    "pipes": "loopkit.plugins.pipes",
    "udp": "loopkit.plugins.udp",
    "signals": "loopkit.plugins.signals",
    "subprocess": "loopkit.plugins.subprocess",
    "tcp": "loopkit.plugins.tcp",
    "tls": "loopkit.plugins.tls",
    "unix": "loopkit.plugins.unix",
}

#: Stamped times younger than this many seconds keep an index from being written.
RACY_SECONDS = 2.0

_FORMAT = 1
#: loopkit's own distribution (``import loopkit``; ``loopkit`` on the index is another project).
OWN_DISTRIBUTION = "loopkit-asyncio"
_INFO_SUFFIXES = (".dist-info", ".egg-info")


class Distribution:
    """Where an entry point comes from: a name and a version, read lazily."""

    __slots__ = ("_name", "_version", "path")

    def __init__(self, path: str | None, name: str | None = None, version: str | None = None):
        self.path = path
        self._name = name
        self._version = version

    def name_version(self) -> tuple[str, str]:
        """``(Name, Version)`` from the metadata headers, parsed once by hand."""
        if self._name is None or self._version is None:
            self._name, self._version = _read_name_version(self.path)
        return self._name, self._version

    def __repr__(self) -> str:
        return f"Distribution({self.path!r})"


class EntryPoint:
    """One ``name = module[:attr]`` line of the ``loopkit`` group."""

    __slots__ = ("dist", "name", "value")

    def __init__(self, name: str, value: str, dist: Distribution | None) -> None:
        self.name = name
        self.value = value
        self.dist = dist

    def load(self) -> object:
        """Import the module and fetch the attribute the value names."""
        import importlib

        module_name, _, attrs = self.value.partition(":")
        obj: object = importlib.import_module(module_name.strip())
        for attr in filter(None, attrs.split("[", 1)[0].strip().split(".")):
            obj = getattr(obj, attr)
        return obj

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r})"


def _own_distribution() -> Distribution:
    from loopkit import __version__

    return Distribution(None, OWN_DISTRIBUTION, __version__)


def builtin_entry_points() -> dict[str, EntryPoint]:
    """loopkit's own entry points, without looking at the disk."""
    own = _own_distribution()
    return {name: EntryPoint(name, value, own) for name, value in BUILTIN.items()}


# ----------------------------------------------------------------------
# Reading metadata by hand
# ----------------------------------------------------------------------


def _read_name_version(path: str | None) -> tuple[str, str]:
    """The ``Name:`` and ``Version:`` headers of a distribution's metadata."""
    name = version = ""
    if path is not None:
        for filename in ("METADATA", "PKG-INFO"):
            try:
                with open(os.path.join(path, filename), encoding="utf-8") as file:
                    for line in file:
                        if not line.strip():
                            break
                        key, _, value = line.partition(":")
                        if key == "Name" and not name:
                            name = value.strip()
                        elif key == "Version" and not version:
                            version = value.strip()
                break
            except OSError:
                continue
        if not name or not version:
            stem = os.path.basename(path).rpartition(".")[0]
            parts = stem.split("-")
            name = name or parts[0]
            version = version or (parts[1] if len(parts) > 1 else "")
    return name, version


def _loopkit_section(text: str) -> list[tuple[str, str]]:
    """The ``name = value`` pairs of the ``[loopkit]`` section of an INI text."""
    pairs: list[tuple[str, str]] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[" and line[-1] == "]":
            inside = line[1:-1].strip() == ENTRY_POINT_GROUP
            continue
        if inside:
            key, sep, value = line.partition("=")
            if sep:
                pairs.append((key.strip(), value.strip()))
    return pairs


def _normalize(name: str) -> str:
    return canonical_name(name, "_")


#: The separators a distribution name may use interchangeably (PEP 503).
_SEPARATORS = str.maketrans({"_": "-", ".": "-"})


def canonical_name(name: str, separator: str = "-") -> str:
    """``name`` lower-cased, each run of ``-``, ``_`` and ``.`` one ``separator``.

    What ``re.sub(r"[-_.]+", separator, name).lower()`` gives, without
    compiling a pattern: a trimmed loop's start-up would pay for that.
    """
    dashed = name.translate(_SEPARATORS).lower()
    while "--" in dashed:
        dashed = dashed.replace("--", "-")
    return dashed if separator == "-" else dashed.replace("-", separator)


# ----------------------------------------------------------------------
# Scanning sys.path
# ----------------------------------------------------------------------

#: One found entry point, as stored in the index: (name, value, dist path,
#: dist name, dist version).
_Row = tuple[str, str, str, str, str]
#: (path, mtime_ns) pairs; a missing path has the time -1.
_Stamp = tuple[tuple[str, int], ...]


class _Unsupported(Exception):
    """Something on sys.path that only importlib.metadata understands."""


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _search_path() -> list[str]:
    return [entry or os.getcwd() for entry in sys.path if isinstance(entry, str)]


def _scan(paths: Iterable[str]) -> tuple[list[_Row], list[tuple[str, int]]]:
    """The loopkit rows found on ``paths`` and the entry-point files they came from."""
    rows: list[_Row] = []
    files: list[tuple[str, int]] = []
    seen: set[str] = set()
    for folder in paths:
        try:
            entries = os.scandir(folder)
        except NotADirectoryError:
            raise _Unsupported(folder) from None
        except OSError:
            continue
        with entries:
            names = [entry.name for entry in entries]
        for filename in names:
            lowered = filename.lower()
            if lowered.endswith(".egg"):
                raise _Unsupported(os.path.join(folder, filename))
            suffix = next((s for s in _INFO_SUFFIXES if lowered.endswith(s)), None)
            if suffix is None:
                continue
            key = _normalize(filename[: -len(suffix)].partition("-")[0])
            if key in seen:
                continue
            seen.add(key)
            info = os.path.join(folder, filename)
            path = os.path.join(info, "entry_points.txt")
            try:
                with open(path, encoding="utf-8") as file:
                    stamp = os.fstat(file.fileno()).st_mtime_ns
                    text = file.read()
            except OSError:
                continue
            pairs = _loopkit_section(text) if "[" + ENTRY_POINT_GROUP + "]" in text else []
            if not pairs:
                continue
            files.append((path, stamp))
            name, version = _read_name_version(info)
            rows.extend((key_, value, info, name, version) for key_, value in pairs)
    return rows, files


def _scan_with_importlib() -> list[_Row]:
    """The same rows, as importlib.metadata finds them (the slow, general way)."""
    import importlib.metadata

    rows: list[_Row] = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        if dist is None:
            rows.append((entry_point.name, entry_point.value, "", "", ""))
            continue
        metadata = dist.metadata
        path = str(getattr(dist, "_path", ""))
        name, version = metadata["Name"], metadata["Version"]
        rows.append((entry_point.name, entry_point.value, path, name, version))
    return rows


def _foreign_finders() -> bool:
    """Whether an import hook other than the path finder publishes distributions."""
    from importlib.machinery import PathFinder

    return any(
        getattr(finder, "find_distributions", None) is not None and finder is not PathFinder
        for finder in sys.meta_path
    )


# ----------------------------------------------------------------------
# The index on disk
# ----------------------------------------------------------------------


def cache_dir() -> str:
    """The folder that holds the indexes."""
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "loopkit")


def index_path(paths: list[str]) -> str:
    """The index file for this interpreter and this ``sys.path``."""
    key = "\0".join([sys.executable, sys.version, *paths]).encode("utf-8", "surrogateescape")
    return os.path.join(cache_dir(), f"entry-points-{binascii.crc32(key):08x}.marshal")


def _load_index(file: str, paths: list[str]) -> list[_Row] | None:
    try:
        with open(file, "rb") as handle:
            data = marshal.load(handle)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    try:
        version, stored_paths, stamp, rows = data
    except (TypeError, ValueError):
        return None
    if version != _FORMAT or stored_paths != tuple(paths):
        return None
    if any(_mtime(path) != mtime for path, mtime in stamp):
        return None
    return list(rows)


def _save_index(file: str, paths: list[str], stamp: _Stamp, rows: list[_Row]) -> None:
    newest = max((mtime for _, mtime in stamp), default=-1)
    if newest >= (time.time() - RACY_SECONDS) * 1e9:
        return  # too fresh to trust a time stamp with: scan again next time
    _write_cache_file(file, marshal.dumps((_FORMAT, tuple(paths), stamp, tuple(rows))))


def _write_cache_file(file: str, data: bytes) -> None:
    """Replace ``file`` with ``data`` at once (readers see the old or the new
    whole); a cache that cannot be written is simply not written."""
    temporary = f"{file}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(file), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, file)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


# ----------------------------------------------------------------------
# What third-party plugins add, remembered across processes
# ----------------------------------------------------------------------

#: Plugin name -> the loop attributes it added the last time a loop enabled
#: it, in any process (see :func:`remember_methods`). Loaded on first use.
_remembered: dict[str, tuple[str, ...]] | None = None


def _methods_file() -> str:
    return os.path.join(cache_dir(), "plugin-methods.marshal")


def remembered_methods() -> dict[str, tuple[str, ...]]:
    """What each third-party plugin added to a loop the last time one enabled it.

    A loop that leaves such a plugin out can then explain its methods
    (PluginNotEnabledError naming it) without importing it. Read once per
    process; an unreadable file is an empty memory. ``LOOPKIT_NO_PLUGIN_CACHE``
    turns it off.
    """
    global _remembered
    if _remembered is None:
        _remembered = {}
        if not os.environ.get(ENV_NO_CACHE):
            try:
                with open(_methods_file(), "rb") as handle:
                    data = marshal.load(handle)
            except (OSError, EOFError, ValueError, TypeError):
                data = None
            if isinstance(data, dict):
                _remembered = {
                    str(name): tuple(str(method) for method in methods)
                    for name, methods in data.items()
                    if isinstance(methods, tuple)
                }
    return _remembered


def remember_methods(name: str, methods: tuple[str, ...]) -> None:
    """Record what plugin ``name`` adds, for loops of later processes that leave it out.

    Written only when it changed; a write that fails changes nothing but the
    quality of a later error message.
    """
    known = remembered_methods()
    if known.get(name) == methods or os.environ.get(ENV_NO_CACHE):
        return
    known[name] = methods
    _write_cache_file(_methods_file(), marshal.dumps(dict(known)))


def forget_remembered_methods() -> None:
    """Read the file again on next use (``refresh_plugins()`` calls this)."""
    global _remembered
    _remembered = None


#: Where the last :func:`read_rows` got its answer: "index", "scan" or "importlib".
last_source = ""


def read_rows() -> list[_Row]:
    """Every loopkit entry point installed, from the index when it is current."""
    global last_source
    if _foreign_finders():
        last_source = "importlib"
        return _scan_with_importlib()
    paths = _search_path()
    use_index = not os.environ.get(ENV_NO_CACHE)
    file = index_path(paths) if use_index else ""
    if use_index:
        rows = _load_index(file, paths)
        if rows is not None:
            last_source = "index"
            return rows
    # Stamp the folders before reading them: a change during the scan then
    # shows as a different time on the next run, never as a stale index.
    folder_stamp = [(path, _mtime(path)) for path in paths]
    try:
        rows, files = _scan(paths)
    except _Unsupported:
        last_source = "importlib"
        return _scan_with_importlib()
    last_source = "scan"
    if use_index:
        _save_index(file, paths, (*folder_stamp, *files), rows)
    return rows


def scan_entry_points() -> list[EntryPoint]:
    """Installed loopkit entry points in ``sys.path`` order (duplicates kept)."""
    dists: dict[str, Distribution] = {}
    found = []
    for name, value, path, dist_name, version in read_rows():
        dist = dists.get(path)
        if dist is None:
            dist = dists[path] = Distribution(path or None, dist_name, version)
        found.append(EntryPoint(name, value, dist))
    return found


def is_own(dist: Distribution | None) -> bool:
    """Whether ``dist`` is loopkit's own distribution."""
    return dist is not None and is_own_name(dist.name_version()[0])


#: Values of a switch variable that leave it off, as if it were unset.


def switched_on(value: str | None) -> bool:
    """Whether a switch such as ``LOOPKIT_DISABLE_PLUGIN_AUTOLOAD`` is set.

    pytest's rule for its twin variable, ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``:
    any non-empty value is on, ``0`` and ``false`` included; unset or empty
    is off. One rule for both means a CI configuration that sets them side
    by side behaves the same for both tools.
    """
    return bool(value)


def is_own_name(name: str | None) -> bool:
    """Whether a distribution name is loopkit's own, compared as installers do.

    Names are compared normalized (PEP 503: case, ``-``, ``_`` and ``.`` alike),
    since a folder-derived name reads ``loopkit_asyncio`` where the metadata says
    ``loopkit-asyncio``.
    """
    return name is not None and canonical_name(name) == OWN_DISTRIBUTION
