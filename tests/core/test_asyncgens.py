"""Asynchronous generators: the loop's hooks, and shutdown_asyncgens()."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncGenerator
from typing import Any

import pytest


def test_asyncgen_hooks_are_installed_only_while_running(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    outside = sys.get_asyncgen_hooks()
    inside: list[Any] = []
    any_loop.call_soon(lambda: inside.append(sys.get_asyncgen_hooks()))
    any_loop.call_soon(any_loop.stop)
    any_loop.run_forever()
    assert inside[0].firstiter is not None
    assert inside[0].finalizer is not None
    assert sys.get_asyncgen_hooks() == outside


def test_shutdown_asyncgens_closes_a_generator_left_open(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    events: list[str] = []

    async def ticker() -> AsyncGenerator[int, None]:
        try:
            for i in range(100):
                yield i
        finally:
            events.append("finally ran")

    async def main() -> AsyncGenerator[int, None]:
        gen = ticker()
        assert await gen.__anext__() == 0
        return gen  # left open, still referenced

    gen = any_loop.run_until_complete(main())
    assert events == []
    any_loop.run_until_complete(any_loop.shutdown_asyncgens())
    assert events == ["finally ran"]
    del gen


def test_shutdown_asyncgens_with_nothing_open_returns_at_once(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    any_loop.run_until_complete(any_loop.shutdown_asyncgens())


def test_a_generator_failing_to_close_is_reported_with_the_generator(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    contexts: list[dict[str, Any]] = []
    any_loop.set_exception_handler(lambda loop, context: contexts.append(context))

    async def stubborn() -> AsyncGenerator[int, None]:
        try:
            yield 1
        finally:
            raise ValueError("cannot close")

    async def main() -> AsyncGenerator[int, None]:
        gen = stubborn()
        await gen.__anext__()
        return gen

    gen = any_loop.run_until_complete(main())
    any_loop.run_until_complete(any_loop.shutdown_asyncgens())
    [context] = contexts
    assert context["message"].startswith(
        "an error occurred during closing of asynchronous generator"
    )
    assert isinstance(context["exception"], ValueError)
    assert context["asyncgen"] is gen


def test_a_collected_generator_is_closed_on_the_loop(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    events: list[str] = []

    async def ticker() -> AsyncGenerator[int, None]:
        try:
            yield 1
            yield 2
        finally:
            await asyncio.sleep(0)  # needs the loop: aclose() runs as a task
            events.append("closed")

    async def main() -> None:
        gen = ticker()
        await gen.__anext__()
        del gen
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)

    any_loop.run_until_complete(main())
    assert events == ["closed"]


def test_a_generator_started_after_shutdown_warns(any_loop: asyncio.AbstractEventLoop) -> None:
    async def late() -> AsyncGenerator[int, None]:
        yield 1

    async def main() -> None:
        gen = late()
        with pytest.warns(ResourceWarning, match="was scheduled after"):
            await gen.__anext__()
        await gen.aclose()

    any_loop.run_until_complete(any_loop.shutdown_asyncgens())
    any_loop.run_until_complete(main())
