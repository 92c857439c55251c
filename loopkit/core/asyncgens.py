"""Asynchronous generators: the loop's ``sys.set_asyncgen_hooks`` pair and their shutdown.

While a loop runs, Python tells it about every asynchronous generator that
starts iterating (so ``shutdown_asyncgens()`` can close those still open when
a program ends) and about every one that is garbage-collected unfinished (so
its ``aclose()`` runs as a task on the loop, where its ``finally`` blocks may
await). Installing and restoring the hooks is the run loop's job; this module
only answers them. It must never close a generator outside the loop.
"""

from __future__ import annotations

import warnings
import weakref
from asyncio import tasks
from typing import TYPE_CHECKING, Any


class AsyncGenMixin:
    """``shutdown_asyncgens`` and the two hooks the run loop installs."""

    _asyncgens: weakref.WeakSet[Any]
    _asyncgens_shutdown_called: bool

    if TYPE_CHECKING:

        def is_closed(self) -> bool: ...
        def call_soon_threadsafe(self, callback: Any, *args: Any) -> Any: ...
        def create_task(self, coro: Any) -> Any: ...
        def call_exception_handler(self, context: dict[str, Any]) -> None: ...

    def _asyncgen_firstiter_hook(self, agen: Any) -> None:
        """A generator started: remember it (weakly) for shutdown_asyncgens()."""
        if self._asyncgens_shutdown_called:
            warnings.warn(
                f"asynchronous generator {agen!r} was scheduled after "
                f"loop.shutdown_asyncgens() call",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )
        self._asyncgens.add(agen)

    def _asyncgen_finalizer_hook(self, agen: Any) -> None:
        """An unfinished generator is being collected: close it on the loop.

        The collector may run in any thread, hence call_soon_threadsafe.
        """
        self._asyncgens.discard(agen)
        if not self.is_closed():
            self.call_soon_threadsafe(self.create_task, agen.aclose())

    async def shutdown_asyncgens(self) -> None:
        """Close every asynchronous generator still open on this loop.

        Failures are reported to the exception handler with the generator
        under ``asyncgen``; they do not stop the others from closing.
        """
        self._asyncgens_shutdown_called = True
        if not len(self._asyncgens):
            return
        closing = list(self._asyncgens)
        self._asyncgens.clear()
        results = await tasks.gather(*[agen.aclose() for agen in closing], return_exceptions=True)
        for result, agen in zip(results, closing, strict=True):
            if isinstance(result, Exception):
                self.call_exception_handler(
                    {
                        "message": "an error occurred during closing of "
                        f"asynchronous generator {agen!r}",
                        "exception": result,
                        "asyncgen": agen,
                    }
                )
