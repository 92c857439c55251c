"""Handles built on the kernel's fast path are asyncio's handles in every respect."""

from __future__ import annotations

import asyncio
import contextvars
import sys

import pytest

from loopkit.core import kernel

pytestmark = pytest.mark.skipif(
    not kernel._FAST_HANDLES, reason="this Python's Handle layout uses the constructors"
)

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


def callback(*args: object) -> None:
    """A named function, so that reprs are comparable across loops."""


@pytest.mark.parametrize("method", ["call_soon", "call_soon_threadsafe", "call_later"])
def test_fast_handles_match_constructed_ones(
    any_loop: asyncio.AbstractEventLoop, method: str
) -> None:
    args: tuple[object, ...] = (1, "two")
    expected: asyncio.Handle
    if method == "call_later":
        handle = any_loop.call_later(60, callback, *args)
        assert isinstance(handle, asyncio.TimerHandle)
        assert any_loop.time() < handle.when() <= any_loop.time() + 60
        expected = asyncio.TimerHandle(handle.when(), callback, args, any_loop)
    else:
        handle = getattr(any_loop, method)(callback, *args)
        assert type(handle) is asyncio.Handle
        expected = asyncio.Handle(callback, args, any_loop)
    assert repr(handle) == repr(expected)
    assert not handle.cancelled()
    if sys.version_info >= (3, 12):
        assert isinstance(handle.get_context(), contextvars.Context)
    handle.cancel()
    assert handle.cancelled()
    assert "cancelled" in repr(handle)


def test_fast_handles_run_in_the_given_context(any_loop: asyncio.AbstractEventLoop) -> None:
    seen: list[str] = []
    context = contextvars.copy_context()
    context.run(VAR.set, "inside")
    any_loop.call_soon(lambda: seen.append(VAR.get()), context=context)
    any_loop.call_later(0, lambda: seen.append(VAR.get()), context=context)
    any_loop.call_soon(lambda: seen.append(VAR.get()))
    any_loop.run_until_complete(asyncio.sleep(0.01))
    assert seen == ["inside", "unset", "inside"]


def test_a_failing_fast_handle_reports_itself(any_loop: asyncio.AbstractEventLoop) -> None:
    reports: list[dict[str, object]] = []
    any_loop.set_exception_handler(lambda loop, context: reports.append(context))

    def fail() -> None:
        raise ValueError("boom")

    handle = any_loop.call_soon(fail)
    any_loop.run_until_complete(asyncio.sleep(0))
    assert reports[0]["handle"] is handle
    assert isinstance(reports[0]["exception"], ValueError)
