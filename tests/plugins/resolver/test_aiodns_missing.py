"""Without aiodns installed, the aiodns backend is listed but says how to get it.

This runs whether or not aiodns is installed: where it is, the import is
made to fail for the length of the test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

import loopkit
from loopkit.plugins.resolver import aiodns as backend


@pytest.fixture
def without_aiodns(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(sys.modules, "aiodns", None)  # makes `import aiodns` fail
    monkeypatch.delenv(loopkit.ENV_RESOLVER, raising=False)
    backend.is_available.cache_clear()
    loopkit.refresh_plugins()
    yield
    monkeypatch.undo()
    backend.is_available.cache_clear()
    loopkit.refresh_plugins()


@pytest.mark.usefixtures("without_aiodns")
def test_choosing_aiodns_without_it_says_how_to_install_it() -> None:
    with pytest.raises(loopkit.AssemblyError) as info:
        loopkit.new_event_loop(resolver="aiodns")
    message = str(info.value)
    assert "resolver 'aiodns' is not available" in message
    assert "pip install 'loopkit-asyncio[aiodns]'" in message
    assert "available: threaded" in message


@pytest.mark.usefixtures("without_aiodns")
def test_the_default_loop_does_not_need_aiodns() -> None:
    assembly = loopkit.assemble()
    assert assembly.resolver == "threaded"
    assert "aiodns" in assembly.resolvers


def test_the_default_choice_does_not_import_aiodns() -> None:
    import subprocess

    code = (
        "import sys, loopkit\n"
        "loopkit.new_event_loop().close()\n"
        "print('aiodns' in sys.modules, 'pycares' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.split() == ["False", "False"]
