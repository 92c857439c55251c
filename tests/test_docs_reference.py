"""The API reference covers every public name, and its inventories are current.

The reference is docs/api.rst (``loopkit.__all__``), docs/plugin-api.rst
(``loopkit.plugin.__all__``, which holds ``loopkit.transports``' names too)
and docs/testing-plugins.rst (``loopkit.testing.__all__``). A name counts as
documented when a directive of the docs describes it under its public name:
``.. autoclass:: loopkit.plugin.LoopServices``, or ``.. py:class:: Poller``
after ``.. py:currentmodule:: loopkit``, the way Sphinx itself names it. The
source is scanned rather than a build run, so the check needs no Sphinx and
takes no time; that every reference resolves is CI's ``sphinx -n -W`` build.
"""

from __future__ import annotations

import importlib.util
import re
import zlib
from pathlib import Path
from types import ModuleType

import pytest

import loopkit
import loopkit.plugin
import loopkit.testing
import loopkit.transports

DOCS = Path(__file__).resolve().parent.parent / "docs"

DIRECTIVE = re.compile(r"^\.\. (auto|py:)?(\w+)::\s*(\S+)\s*$")
CURRENT_MODULE = {"module", "currentmodule"}


def documented_names(text: str) -> set[str]:
    """The full names that the directives of one reST page describe."""
    names: set[str] = set()
    module: str | None = None
    for line in text.splitlines():
        found = DIRECTIVE.match(line.strip())
        if found is None:
            continue
        prefix, kind, name = found.groups()
        auto = prefix == "auto"
        if prefix is None and kind not in CURRENT_MODULE:
            continue  # another directive (toctree, code-block, ...)
        if kind in CURRENT_MODULE or (auto and kind == "module"):
            module = None if name == "None" else name
            if module is not None:
                names.add(module)
        elif auto:
            # autodoc takes a dotted name as the full name.
            names.add(name if "." in name or module is None else f"{module}.{name}")
        else:
            names.add(f"{module}.{name}" if module else name)
    return names


def all_documented() -> set[str]:
    names: set[str] = set()
    for page in DOCS.rglob("*.rst"):
        names |= documented_names(page.read_text(encoding="utf-8"))
    return names


def public_names(module: ModuleType) -> list[str]:
    names = list(module.__all__)
    if module is loopkit.testing:
        # pytest's own hooks (pytest_configure, ...) and the private autouse
        # fixture are in __all__ for pytest to find, not for a reader to call.
        names = [n for n in names if not n.startswith(("pytest_", "_"))]
    return names


def test_the_scanner_names_objects_as_sphinx_does() -> None:
    page = """
.. autoclass:: loopkit.Assembly
.. automodule:: loopkit.plugin
.. py:data:: hookimpl
.. autofunction:: services
.. currentmodule:: None
.. py:class:: loopkit.Poller
.. toctree:: api
"""
    assert documented_names(page) == {
        "loopkit.Assembly",
        "loopkit.plugin",
        "loopkit.plugin.hookimpl",
        "loopkit.plugin.services",
        "loopkit.Poller",
    }


@pytest.mark.parametrize(
    "module", [loopkit, loopkit.plugin, loopkit.testing], ids=lambda m: m.__name__
)
def test_every_public_name_is_in_the_reference(module: ModuleType) -> None:
    documented = all_documented()
    missing = [n for n in public_names(module) if f"{module.__name__}.{n}" not in documented]
    assert not missing, (
        f"{module.__name__}.__all__ names missing from the API reference (docs/*.rst): "
        f"{', '.join(missing)}; add an autodoc directive for each (docs/api.rst, "
        "docs/plugin-api.rst or docs/testing-plugins.rst)"
    )


def test_the_transport_names_are_the_plugin_apis() -> None:
    """loopkit.transports' public names are documented through loopkit.plugin's."""
    for name in loopkit.transports.__all__:
        assert name in loopkit.plugin.__all__, name
        assert getattr(loopkit.transports, name) is getattr(loopkit.plugin, name)


def load_inventory_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_inventories", DOCS / "make_inventories.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_committed_inventories_are_what_the_script_writes() -> None:
    script = load_inventory_script()
    for project in script.OBJECTS:
        committed = (DOCS / "_inventories" / f"{project}.inv").read_bytes()
        assert committed == script.inventory(project), (
            f"docs/_inventories/{project}.inv is stale: run python docs/make_inventories.py"
        )


def test_inventories_are_sphinx_version_2_and_name_real_pages() -> None:
    script = load_inventory_script()
    for project in script.OBJECTS:
        data = (DOCS / "_inventories" / f"{project}.inv").read_bytes()
        header, _, body = data.partition(b"compressed using zlib.\n")
        assert header.startswith(b"# Sphinx inventory version 2\n")
        for line in zlib.decompress(body).decode().splitlines():
            _name, role, priority, uri, display = line.split(" ")
            assert role.startswith("py:") and priority == "1" and display == "-", line
            page, _, anchor = uri.partition("#")
            assert page.endswith(".html") and anchor, line


def test_the_inventory_script_spots_a_missing_stdlib_name() -> None:
    script = load_inventory_script()
    warnings = (
        "x.py: WARNING: py:class reference target not found: selectors.BaseSelector [ref.class]\n"
        "x.py: WARNING: py:class reference target not found: socket.socket [ref.class]\n"
        "x.py: WARNING: py:class reference target not found: loopkit.Nope [ref.class]\n"
    )
    assert script.missing(warnings) == ["selectors.BaseSelector"]
