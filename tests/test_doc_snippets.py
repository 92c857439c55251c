"""Every Python code block of the README and the docs runs as written.

The blocks are extracted from ``README.md`` (```python fences), the docs'
Markdown pages (the same fences) and their reStructuredText pages
(``.. code-block:: python``), and each one runs as a script in its own
interpreter: a reader who pastes a block into a file gets a program that
works on the running Python. Longer examples live in ``docs/examples`` and
are run by ``tests/test_examples.py``.

A block that is deliberately a fragment (a ``conftest.py`` excerpt that
needs the reader's own module, say) is marked just before it, with the
reason: ``.. not-run: REASON`` (an RST comment) or ``<!-- not-run: REASON
-->`` (Markdown). A block that needs a newer Python says so in its first
line, ``# Python 3.12+``, and is skipped on older ones. Python code in a
plain ``::`` literal block would escape both, so such blocks are refused.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SKIP_MARK = re.compile(r"^\s*(?:\.\.|<!--)\s*not-run:\s*(?P<reason>.*?)\s*(?:-->)?\s*$")
NEEDS = re.compile(r"#\s*Python (?P<major>\d+)\.(?P<minor>\d+)\+")


@dataclass(frozen=True)
class Snippet:
    """One code block: where it is, its code, and why it is not run (if so)."""

    path: Path
    line: int
    code: str
    skip: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _mark_before(lines: list[str], index: int) -> str | None:
    """The reason of a ``not-run`` mark on the last non-blank line before ``index``."""
    for line in reversed(lines[:index]):
        if line.strip():
            match = SKIP_MARK.match(line)
            return match["reason"] if match else None
    return None


def markdown_snippets(path: Path) -> list[Snippet]:
    lines = path.read_text().splitlines()
    found = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```python":
            end = lines.index("```", index + 1)
            code = "\n".join(lines[index + 1 : end]) + "\n"
            found.append(Snippet(path, index + 1, code, _mark_before(lines, index)))
            index = end
        index += 1
    return found


def _indented_block(lines: list[str], start: int) -> tuple[str, int]:
    """The indented body starting at ``start`` (after options), dedented."""
    body: list[str] = []
    index = start
    while index < len(lines) and (not lines[index].strip() or lines[index].startswith(" ")):
        body.append(lines[index])
        index += 1
    body = [line for line in body if not line.strip().startswith(":")] if body else body
    text = "\n".join(body).strip("\n")
    indent = min((len(x) - len(x.lstrip()) for x in text.splitlines() if x.strip()), default=0)
    return "\n".join(x[indent:] for x in text.splitlines()) + "\n", index


def rst_snippets(path: Path) -> list[Snippet]:
    lines = path.read_text().splitlines()
    found = []
    for index, line in enumerate(lines):
        if line.strip() == ".. code-block:: python":
            code, _ = _indented_block(lines, index + 1)
            found.append(Snippet(path, index + 1, code, _mark_before(lines, index)))
    return found


def all_snippets() -> list[Snippet]:
    found = markdown_snippets(ROOT / "README.md")
    for page in sorted(DOCS.rglob("*.md")):
        if "measured" not in page.parts:
            found += markdown_snippets(page)
    for page in sorted(DOCS.rglob("*.rst")):
        found += rst_snippets(page)
    return found


SNIPPETS = all_snippets()


def test_the_extraction_finds_the_blocks_of_readme_and_docs() -> None:
    pages = {snippet.path.name for snippet in SNIPPETS}
    assert {"README.md", "quickstart.rst", "choosing.rst", "subprocess.md"} <= pages
    # Fragments stay the exception, and each one says why.
    skipped = [snippet for snippet in SNIPPETS if snippet.skip is not None]
    assert all(snippet.skip for snippet in skipped)
    assert len(skipped) <= 3, [snippet.id for snippet in skipped]


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda snippet: snippet.id)
def test_the_code_block_runs_as_written(snippet: Snippet, tmp_path: Path) -> None:
    if snippet.skip:
        pytest.skip(f"a fragment: {snippet.skip}")
    first = snippet.code.splitlines()[0] if snippet.code.strip() else ""
    needs = NEEDS.search(first)
    if needs and sys.version_info < (int(needs["major"]), int(needs["minor"])):
        pytest.skip(f"the block says it needs Python {needs['major']}.{needs['minor']}+")
    script = tmp_path / "snippet.py"
    script.write_text(snippet.code)
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{snippet.id} failed:\n{snippet.code}\n{result.stderr}"


LITERAL_PYTHON = re.compile(r"^(import |from \S+ import |async def |def |>>> |@)")


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.rst")), ids=lambda p: p.name)
def test_no_python_hides_in_a_plain_literal_block(page: Path) -> None:
    """``::`` blocks are for shell commands and output; Python goes in a code-block."""
    lines = page.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            code, _ = _indented_block(lines, index + 1)
            first = code.lstrip("\n").splitlines()[0] if code.strip() else ""
            assert not LITERAL_PYTHON.match(first), (
                f"{page.name}:{index + 1}: Python in a '::' block; "
                "use '.. code-block:: python' so that tests/test_doc_snippets.py runs it"
            )
