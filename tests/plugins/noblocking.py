"""The loop thread never blocks: blockbuster watches the transport suites.

Tools such as ``blockbuster`` (used by the test suites of aiohttp, anyio
and starlette) patch the blocking calls of the standard library (``os.stat``,
``os.read`` of a blocking fd, ``os.sendfile``, blocking socket calls,
``time.sleep``, a contended ``Lock.acquire``, ...) and raise
``BlockingError`` when one runs in a thread whose asyncio loop is running.
They excuse asyncio's own files by name; they excuse nothing of loopkit's.
So here blockbuster is active for every test of the tcp, unix, udp, pipes and
subprocess suites, with the allow-list below, which names test code only:
never a loopkit module (a test checks that).

A ``BlockingError`` can be swallowed on its way up (a callback's exception
goes to the loop's exception handler; a cleanup may catch ``Exception``), so
each one is also recorded as it is made, and the test fails at teardown if
any was, naming the call and where it was made.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from blockbuster import blockbuster as _bb

from loopkit.core.kernel import KernelLoop

_T = TypeVar("_T")

#: The suites (folders of tests/plugins/) that run with blockbuster active.
WATCHED_SUITES = ("tcp", "unix", "udp", "pipes", "subprocess")


def own_blocking_call(func: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``func(*args, **kwargs)``: a blocking call the *test* makes while its loop runs.

    Preparing a file, a peer socket in blocking mode, listing /proc/self/fd:
    the test's own doing, not the loop's. It is the one function the
    allow-list names, so every excused call is marked where it is made.
    Never pass a loop method here.
    """
    return func(*args, **kwargs)


#: The allow-list: (file name ending, functions) excused for every call
#: blockbuster watches. Test code only; no entry names a loopkit module.
TEST_ALLOWED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tests/plugins/noblocking.py", ("own_blocking_call",)),
)


class _LoopkitOnly:
    """Stands in for the ``asyncio`` module inside blockbuster: a running loop counts
    only if it is loopkit's.

    The same tests also run on asyncio's loop (``any_loop``); asyncio's own
    blocking calls (``os.stat`` in its ``create_datagram_endpoint``, say)
    are not this suite's business.
    """

    @staticmethod
    def get_running_loop() -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if not isinstance(loop, KernelLoop):
            raise RuntimeError("not a loopkit loop")
        return loop


class _Recorded(_bb.BlockingError):
    """blockbuster's BlockingError that also writes itself down where it is made."""

    found: list[str] = []

    def __init__(self, func: str) -> None:
        super().__init__(func)
        where = "".join(traceback.format_stack(limit=12)[:-2])
        _Recorded.found.append(f"{func}\n{where}")


def _excuse_devnull(function: _bb.BlockBusterFunction) -> None:
    excused = function.can_block_predicate

    def to_devnull_or_excused(file: Any, *args: Any, **kwargs: Any) -> bool:
        return getattr(file, "name", None) == os.devnull or excused(file, *args, **kwargs)

    function.can_block_predicate = to_devnull_or_excused


def _make() -> _bb.BlockBuster:
    buster = _bb.BlockBuster()
    for function in buster.functions.values():
        for filename, functions in TEST_ALLOWED:
            function.can_block_in(filename, set(functions))
    # pytest's own log-file handler writes records to os.devnull: pytest's
    # doing (a record logged by a loop, as asyncio logs too), not the loop's.
    for name in ("io.TextIOWrapper.write", "io.BufferedWriter.write"):
        _excuse_devnull(buster.functions[name])
    return buster


_buster: _bb.BlockBuster | None = None


@contextlib.contextmanager
def watching() -> Iterator[list[str]]:
    """blockbuster active on loopkit loops; yields the list of blocking calls found."""
    global _buster
    if _buster is None:
        _buster = _make()
    mp = pytest.MonkeyPatch()
    mp.setattr(_bb, "BlockingError", _Recorded)
    mp.setattr(_bb, "asyncio", _LoopkitOnly)
    found: list[str] = []
    _Recorded.found = found
    _buster.activate()
    try:
        yield found
    finally:
        _buster.deactivate()
        mp.undo()
        _Recorded.found = []


@pytest.fixture(autouse=True)
def no_blocking_in_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Activate blockbuster for the test; fail it if any blocking call was made."""
    suite = request.path.parent.name
    if suite == "tls":
        suite = request.path.parent.parent.name
    if suite not in WATCHED_SUITES:
        yield
        return
    with watching() as found:
        yield
    if found:
        pytest.fail("blocking call(s) in the loop thread:\n" + "\n".join(found[:3]), pytrace=False)
