"""The sample third-party plugin (tests/sample_plugin), built and installed for real.

``sample_site`` builds the distribution with pip (no network, no build
isolation: setuptools from this environment) into a temporary folder, as
``pip install --target`` lays it out: the package and its ``.dist-info``
with the entry point. Nothing is installed into the test environment
itself; a test puts the folder on ``sys.path`` (``sample_on_path``) or on a
child's ``PYTHONPATH`` (``sample_env``), and loopkit discovers the plugin
through its entry point, as it would after ``pip install loopkit-seqpacket``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import loopkit

#: The sample distribution's source tree.
SAMPLE = Path(__file__).resolve().parent.parent / "sample_plugin"


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the built, installed sample distribution."""
    pytest.importorskip("setuptools", reason="building the sample plugin needs setuptools")
    work = tmp_path_factory.mktemp("sample_plugin")
    source = work / "source"  # a copy: pip builds in the tree it is given
    shutil.copytree(SAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--disable-pip-version-check",
            "-q",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return site


@pytest.fixture
def sample_on_path(sample_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The sample distribution on ``sys.path`` for this test (discovered by new loops)."""
    monkeypatch.setenv("LOOPKIT_NO_PLUGIN_CACHE", "1")  # write no index for a temporary path
    monkeypatch.syspath_prepend(str(sample_site))
    loopkit.refresh_plugins()
    yield sample_site
    monkeypatch.undo()
    loopkit.refresh_plugins()


@pytest.fixture
def sample_env(sample_site: Path) -> dict[str, str]:
    """An environment for a child Python that has the sample distribution installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPKIT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(sample_site), env.get("PYTHONPATH")]))
    env["LOOPKIT_NO_PLUGIN_CACHE"] = "1"
    return env
