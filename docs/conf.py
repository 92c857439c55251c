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
