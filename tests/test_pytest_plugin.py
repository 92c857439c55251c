"""``pytest --loopkit``: a sample project's asyncio tests run on loopkit, unchanged.

Each test writes a small project (tests for pytest-asyncio, anyio's pytest
plugin and plain ``asyncio.run``) into a temporary folder, runs pytest on it
and reads, from what the sample tests print, which loop each of them ran on.
Without the option, the plugin (installed for every loopkit user) must change
nothing at all.
"""

from __future__ import annotations

import asyncio
import re

import pytest

pytest_plugins = ["pytester"]

#: Every sample test prints ``LOOP <name> <module of the running loop's class>``.
SAMPLE_TESTS = """
import asyncio

import pytest
import pytest_asyncio


def report(name):
    loop = asyncio.get_running_loop()
    print(f"LOOP {name} {type(loop).__module__} {type(getattr(loop, '_poller', None)).__name__}")


@pytest_asyncio.fixture
async def fixture_loop_module():
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.asyncio
async def test_with_pytest_asyncio(fixture_loop_module):
    report("pytest-asyncio")
    assert fixture_loop_module == type(asyncio.get_running_loop()).__module__
    await asyncio.sleep(0.01)


@pytest.mark.anyio
async def test_with_anyio():
    import anyio

    report("anyio")
    await anyio.sleep(0.01)


def test_with_asyncio_run():
    async def main():
        report("asyncio.run")

    asyncio.run(main())
"""

#: anyio's plugin would also run on trio where trio is installed: pin asyncio.
SAMPLE_CONFTEST = """
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

SAMPLE_INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
{extra}
"""


def make_sample(pytester: pytest.Pytester, ini_extra: str = "", conftest: str = "") -> None:
    pytester.makepyfile(test_sample=SAMPLE_TESTS)
    pytester.makeconftest(SAMPLE_CONFTEST + conftest)
    pytester.makefile(".ini", pytest=SAMPLE_INI.format(extra=ini_extra))


def loops_used(result: pytest.RunResult) -> dict[str, tuple[str, str]]:
    """Map each sample test's name to (loop module, poller class) as it printed them."""
    found = re.findall(r"LOOP (\S+) (\S+) (\w+)", result.stdout.str())
    return {name: (module, poller) for name, module, poller in found}


#: Where asyncio's default loop class lives (``asyncio.unix_events`` here).
ASYNCIO_LOOP_MODULE = asyncio.SelectorEventLoop.__module__

SAMPLE_NAMES = {"pytest-asyncio", "anyio", "asyncio.run"}


def test_without_the_option_every_test_runs_on_asyncios_own_loop(
    pytester: pytest.Pytester,
) -> None:
    make_sample(pytester)
    policy_before = asyncio.get_event_loop_policy()
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    used = loops_used(result)
    assert set(used) == SAMPLE_NAMES
    assert {module for module, _ in used.values()} == {ASYNCIO_LOOP_MODULE}
    assert "loopkit:" not in result.stdout.str()
    assert asyncio.get_event_loop_policy() is policy_before


def test_option_runs_pytest_asyncio_anyio_and_asyncio_run_on_loopkit(
    pytester: pytest.Pytester,
) -> None:
    make_sample(pytester)
    policy_before = asyncio.get_event_loop_policy()
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--loopkit")
    result.assert_outcomes(passed=3)
    assert {module for module, _ in loops_used(result).values()} == {"loopkit"}
    result.stdout.fnmatch_lines(["loopkit: *, poller *, plugins: *tcp*"])
    # The session's policy is given back when it ends.
    assert asyncio.get_event_loop_policy() is policy_before


def test_ini_setting_turns_the_plugin_on(pytester: pytest.Pytester) -> None:
    make_sample(pytester, ini_extra="loopkit = true")
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert {module for module, _ in loops_used(result).values()} == {"loopkit"}


def test_poller_and_plugins_options_shape_the_loops(pytester: pytest.Pytester) -> None:
    make_sample(pytester)
    result = pytester.runpytest(
        "-s", "-p", "no:cacheprovider", "--loopkit", "--loopkit-poller", "poll",
        "--loopkit-plugins", "tcp",
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    assert set(loops_used(result).values()) == {("loopkit", "PollPoller")}
    header = next(line for line in result.outlines if line.startswith("loopkit: "))
    assert "poller poll" in header
    assert "tcp" in header
    assert "unix" not in header


def test_ini_poller_applies_and_the_command_line_wins(pytester: pytest.Pytester) -> None:
    make_sample(pytester, ini_extra="loopkit = true\nloopkit_poller = select")
    from_ini = pytester.runpytest("-s", "-p", "no:cacheprovider")
    assert {poller for _, poller in loops_used(from_ini).values()} == {"SelectPoller"}
    from_cli = pytester.runpytest("-s", "-p", "no:cacheprovider", "--loopkit-poller", "poll")
    assert {poller for _, poller in loops_used(from_cli).values()} == {"PollPoller"}


def test_unknown_poller_is_a_usage_error_naming_the_valid_ones(
    pytester: pytest.Pytester,
) -> None:
    make_sample(pytester)
    policy_before = asyncio.get_event_loop_policy()
    result = pytester.runpytest("--loopkit", "--loopkit-poller", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--loopkit: unknown poller 'nope'; valid pollers here: *poll*"])
    assert asyncio.get_event_loop_policy() is policy_before


def test_unknown_plugin_is_a_usage_error(pytester: pytest.Pytester) -> None:
    make_sample(pytester)
    result = pytester.runpytest("--loopkit", "--loopkit-plugins", "tcp,no_such_plugin")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--loopkit: *no_such_plugin*"])


def test_a_loop_the_project_chose_itself_still_wins(pytester: pytest.Pytester) -> None:
    """The plugin swaps the default loop; a project's explicit choice is kept."""
    own_choice = """
import asyncio


@pytest.fixture(scope="session")
def event_loop_policy():
    return asyncio.DefaultEventLoopPolicy()


@pytest.fixture
def anyio_backend():
    return ("asyncio", {"loop_factory": asyncio.SelectorEventLoop})
"""
    make_sample(pytester, conftest=own_choice)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--loopkit")
    result.assert_outcomes(passed=3)
    used = loops_used(result)
    assert used["pytest-asyncio"][0] == used["anyio"][0] == ASYNCIO_LOOP_MODULE
    # A plain asyncio.run() made no choice, so it is on loopkit.
    assert used["asyncio.run"][0] == "loopkit"


def test_plugin_is_registered_through_the_pytest11_entry_point(
    pytester: pytest.Pytester,
) -> None:
    """A separate pytest process finds the plugin with no ``-p`` and no conftest."""
    make_sample(pytester)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--loopkit")
    result.assert_outcomes(passed=3)
    assert {module for module, _ in loops_used(result).values()} == {"loopkit"}


#: Tests written for aiohttp's own pytest plugin: its ``loop`` fixture (made by
#: its ``loop_factory``), and a coroutine test that it runs on that loop.
AIOHTTP_SAMPLE_TESTS = """
import asyncio

from aiohttp import web

pytest_plugins = ["aiohttp.pytest_plugin"]


def test_loop_fixture(loop):
    print(f"LOOP aiohttp-loop {type(loop).__module__} none")


async def test_server_and_client(aiohttp_client):
    async def hello(request):
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/", hello)
    client = await aiohttp_client(app)
    response = await client.get("/")
    assert await response.text() == "hi"
    loop = asyncio.get_running_loop()
    print(f"LOOP aiohttp-client {type(loop).__module__} none")
"""


@pytest.mark.parametrize("option", [[], ["--loopkit"]], ids=["plain", "loopkit"])
def test_aiohttp_pytest_plugins_loop_fixture_follows_the_option(
    pytester: pytest.Pytester, option: list[str]
) -> None:
    """aiohttp's fixtures make their loops with ``asyncio.new_event_loop``: the policy's."""
    pytester.makepyfile(test_aiohttp_sample=AIOHTTP_SAMPLE_TESTS)
    pytester.makefile(".ini", pytest=SAMPLE_INI.format(extra=""))
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", *option)
    result.assert_outcomes(passed=2)
    used = {module for module, _ in loops_used(result).values()}
    assert used == ({"loopkit"} if option else {ASYNCIO_LOOP_MODULE})
    assert set(loops_used(result)) == {"aiohttp-loop", "aiohttp-client"}


def test_resolver_and_executor_options_shape_the_loops(pytester: pytest.Pytester) -> None:
    make_sample(pytester)
    result = pytester.runpytest(
        "-s", "-p", "no:cacheprovider", "--loopkit", "--loopkit-resolver", "threaded",
        "--loopkit-executor", "elastic",
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    header = next(line for line in result.outlines if line.startswith("loopkit: "))
    assert "resolver threaded" in header and "executor elastic" in header
    bad = pytester.runpytest("--loopkit", "--loopkit-executor", "nope")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--loopkit: unknown executor 'nope'; valid executors here: *"])


def test_enable_option_and_ini_key_add_an_opt_in_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_enable_sample="""
import asyncio

def test_stats():
    async def main():
        print("STATS", callable(getattr(asyncio.get_running_loop(), "stats", None)))
    asyncio.run(main())
"""
    )
    result = pytester.runpytest(
        "-s", "-p", "no:cacheprovider", "--loopkit", "--loopkit-enable", "instruments"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["loopkit: *plugins: *instruments*", "*STATS True*"])
    pytester.makeini("[pytest]\nloopkit = true\nloopkit_enable = instruments\n")
    from_ini = pytester.runpytest("-s", "-p", "no:cacheprovider")
    from_ini.assert_outcomes(passed=1)
    from_ini.stdout.fnmatch_lines(["*STATS True*"])
