"""The plugin boundary: built-in plugins use the public plugin API only.

Every module under ``plugins/`` is read as source (AST) and must

* never read or write an underscore attribute of a loop: attribute access
  on a name ``loop``, on ``<anything>._loop`` / ``<anything>.loop``, on the
  first parameter of a function the plugin contributes as a loop method
  (from its ``loopkit_loop_methods`` / ``loopkit_loop_overrides`` hooks), and
  ``getattr`` / ``setattr`` / ``hasattr`` / ``delattr`` of a ``"_..."`` name on those;
* import nothing of loopkit but :mod:`loopkit.plugin` and its own plugin
  package (so that no family needs another one's modules).

This is what makes each built-in plugin a template a third party can copy
(issue 15). Dunder names (``__class__``...) are not private attributes.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _loop_method_params(package: str) -> dict[tuple[str, str], str]:
    """(module, function) -> first parameter, for the loop methods of the
    plugin package ``package`` (a full import name)."""
    module = importlib.import_module(package)
    found: dict[tuple[str, str], str] = {}
    for hook in ("loopkit_loop_methods", "loopkit_loop_overrides"):
        contribute = getattr(module, hook, None)
        if contribute is None:
            continue
        methods: dict[str, Any] = contribute()
        for function in methods.values():
            if not inspect.isfunction(function):
                continue
            params = list(inspect.signature(function).parameters)
            if params:
                found[(function.__module__, function.__name__)] = params[0]
    return found


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((package, *parts))


class _Checker(ast.NodeVisitor):
    def __init__(self, where: str, package: str, loop_params: dict[str, str]) -> None:
        self.where = where
        self.package = package  # the plugin's own package (full import name)
        self.loop_params = loop_params  # function name -> its loop parameter
        self.loop_names: list[set[str]] = [{"loop"}]
        self.hits: list[str] = []

    def _loopish(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.loop_names[-1]
        return isinstance(node, ast.Attribute) and node.attr in ("_loop", "loop")

    def _hit(self, node: ast.AST, what: str) -> None:
        self.hits.append(f"{self.where}:{getattr(node, 'lineno', '?')}: {what}")

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        names = set(self.loop_names[-1])
        param = self.loop_params.get(node.name)
        if param is not None and len(self.loop_names) == 1:  # module level only
            names.add(param)
        self.loop_names.append(names)
        self.generic_visit(node)
        self.loop_names.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _private(node.attr) and self._loopish(node.value):
            self._hit(node, f"loop attribute {node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and self._loopish(node.args[0])
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            self._hit(node, f"{func.id}(loop, {node.args[1].value!r})")
        self.generic_visit(node)

    def _allowed(self, module: str) -> bool:
        if not (module == "loopkit" or module.startswith("loopkit.")):
            return True
        return (
            module == "loopkit.plugin"
            or module == self.package
            or (module.startswith(self.package + "."))
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not self._allowed(alias.name):
                self._hit(node, f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module is not None:
            if node.module == "loopkit.plugins":
                modules = [f"loopkit.plugins.{alias.name}" for alias in node.names]
            else:
                modules = [node.module]
            for module in modules:
                if not self._allowed(module):
                    self._hit(node, f"from {node.module} import ...")


def violations(package: str, root: Path | None = None) -> list[str]:
    """Every crossing of the boundary by a plugin package.

    ``package`` is a built-in plugin's name (``"tcp"``: the folder
    ``plugins/tcp``, imported as ``loopkit.plugins.tcp``), or, with ``root``
    (the package's folder), the import name of any plugin package, such as
    a third party's.
    """
    if root is None:
        root, package = PLUGINS / package, f"loopkit.plugins.{package}"
    params = _loop_method_params(package)
    hits: list[str] = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root, package)
        loop_params = {name: param for (mod, name), param in params.items() if mod == module}
        checker = _Checker(str(path.relative_to(root.parent)), package, loop_params)
        checker.visit(ast.parse(path.read_text(), str(path)))
        hits.extend(checker.hits)
    return hits


def _packages() -> Iterator[Any]:
    for path in sorted(PLUGINS.iterdir()):
        if (path / "__init__.py").is_file():
            yield pytest.param(path.name, id=path.name)


def test_the_plugins_package_itself_holds_no_code() -> None:
    tree = ast.parse((PLUGINS / "__init__.py").read_text())
    assert all(isinstance(node, ast.Expr) for node in tree.body)


@pytest.mark.parametrize("package", list(_packages()))
def test_a_plugin_uses_the_public_plugin_api_only(package: str) -> None:
    assert violations(package) == []


def test_the_checker_sees_a_private_loop_attribute(tmp_path: Path) -> None:
    source = (
        "from loopkit.core import kernel\n"
        "def m(self, x):\n    return self._ready\n"
        "def f(loop):\n    loop._debug = True\n    return getattr(loop, '_x')\n"
        "class T:\n    def g(self):\n        return self._loop._add_reader\n"
    )
    checker = _Checker("sample.py", "loopkit.plugins.sample", {"m": "self"})
    checker.visit(ast.parse(source))
    assert [hit.split(": ", 1)[1] for hit in checker.hits] == [
        "from loopkit.core import ...",
        "loop attribute _ready",
        "loop attribute _debug",
        "getattr(loop, '_x')",
        "loop attribute _add_reader",
    ]
