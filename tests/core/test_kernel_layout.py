"""The loop object stays in the shape CPython reads fastest.

CPython 3.11-3.13 keeps an object's attributes in a compact array, read by
its fastest specialised instructions, only while the object has fewer than
30 of them; at 30 the object falls back to a plain dict and every
``self._x`` on the loop's hot paths gets slower (the loop had exactly 30
once, and every method call on it cost half as much again). These tests
count the attributes a loop really gets, so that a new one is added
knowingly: state that most loops never change belongs in a class-level
default (see ``KernelLoop``).
"""

from __future__ import annotations

import asyncio

import loopkit

#: CPython's limit (SHARED_KEYS_MAX_SIZE) is 30; stay clear of it.
_HEADROOM_LIMIT = 26


def test_a_new_loop_has_well_under_thirty_attributes() -> None:
    loop = loopkit.new_event_loop()
    try:
        assert len(vars(loop)) <= _HEADROOM_LIMIT - 2, sorted(vars(loop))
    finally:
        loop.close()


def test_a_loop_that_ran_a_typical_program_still_has_fewer_than_thirty() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sum, [1, 2])
        await asyncio.sleep(0)

    with asyncio.Runner(loop_factory=loopkit.new_event_loop) as runner:
        runner.run(main())
        loop = runner.get_loop()
    assert len(vars(loop)) <= _HEADROOM_LIMIT, sorted(vars(loop))


def test_what_is_read_per_task_or_per_call_is_a_plain_instance_attribute() -> None:
    """create_task reads _task_factory; the loop methods of plugins read
    their per-loop state through _plugin_states. A class-level default is
    read through the instance about three times slower on 3.11/3.12, and an
    instance attribute that shadows a class attribute as slowly on
    3.12/3.13: each must be set per loop, with no class attribute of its name."""
    loop = loopkit.new_event_loop()
    try:
        for name in ("_task_factory", "_plugin_states"):
            assert name in vars(loop), name
            shadowed = [cls.__name__ for cls in type(loop).__mro__ if name in vars(cls)]
            assert shadowed == [], (name, shadowed)
    finally:
        loop.close()
