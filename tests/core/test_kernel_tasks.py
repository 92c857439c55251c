"""create_future, create_task and the task factory."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine
from typing import Any

import pytest

tag: contextvars.ContextVar[str] = contextvars.ContextVar("tag", default="none")


async def _tag_value() -> str:
    return tag.get()


def test_create_future_gives_an_asyncio_future_of_this_loop(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    future = any_loop.create_future()
    assert type(future) is asyncio.Future
    assert future.get_loop() is any_loop
    assert not future.done()
    any_loop.call_soon(future.set_result, "value")
    assert any_loop.run_until_complete(future) == "value"


def test_create_task_gives_an_asyncio_task(any_loop: asyncio.AbstractEventLoop) -> None:
    task = any_loop.create_task(_tag_value())
    assert isinstance(task, asyncio.Task)
    assert task.get_loop() is any_loop
    assert any_loop.run_until_complete(task) == "none"


def test_create_task_names_the_task(any_loop: asyncio.AbstractEventLoop) -> None:
    task = any_loop.create_task(_tag_value(), name="worker-1")
    assert task.get_name() == "worker-1"
    any_loop.run_until_complete(task)


def test_create_task_runs_the_coroutine_in_the_given_context(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    context = contextvars.copy_context()
    context.run(tag.set, "given")
    task = any_loop.create_task(_tag_value(), context=context)
    assert any_loop.run_until_complete(task) == "given"
    assert tag.get() == "none"


def test_task_factory_is_none_by_default_and_can_be_set_and_reset(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    assert any_loop.get_task_factory() is None
    made: list[Coroutine[Any, Any, Any]] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
        made.append(coro)
        return asyncio.Task(coro, loop=loop)

    any_loop.set_task_factory(factory)
    assert any_loop.get_task_factory() is factory
    coro = _tag_value()
    task = any_loop.create_task(coro, name="named")
    assert made == [coro]
    # The name is set on the factory's task afterwards.
    assert task.get_name() == "named"
    any_loop.run_until_complete(task)

    any_loop.set_task_factory(None)
    assert any_loop.get_task_factory() is None
    any_loop.run_until_complete(any_loop.create_task(_tag_value()))
    assert len(made) == 1


def test_task_factory_is_called_without_context_unless_one_is_given(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    calls: list[dict[str, Any]] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        calls.append(kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    any_loop.set_task_factory(factory)
    assert any_loop.run_until_complete(any_loop.create_task(_tag_value())) == "none"
    context = contextvars.copy_context()
    context.run(tag.set, "via-factory")
    task = any_loop.create_task(_tag_value(), context=context)
    assert any_loop.run_until_complete(task) == "via-factory"
    assert calls == [{}, {"context": context}]


def test_factory_task_keeps_its_own_name_when_none_is_given(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    if sys.version_info[:3] == (3, 13, 0) and type(any_loop).__module__.startswith("asyncio"):
        pytest.skip("asyncio 3.13.0 renames the factory's task to 'None' (fixed in 3.13.1)")

    def factory(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
        return asyncio.Task(coro, loop=loop, name="from-factory")

    any_loop.set_task_factory(factory)
    task = any_loop.create_task(_tag_value())
    assert task.get_name() == "from-factory"
    any_loop.run_until_complete(task)


@pytest.mark.parametrize("factory", [42, "task", object()])
def test_non_callable_task_factory_is_a_type_error(
    any_loop: asyncio.AbstractEventLoop, factory: Any
) -> None:
    with pytest.raises(TypeError, match="task factory must be a callable or None"):
        any_loop.set_task_factory(factory)
    assert any_loop.get_task_factory() is None


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager_task_factory is new in 3.12")
def test_eager_task_factory_starts_tasks_at_once(any_loop: asyncio.AbstractEventLoop) -> None:
    steps: list[str] = []

    async def eager() -> str:
        steps.append("started")
        await asyncio.sleep(0)
        return "finished"

    async def main() -> str:
        task = asyncio.get_running_loop().create_task(eager(), name="eager")
        steps.append("created")
        assert task.get_name() == "eager"
        return await task

    any_loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
    assert any_loop.run_until_complete(main()) == "finished"
    assert steps == ["started", "created"]


def test_create_task_on_a_running_loop_from_a_coroutine(
    any_loop: asyncio.AbstractEventLoop,
) -> None:
    async def child(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    async def main() -> list[int]:
        return list(await asyncio.gather(*(child(n) for n in range(10))))

    assert any_loop.run_until_complete(main()) == [n * 2 for n in range(10)]


def test_naming_a_factory_task_without_set_name(any_loop: asyncio.AbstractEventLoop) -> None:
    """A factory may return a Future-like object without set_name().

    asyncio only warns about it up to 3.12 and requires set_name() from 3.13.
    """

    class NamelessTask(asyncio.Future[Any]):
        pass

    def factory(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
        coro.close()
        return NamelessTask(loop=loop)

    any_loop.set_task_factory(factory)
    if sys.version_info >= (3, 13):
        with pytest.raises(AttributeError):
            any_loop.create_task(_tag_value(), name="wanted")
    else:
        with pytest.warns(DeprecationWarning, match="Task.set_name"):
            task = any_loop.create_task(_tag_value(), name="wanted")
        assert isinstance(task, NamelessTask)
