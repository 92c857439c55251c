"""The exception-handler API: where errors without a caller are reported."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import sys
from typing import Any

import pytest

where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="outside")


def _run_one_iteration(loop: asyncio.AbstractEventLoop) -> None:
    loop.call_soon(loop.stop)
    loop.run_forever()


def test_no_custom_handler_by_default(any_loop: asyncio.AbstractEventLoop) -> None:
    assert any_loop.get_exception_handler() is None


def test_set_and_get_the_exception_handler(any_loop: asyncio.AbstractEventLoop) -> None:
    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        pass

    any_loop.set_exception_handler(handler)
    assert any_loop.get_exception_handler() is handler
    any_loop.set_exception_handler(None)
    assert any_loop.get_exception_handler() is None


def test_non_callable_handler_is_a_type_error(any_loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError, match="A callable object or None is expected"):
        any_loop.set_exception_handler("not callable")  # type: ignore[arg-type]


def test_default_handler_logs_message_and_context_keys_to_the_asyncio_logger(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    error = ValueError("bad value")
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        any_loop.call_exception_handler(
            {"message": "Something broke", "exception": error, "socket": "sock-repr"}
        )
    [record] = caplog.records
    assert record.name == "asyncio"
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Something broke\nsocket: 'sock-repr'"
    assert record.exc_info is not None and record.exc_info[1] is error


def test_default_handler_without_message_uses_a_generic_one(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        any_loop.default_exception_handler({"handle": "h"})
    assert caplog.records[0].getMessage() == "Unhandled exception in event loop\nhandle: 'h'"


def test_exception_in_a_callback_goes_to_the_handler_and_the_loop_goes_on(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    contexts: list[dict[str, Any]] = []
    calls: list[str] = []
    any_loop.set_exception_handler(lambda loop, context: contexts.append(context))

    def broken() -> None:
        raise ZeroDivisionError("in callback")

    handle = any_loop.call_soon(broken)
    any_loop.call_soon(calls.append, "next callback still runs")
    _run_one_iteration(any_loop)
    assert calls == ["next callback still runs"]
    [context] = contexts
    assert context["message"].startswith("Exception in callback")
    assert isinstance(context["exception"], ZeroDivisionError)
    assert context["handle"] is handle


def test_exception_in_a_callback_is_logged_by_default(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise ZeroDivisionError("logged")

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        any_loop.call_soon(broken)
        _run_one_iteration(any_loop)
    [record] = caplog.records
    assert "Exception in callback" in record.getMessage()
    assert "handle: <Handle" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], ZeroDivisionError)


def test_a_failing_custom_handler_is_logged_and_the_loop_goes_on(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    def failing_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        raise RuntimeError("handler is broken")

    any_loop.set_exception_handler(failing_handler)
    calls: list[str] = []

    def broken() -> None:
        raise ZeroDivisionError

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        any_loop.call_exception_handler({"message": "direct call"})
        any_loop.call_soon(broken)
        any_loop.call_soon(calls.append, "still running")
        _run_one_iteration(any_loop)
    assert calls == ["still running"]
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    for message, record in zip(messages, caplog.records, strict=True):
        assert message.startswith("Unhandled error in exception handler")
        assert "context: {" in message
        assert record.exc_info is not None
        assert str(record.exc_info[1]) == "handler is broken"
    assert "'message': 'direct call'" in messages[0]


def test_system_exit_from_a_custom_handler_propagates(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    def exiting(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        raise SystemExit(3)

    any_loop.set_exception_handler(exiting)
    with pytest.raises(SystemExit):
        any_loop.call_exception_handler({"message": "x"})


def test_never_retrieved_task_exception_is_reported_with_the_task(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    contexts: list[dict[str, Any]] = []
    any_loop.set_exception_handler(lambda loop, context: contexts.append(context))

    async def fails() -> None:
        raise KeyError("lost")

    task = any_loop.create_task(fails())
    any_loop.run_until_complete(asyncio.sleep(0))
    assert task.done()
    del task
    gc.collect()
    [context] = contexts
    assert context["message"] == "Task exception was never retrieved"
    assert isinstance(context["exception"], KeyError)
    assert isinstance(context["future"], asyncio.Task)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio 3.12+ runs the handler in context")
def test_custom_handler_runs_in_the_failing_handles_context(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    seen: list[str] = []
    any_loop.set_exception_handler(lambda loop, context: seen.append(where.get()))
    context = contextvars.copy_context()
    context.run(where.set, "inside-callback-context")

    def broken() -> None:
        raise ZeroDivisionError

    any_loop.call_soon(broken, context=context)
    _run_one_iteration(any_loop)
    assert seen == ["inside-callback-context"]


class _BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr is broken")


def test_a_failure_inside_the_default_handler_is_logged_not_raised(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        any_loop.call_exception_handler({"message": "m", "thing": _BadRepr()})
    [record] = caplog.records
    assert record.getMessage() == "Exception in default exception handler"
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "repr is broken"


def test_a_failure_in_both_handlers_is_logged_not_raised(
    any_loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    def failing_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        raise ValueError("custom handler is broken")

    any_loop.set_exception_handler(failing_handler)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        any_loop.call_exception_handler({"message": "m", "thing": _BadRepr()})
    [record] = caplog.records
    assert record.getMessage() == (
        "Exception in default exception handler while handling an unexpected "
        "error in custom exception handler"
    )
