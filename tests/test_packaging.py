"""The distribution's metadata, read from a wheel built from this tree.

What a package index shows and what ``pip show`` prints come from the wheel's
``METADATA``: its name (``loopkit`` on the index is another project), its
license, its classifiers and its description.
"""

from __future__ import annotations

import email.parser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def metadata(tmp_path_factory: pytest.TempPathFactory) -> email.message.Message:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300, cwd=build,
    )  # fmt: skip
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_the_distribution_name_is_loopkit_asyncio(metadata: email.message.Message) -> None:
    assert metadata["Name"] == "loopkit-asyncio"


def test_the_license_is_declared(metadata: email.message.Message) -> None:
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License-File"] == "LICENSE"


def test_the_classifiers_state_maturity_typing_and_platforms(
    metadata: email.message.Message,
) -> None:
    classifiers = set(metadata.get_all("Classifier") or ())
    assert "Development Status :: 4 - Beta" in classifiers
    assert "Typing :: Typed" in classifiers
    assert {
        "Operating System :: POSIX :: Linux",
        "Operating System :: POSIX :: BSD",
        "Operating System :: MacOS",
    } <= classifiers
    assert not any("Windows" in classifier for classifier in classifiers)


def test_the_index_description_opens_with_what_it_is_and_how_to_install(
    metadata: email.message.Message,
) -> None:
    assert metadata["Description-Content-Type"] == "text/markdown"
    body = metadata.get_payload()
    assert isinstance(body, str)
    opening = body[: body.index("## Use")]
    assert "event loop for asyncio" in opening
    assert "pip install loopkit-asyncio" in opening
