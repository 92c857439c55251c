"""Debug mode: how it is switched on, and what it adds.

Debug mode adds checks (coroutines given as callbacks, calls from foreign
threads), where-created tracebacks on handles, futures and tasks, and a
warning for callbacks slower than ``slow_callback_duration``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import loopkit

_PRINT_DEBUG = (
    "import loopkit; loop = loopkit.new_event_loop(); print(loop.get_debug()); loop.close()"
)


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    env.pop("PYTHONDEVMODE", None)
    env.update(extra)
    return env


def test_debug_is_off_by_default_in_a_plain_interpreter() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PRINT_DEBUG],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_pythonasynciodebug_turns_debug_on() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PRINT_DEBUG],
        env=_child_env(PYTHONASYNCIODEBUG="1"),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == "True"


def test_dev_mode_turns_debug_on() -> None:
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-c", _PRINT_DEBUG],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == "True"


def test_get_and_set_debug(any_loop: asyncio.AbstractEventLoop) -> None:
    any_loop.set_debug(True)
    assert any_loop.get_debug() is True
    any_loop.set_debug(False)
    assert any_loop.get_debug() is False


def test_set_debug_while_running_turns_on_coroutine_origin_tracking(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    depths: list[int] = []
    before = sys.get_coroutine_origin_tracking_depth()

    async def main() -> None:
        any_loop.set_debug(True)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        depths.append(sys.get_coroutine_origin_tracking_depth())

    any_loop.run_until_complete(main())
    assert depths[0] > 0
    # Restored when the loop stops.
    assert sys.get_coroutine_origin_tracking_depth() == before


def test_slow_callbacks_are_logged(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    any_loop.set_debug(True)
    any_loop.slow_callback_duration = 0.1

    def slow() -> None:
        time.sleep(0.15)

    def fast() -> None:
        pass

    with caplog.at_level(logging.WARNING, logger="asyncio"):
        any_loop.call_soon(slow)
        any_loop.call_soon(fast)
        any_loop.call_soon(any_loop.stop)
        any_loop.run_forever()
    messages = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert len(messages) == 1
    assert messages[0].startswith("Executing <Handle")
    assert "slow()" in messages[0]
    assert re.search(r" took \d+\.\d{3} seconds$", messages[0])


def test_slow_callbacks_are_not_logged_without_debug(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    any_loop.slow_callback_duration = 0.01
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        any_loop.call_soon(time.sleep, 0.03)
        any_loop.call_soon(any_loop.stop)
        any_loop.run_forever()
    assert [r for r in caplog.records if "Executing" in r.getMessage()] == []


@pytest.mark.parametrize("method", ["call_soon", "call_later", "call_at"])
def test_non_threadsafe_call_from_another_thread_is_refused_in_debug_mode(
    any_loop: asyncio.AbstractEventLoop, method: str
) -> None:
    any_loop.set_debug(True)
    errors: list[BaseException] = []

    def from_thread() -> None:
        try:
            if method == "call_soon":
                any_loop.call_soon(print)
            elif method == "call_later":
                any_loop.call_later(1, print)
            else:
                any_loop.call_at(any_loop.time() + 1, print)
        except BaseException as exc:
            errors.append(exc)
        any_loop.call_soon_threadsafe(any_loop.stop)

    any_loop.call_soon(threading.Thread(target=from_thread).start)
    any_loop.run_forever()
    [error] = errors
    assert isinstance(error, RuntimeError)
    assert "Non-thread-safe operation invoked on an event loop other than the current one" in str(
        error
    )


def test_call_soon_from_another_thread_is_allowed_without_debug(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    errors: list[BaseException] = []

    def from_thread() -> None:
        try:
            any_loop.call_soon(lambda: None)
        except BaseException as exc:  # pragma: no cover - the failure case
            errors.append(exc)
        any_loop.call_soon_threadsafe(any_loop.stop)

    any_loop.call_soon(threading.Thread(target=from_thread).start)
    any_loop.run_forever()
    assert errors == []


@pytest.mark.parametrize("method", ["call_soon", "call_soon_threadsafe", "call_later", "call_at"])
def test_coroutines_as_callbacks_are_a_type_error_in_debug_mode(
    any_loop: asyncio.AbstractEventLoop, method: str
) -> None:
    any_loop.set_debug(True)

    async def coroutine_function() -> None:
        pass

    def schedule(callback: Any) -> None:
        if method == "call_soon":
            any_loop.call_soon(callback)
        elif method == "call_soon_threadsafe":
            any_loop.call_soon_threadsafe(callback)
        elif method == "call_later":
            any_loop.call_later(1, callback)
        else:
            any_loop.call_at(any_loop.time() + 1, callback)

    # call_later is call_at with a computed deadline; both name call_at (as asyncio).
    checked = "call_at" if method == "call_later" else method
    coro = coroutine_function()
    try:
        with pytest.raises(TypeError, match=f"coroutines cannot be used with {checked}"):
            schedule(coro)
    finally:
        coro.close()
    with pytest.raises(TypeError, match=f"coroutines cannot be used with {checked}"):
        schedule(coroutine_function)
    with pytest.raises(TypeError, match=f"a callable object was expected by {checked}"):
        schedule(42)


def _this_test_frame_in(frames: list[Any], function: str) -> bool:
    return any(frame[2] == function and frame[0] == __file__ for frame in frames)


def test_handles_remember_where_they_were_created_in_debug_mode(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    any_loop.set_debug(True)
    handles = {
        "call_soon": any_loop.call_soon(print),
        "call_soon_threadsafe": any_loop.call_soon_threadsafe(print),
        "call_later": any_loop.call_later(1, print),
        "call_at": any_loop.call_at(any_loop.time() + 1, print),
    }
    name = "test_handles_remember_where_they_were_created_in_debug_mode"
    for method, handle in handles.items():
        frames = handle._source_traceback  # type: ignore[attr-defined]
        assert frames, method
        # The innermost frame is the caller, not the loop's own method.
        assert frames[-1][2] == name, (method, frames[-1])
        assert frames[-1][0] == __file__
        handle.cancel()


def test_handles_remember_nothing_without_debug(any_loop: asyncio.AbstractEventLoop) -> None:
    assert any_loop.call_soon(print)._source_traceback is None  # type: ignore[attr-defined]
    assert any_loop.call_later(1, print)._source_traceback is None  # type: ignore[attr-defined]


def test_tasks_remember_where_they_were_created_in_debug_mode(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    any_loop.set_debug(True)

    async def nothing() -> None:
        pass

    task = any_loop.create_task(nothing())
    frames = task._source_traceback  # type: ignore[attr-defined]
    assert frames[-1][2] == "test_tasks_remember_where_they_were_created_in_debug_mode"
    any_loop.run_until_complete(task)


def test_exception_context_carries_the_source_traceback(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    any_loop.set_debug(True)
    contexts: list[dict[str, Any]] = []
    any_loop.set_exception_handler(lambda loop, context: contexts.append(context))
    future = any_loop.create_future()
    future.set_exception(ValueError("never retrieved"))
    del future
    gc.collect()
    [context] = contexts
    assert context["message"] == "Future exception was never retrieved"
    assert context["source_traceback"]
    # The innermost frame is create_future(); the one before it is the caller.
    assert context["source_traceback"][-2][2] == (
        "test_exception_context_carries_the_source_traceback"
    )


def test_default_handler_prints_where_the_failing_handle_was_created(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    any_loop.set_debug(True)

    def broken() -> None:
        raise ZeroDivisionError

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        any_loop.call_soon(broken)
        any_loop.call_soon(any_loop.stop)
        any_loop.run_forever()
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    message = record.getMessage()
    assert "source_traceback: Object created at (most recent call last):" in message
    assert "test_default_handler_prints_where_the_failing_handle_was_created" in message


def test_loopkit_run_with_debug_true_runs_in_debug_mode() -> None:
    async def main() -> bool:
        return asyncio.get_running_loop().get_debug()

    assert loopkit.run(main(), debug=True) is True
    assert loopkit.run(main(), debug=False) is False


def test_reports_from_inside_a_callback_name_the_running_handle_in_debug_mode(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    any_loop.set_debug(True)

    def reporter() -> None:
        any_loop.call_exception_handler({"message": "reported from a callback"})

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        any_loop.call_soon(reporter)
        any_loop.call_soon(any_loop.stop)
        any_loop.run_forever()
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    message = record.getMessage()
    assert message.startswith("reported from a callback\nhandle_traceback: Handle created at")
    assert "test_reports_from_inside_a_callback_name_the_running_handle_in_debug_mode" in message


def test_a_slow_task_step_is_logged_as_the_task(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    any_loop.set_debug(True)
    any_loop.slow_callback_duration = 0.02

    async def sluggish() -> None:
        time.sleep(0.04)

    with caplog.at_level(logging.WARNING, logger="asyncio"):
        any_loop.run_until_complete(any_loop.create_task(sluggish(), name="sluggish-task"))
    messages = [r.getMessage() for r in caplog.records if "took" in r.getMessage()]
    assert any(
        m.startswith("Executing <Task ") and "name='sluggish-task'" in m for m in messages
    ), messages


def test_futures_follow_set_debug_both_ways(any_loop: asyncio.AbstractEventLoop) -> None:
    """Futures ask get_debug() from C; each switch of set_debug reaches them."""
    assert any_loop.create_future()._source_traceback is None  # type: ignore[attr-defined]
    any_loop.set_debug(True)
    assert any_loop.create_future()._source_traceback  # type: ignore[attr-defined]
    any_loop.set_debug(False)
    assert any_loop.create_future()._source_traceback is None  # type: ignore[attr-defined]


def test_get_debug_returns_the_value_given_to_set_debug(loop: asyncio.AbstractEventLoop) -> None:
    """As asyncio: the flag is returned as given, not converted to a bool."""
    loop.set_debug(1)  # type: ignore[arg-type]
    assert loop.get_debug() == 1 and type(loop.get_debug()) is int
    loop.set_debug(False)


class _AlwaysDebug:
    """A plugin whose get_debug answers True and counts the questions."""

    def __init__(self) -> None:
        self.asked = 0

    @loopkit.hookimpl
    def loopkit_loop_overrides(self) -> dict[str, Any]:
        def get_debug(loop: Any) -> bool:
            self.asked += 1
            return True

        return {"get_debug": get_debug}


def test_a_plugins_get_debug_is_what_futures_ask() -> None:
    plugin = _AlwaysDebug()
    loop = loopkit.new_event_loop(plugins=[plugin])
    try:
        loop.set_debug(False)  # the override still answers
        future = loop.create_future()
        assert plugin.asked >= 1
        assert future._source_traceback  # type: ignore[attr-defined]
    finally:
        loop.close()
