"""Sphinx configuration for loopkit's documentation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

project = "loopkit"
author = "the loopkit developers"
copyright = "2026, the loopkit developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
exclude_patterns = ["_build", "examples", "pypi-description.md"]
html_theme = "alabaster"

# -n: every cross-reference must resolve (CI builds with -n -W).
nitpicky = True

# The standard library and pytest are linked through intersphinx. The build
# has no network, so each project's inventory is a small file committed in
# _inventories/, written by make_inventories.py (its docstring says how to
# regenerate it and how to find a name it lacks); the links point at the real
# pages.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", "_inventories/python.inv"),
    "pytest": ("https://docs.pytest.org/en/stable", "_inventories/pytest.inv"),
}

# Type variables are not objects with a page to link to: a signature that is
# generic in ``_T`` shows ``_T``, and nothing can be referenced by it.
nitpick_ignore = [
    ("py:class", "loopkit.core.kernel._T"),
    ("py:class", "_Ts"),  # a TypeVarTuple, written without its module
    ("py:class", "loopkit.core.services._S"),
    ("py:class", "loopkit.runner._T"),
]

# Fit a 1280 px window: a wider body than alabaster's 940 px and tables that
# scroll by themselves (docs/_static/loopkit.css).
html_static_path = ["_static"]
html_css_files = ["loopkit.css"]
html_theme_options = {"page_width": "auto", "fixed_sidebar": False}
