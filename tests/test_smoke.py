"""The shortest proof that a loopkit loop runs an asyncio program."""

import asyncio

import loopkit


def test_run_returns_the_coroutine_result() -> None:
    async def main() -> int:
        await asyncio.sleep(0)
        return 42

    assert loopkit.run(main()) == 42
