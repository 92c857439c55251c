"""Sphinx configuration for loopkit's documentation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

project = "loopkit"
author = "the loopkit developers"
copyright = "2026, the loopkit developers"
extensions = ["sphinx.ext.autodoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
exclude_patterns = ["_build", "examples"]
html_theme = "alabaster"
nitpicky = False

# The standard library's and pytest's own classes cannot be linked without
# intersphinx (which needs the network): annotations naming them are not
# reported as broken references under ``-n``.
nitpick_ignore_regex = [
    (r"py:.*", r"(asyncio|collections|contextlib|threading|socket|ssl|_pytest|pytest)(\..*)?"),
    (r"py:class", r"loopkit\.testing\.faults\.plan\._Scripted"),
]

# Fit a 1280 px window: a wider body than alabaster's 940 px and tables that
# scroll by themselves (docs/_static/loopkit.css).
html_static_path = ["_static"]
html_css_files = ["loopkit.css"]
html_theme_options = {"page_width": "auto", "fixed_sidebar": False}
