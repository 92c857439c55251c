"""The blockbuster watch of the transport suites (``noblocking``) is real and fair.

It must catch a blocking call a loopkit loop makes (else the suites prove
nothing), and its allow-list must excuse test code only: an entry naming a
loopkit module would hide exactly what it is there to find.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import noblocking
import pytest

import loopkit

_ROOT = Path(__file__).resolve().parents[2]


def _loopkit_files() -> list[str]:
    files = [*_ROOT.joinpath("loopkit").rglob("*.py"), *_ROOT.joinpath("plugins").rglob("*.py")]
    return [path.relative_to(_ROOT).as_posix() for path in files]


def test_no_allow_list_entry_names_a_loopkit_module() -> None:
    loopkit_files = _loopkit_files()
    assert "plugins/tcp/sendfile.py" in loopkit_files
    with noblocking.watching():
        buster = noblocking._buster
        assert buster is not None
        for function in buster.functions.values():
            for filename, _functions in function.can_block_functions:
                named = [f for f in loopkit_files if ("/" + f).endswith("/" + filename.lstrip("/"))]
                assert not named, (
                    f"{function.full_name}: allow-list entry {filename!r} is loopkit's"
                )
                assert "loopkit" not in filename
                assert not filename.lstrip("/").startswith("plugins/")


def test_a_blocking_call_on_a_loopkit_loop_is_caught_even_if_swallowed() -> None:
    async def main() -> None:
        try:
            os.stat(".")
        except Exception:  # swallowed, as a callback's error may be
            pass

    loop = loopkit.new_event_loop()
    try:
        with noblocking.watching() as found:
            loop.run_until_complete(main())
        assert len(found) == 1 and found[0].startswith("os.stat")
    finally:
        loop.close()


def test_the_test_side_helper_and_other_loops_are_excused() -> None:
    async def main() -> None:
        noblocking.own_blocking_call(os.stat, ".")

    async def on_asyncio() -> None:
        os.stat(".")  # asyncio's loop is not what these suites check

    loop = loopkit.new_event_loop()
    try:
        with noblocking.watching() as found:
            loop.run_until_complete(main())
            asyncio.run(on_asyncio())
            os.stat(".")  # no loop running in this thread
        assert found == []
    finally:
        loop.close()


@pytest.mark.parametrize("suite", noblocking.WATCHED_SUITES)
def test_each_watched_suite_exists(suite: str) -> None:
    assert (_ROOT / "tests" / "plugins" / suite).is_dir()
