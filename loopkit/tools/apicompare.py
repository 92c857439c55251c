"""Compare the assembled loop's method signatures with asyncio's own loop.

A drop-in loop must accept exactly what asyncio's loop accepts on the
running Python: the same parameter names, kinds and defaults, including the
parameters that exist only on some versions (``all_errors`` from 3.12,
``keep_alive`` and ``cleanup_socket`` from 3.13, ...). ``python -m loopkit``
prints this comparison so a user can see the coverage for their Python; the
test suite asserts that it finds no difference.

It only reads signatures: it never creates a loop.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loopkit.core.clock import loop_time

#: Parameters (and Server methods) that exist only from some Python version
#: on, as asyncio has them: (where, name, first version).
VERSIONED_API: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("create_connection", "all_errors", (3, 12)),
    ("shutdown_default_executor", "timeout", (3, 12)),
    ("create_server", "keep_alive", (3, 13)),
    ("create_unix_server", "cleanup_socket", (3, 13)),
    ("Server", "close_clients", (3, 13)),
    ("Server", "abort_clients", (3, 13)),
)


@dataclass(frozen=True)
class SignatureDifference:
    """One method whose parameters differ from asyncio's."""

    method: str
    asyncio_parameters: str
    loopkit_parameters: str


def _time_as_a_method(self: Any) -> float:
    """What ``loop.time`` is to a caller: a method of no argument (see below)."""
    raise AssertionError("never called")


def _describe(function: Any) -> str:
    """The parameters as a caller sees them: names, kinds, defaults (no annotations)."""
    if function is loop_time:
        # KernelLoop.time is a property returning the loop's clock, a callable
        # of no argument (see loopkit.core.clock): to a caller, loop.time() is
        # a method that takes only self.
        function = _time_as_a_method
    parts = []
    for parameter in inspect.signature(function).parameters.values():
        parts.append(str(parameter.replace(annotation=inspect.Parameter.empty)))
    return "(" + ", ".join(parts) + ")"


def signature_differences(loop_class: type, methods: Sequence[str]) -> list[SignatureDifference]:
    """Methods of ``loop_class`` whose signature is not that of asyncio's loop.

    Methods the assembly does not provide are left out: the method table
    already reports them as missing.
    """
    reference = asyncio.SelectorEventLoop
    differences = []
    for name in methods:
        ours = getattr(loop_class, name, None)
        theirs = getattr(reference, name, None)
        if ours is None or theirs is None or getattr(ours, "loopkit_missing", False):
            continue
        if _describe(ours) != _describe(theirs):
            differences.append(SignatureDifference(name, _describe(theirs), _describe(ours)))
    return differences


def versioned_api_present(
    loop_class: type, server_class: type | None
) -> list[tuple[str, tuple[int, int], bool | None]]:
    """Each version-specific name, the version that brought it, and whether
    loopkit offers it here; None when the plugin that would provide it is not
    enabled (``server_class`` None: no server plugin)."""
    present: list[tuple[str, tuple[int, int], bool | None]] = []
    for where, name, since in VERSIONED_API:
        found: bool | None
        if where == "Server":
            label = f"Server.{name}()"
            found = None if server_class is None else hasattr(server_class, name)
        else:
            label = f"{where}({name}=)"
            method = getattr(loop_class, where, None)
            if method is None or getattr(method, "loopkit_missing", False):
                found = None
            else:
                found = name in inspect.signature(method).parameters
        present.append((label, since, found))
    return present


def expected_here(since: tuple[int, int]) -> bool:
    """Whether asyncio on the running Python has an API new in ``since``."""
    return sys.version_info[:2] >= since
