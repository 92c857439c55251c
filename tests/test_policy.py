"""loopkit.install(): asyncio.run() and asyncio.new_event_loop() make loopkit loops."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import loopkit


@pytest.fixture
def restore_policy() -> Iterator[None]:
    """Put asyncio's previous policy back whatever the test does."""
    previous = asyncio.get_event_loop_policy()
    try:
        yield
    finally:
        asyncio.set_event_loop_policy(previous)


def test_install_makes_asyncio_run_use_loopkit(restore_policy: None) -> None:
    policy = loopkit.install()
    assert isinstance(policy, loopkit.EventLoopPolicy)
    assert asyncio.get_event_loop_policy() is policy

    async def main() -> type[asyncio.AbstractEventLoop]:
        return type(asyncio.get_running_loop())

    assert issubclass(asyncio.run(main()), loopkit.KernelLoop)
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, loopkit.KernelLoop)
    finally:
        loop.close()


def test_install_passes_its_options_to_every_loop(restore_policy: None) -> None:
    loopkit.install(poller="poll")
    loop = asyncio.new_event_loop()
    try:
        assert loop._poller.name == "poll"  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_restoring_the_policy_brings_back_asyncios_loop(restore_policy: None) -> None:
    previous = asyncio.get_event_loop_policy()
    loopkit.install()
    asyncio.set_event_loop_policy(previous)
    loop = asyncio.new_event_loop()
    try:
        assert not isinstance(loop, loopkit.KernelLoop)
    finally:
        loop.close()


def test_policy_and_install_refuse_a_bare_string_and_take_enable() -> None:
    with pytest.raises(TypeError, match=r"^plugins must be an iterable of plugin names, not"):
        loopkit.EventLoopPolicy(plugins="tcp")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^enable must be an iterable of plugin names, not"):
        loopkit.install(enable="instruments")  # type: ignore[arg-type]
    previous = asyncio.get_event_loop_policy()
    try:
        policy = loopkit.install(enable=["instruments"])
        loop = policy.new_event_loop()
        try:
            assert callable(getattr(loop, "stats", None))
        finally:
            loop.close()
    finally:
        asyncio.set_event_loop_policy(previous)
