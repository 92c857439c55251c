"""The loop's exception-handler API.

Errors that happen inside callbacks have no caller to propagate to; they are
reported here. The rule that matters most: nothing raised while *reporting*
an error may escape into the loop, except SystemExit and KeyboardInterrupt,
which always propagate so that a program can still be stopped.

Messages go to the ``asyncio`` logger (looked up through
``asyncio.base_events`` at the time of the call), so logging configuration
and test doubles written for asyncio keep working under loopkit.
"""

from __future__ import annotations

import sys
import traceback
from asyncio import base_events as _asyncio_base_events
from asyncio import format_helpers as _asyncio_format_helpers
from collections.abc import Callable
from typing import Any

ExceptionHandler = Callable[[Any, dict[str, Any]], object]

_TRACEBACK_KEYS = {
    "source_traceback": "Object created at (most recent call last):\n",
    "handle_traceback": "Handle created at (most recent call last):\n",
}


_base_events: Any = _asyncio_base_events  # typeshed does not list its ``logger``
_format_helpers: Any = _asyncio_format_helpers  # private helpers, not in typeshed


def _logger() -> Any:
    return _base_events.logger


def format_context(context: dict[str, Any]) -> str:
    """Render an exception context the way asyncio's default handler does.

    The message first, then every other key in sorted order; tracebacks of
    where an object was created are printed as tracebacks, not reprs.
    """
    lines = [context.get("message") or "Unhandled exception in event loop"]
    for key in sorted(context):
        if key in ("message", "exception"):
            continue
        value = context[key]
        header = _TRACEBACK_KEYS.get(key)
        if header is not None:
            text = header + "".join(traceback.format_list(value)).rstrip()
        else:
            text = repr(value)
        lines.append(f"{key}: {text}")
    return "\n".join(lines)


class ExceptionHandlingMixin:
    """``set/get_exception_handler``, ``default_/call_exception_handler``."""

    _exception_handler: ExceptionHandler | None = None
    _current_handle: Any = None
    _debug: bool  # set by the kernel

    def get_exception_handler(self) -> ExceptionHandler | None:
        """Return the custom exception handler, or None for the default one."""
        return self._exception_handler

    def set_exception_handler(self, handler: ExceptionHandler | None) -> None:
        """Install ``handler(loop, context)`` as the loop's exception handler.

        None restores the default handler. Anything else that is not
        callable is a TypeError, as in asyncio.
        """
        if handler is not None and not callable(handler):
            raise TypeError(f"A callable object or None is expected, got {handler!r}")
        self._exception_handler = handler

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        """Log ``context`` to the ``asyncio`` logger at ERROR level.

        Recognised keys: message, exception, future, task, handle, protocol,
        transport, socket, asyncgen, source_traceback. The traceback of the
        exception, if any, is attached to the log record.
        """
        exception = context.get("exception")
        exc_info: Any = False
        if exception is not None:
            exc_info = (type(exception), exception, exception.__traceback__)
        current = self._current_handle
        if "source_traceback" not in context and current is not None and current._source_traceback:
            context["handle_traceback"] = current._source_traceback
        _logger().error(format_context(context), exc_info=exc_info)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        """Report ``context`` to the custom handler, or to the default one.

        A custom handler runs in the contextvars context of the task, future
        or handle the report is about (as asyncio 3.12+ does). If the custom
        handler itself raises, both errors are logged by the default handler
        and the loop goes on.
        """
        handler = self._exception_handler
        if handler is None:
            try:
                self.default_exception_handler(context)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                _logger().error("Exception in default exception handler", exc_info=True)
            return
        try:
            run_context = None
            subject = context.get("task") or context.get("future") or context.get("handle")
            get_context = getattr(subject, "get_context", None)
            if get_context is not None:
                run_context = get_context()
            if run_context is not None:
                run_context.run(handler, self, context)
            else:
                handler(self, context)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            try:
                self.default_exception_handler(
                    {
                        "message": "Unhandled error in exception handler",
                        "exception": exc,
                        "context": context,
                    }
                )
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                _logger().error(
                    "Exception in default exception handler while handling an "
                    "unexpected error in custom exception handler",
                    exc_info=True,
                )

    def _report_callback_error(self, handle: Any, exc: BaseException) -> None:
        """Report what a callback run by the kernel's fast path raised.

        The kernel runs ``handle``'s callback inline instead of through
        ``Handle._run`` (one Python frame less per callback); this is the
        other half of ``Handle._run``: the report it would have made, with
        the same message, the handle itself and, when recorded, where the
        handle was created.
        """
        if sys.version_info >= (3, 13):
            source = _format_helpers._format_callback_source(
                handle._callback, handle._args, debug=self._debug
            )
        else:
            source = _format_helpers._format_callback_source(handle._callback, handle._args)
        context: dict[str, Any] = {
            "message": f"Exception in callback {source}",
            "exception": exc,
            "handle": handle,
        }
        if handle._source_traceback:
            context["source_traceback"] = handle._source_traceback
        self.call_exception_handler(context)
