"""Choosing the resolver and executor backends, like the poller.

A backend is chosen per assembly: by argument, by ``LOOPKIT_RESOLVER`` /
``LOOPKIT_EXECUTOR``, else the available one with the highest priority. The
chosen resolver's functions are the loop's methods (no dispatch); the
chosen executor's factory makes the pool on first use.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import pytest

import loopkit
from loopkit import ExecutorInfo, ResolverInfo, hookimpl
from loopkit.core.assembly import assemble, new_event_loop
from loopkit.core.errors import AssemblyError, UnknownNameError
from loopkit.plugins.executor import ELASTIC, THREADS, executor_state
from loopkit.plugins.resolver import threaded


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        loopkit.ENV_PLUGINS,
        loopkit.ENV_EXCLUDE,
        loopkit.ENV_RESOLVER,
        loopkit.ENV_EXECUTOR,
        loopkit.ENV_NO_AUTOLOAD,
        loopkit.ENV_ENABLE,
    ):
        monkeypatch.delenv(name, raising=False)


async def fake_getaddrinfo(self: Any, host: Any, port: Any, **kwargs: Any) -> list[Any]:
    return [("fake", host, port)]


async def fake_getnameinfo(self: Any, sockaddr: Any, flags: int = 0) -> tuple[str, str]:
    return ("fake", "0")


class Backends:
    """A third-party plugin offering the backends it is given."""

    def __init__(
        self,
        name: str,
        resolvers: list[ResolverInfo] | None = None,
        executors: list[ExecutorInfo] | None = None,
    ) -> None:
        self.LOOPKIT_PLUGIN_NAME = name
        self._resolvers = resolvers or []
        self._executors = executors or []

    @hookimpl
    def loopkit_resolvers(self) -> list[ResolverInfo]:
        return self._resolvers

    @hookimpl
    def loopkit_executors(self) -> list[ExecutorInfo]:
        return self._executors


FAKE = ResolverInfo(name="fake", getaddrinfo=fake_getaddrinfo, getnameinfo=fake_getnameinfo)


def test_the_defaults_are_asyncios_behaviour() -> None:
    assembly = assemble()
    assert (assembly.resolver, assembly.executor) == ("threaded", "threads")
    assert set(assembly.resolvers) >= {"threaded", "aiodns"}
    assert set(assembly.executors) >= {"threads", "elastic"}
    assert assembly.loop_class.__dict__["getaddrinfo"] is threaded.getaddrinfo


def test_the_chosen_resolvers_functions_are_the_loops_methods() -> None:
    assembly = assemble(plugins=["resolver", Backends("dns", [FAKE])], resolver="fake")
    assert assembly.loop_class.__dict__["getaddrinfo"] is fake_getaddrinfo
    assert assembly.loop_class.__dict__["getnameinfo"] is fake_getnameinfo
    assert assembly.providers["getaddrinfo"] == "dns"
    loop = new_event_loop(plugins=["resolver", Backends("dns", [FAKE])], resolver="fake")
    try:
        assert loop.run_until_complete(loop.getaddrinfo("example.org", 80)) == [
            ("fake", "example.org", 80)
        ]
    finally:
        loop.close()


def test_each_choice_is_its_own_cached_class() -> None:
    default = assemble()
    assert assemble(resolver="threaded", executor="threads") is not default
    assert assemble(executor="elastic") is assemble(executor="elastic")
    assert assemble(executor="elastic").loop_class is not default.loop_class


def test_the_environment_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(loopkit.ENV_EXECUTOR, "elastic")
    monkeypatch.setenv(loopkit.ENV_RESOLVER, "threaded")
    assert assemble().executor == "elastic"
    assert assemble(executor="threads").executor == "threads"  # the argument wins


@pytest.mark.parametrize(
    ("kind", "valid"), [("resolver", "threaded, aiodns"), ("executor", "threads, elastic")]
)
def test_an_unknown_name_lists_the_valid_ones(
    monkeypatch: pytest.MonkeyPatch, kind: str, valid: str
) -> None:
    with pytest.raises(UnknownNameError, match=rf"unknown {kind} 'nope'; valid {kind}s here: "):
        new_event_loop(**{kind: "nope"})
    monkeypatch.setenv(f"LOOPKIT_{kind.upper()}", "nope2")
    with pytest.raises(ValueError, match=rf"unknown {kind} 'nope2'"):
        new_event_loop()


def test_an_unavailable_backend_says_how_to_get_it() -> None:
    missing = ResolverInfo(
        name="absent",
        getaddrinfo=fake_getaddrinfo,
        getnameinfo=fake_getnameinfo,
        priority=1000,
        is_available=lambda: False,
        install_hint="pip install absent-dns",
    )
    plugin = Backends("absent-dns", [missing])
    assert assemble(plugins=["resolver", plugin]).resolver == "threaded"  # skipped by default
    with pytest.raises(AssemblyError, match=r"'absent' is not available: pip install absent-dns"):
        assemble(plugins=["resolver", plugin], resolver="absent")


def test_a_backend_of_a_plugin_not_enabled_is_named() -> None:
    with pytest.raises(UnknownNameError, match=r"offered by the 'resolver' plugin.*plugins="):
        assemble(plugins=[], resolver="aiodns")


def test_a_resolver_from_the_environment_is_ignored_by_a_loop_without_resolvers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(loopkit.ENV_RESOLVER, "aiodns")
    assert assemble(plugins=[]).resolver is None


def test_two_plugins_offering_one_backend_name_is_an_error_naming_both() -> None:
    with pytest.raises(AssemblyError, match=r"'dns' and 'resolver' both offer a resolver named"):
        assemble(plugins=["resolver", Backends("dns", [FAKE, threaded.INFO])])


def test_a_third_party_executor_backend_makes_the_default_pool() -> None:
    made: list[concurrent.futures.ThreadPoolExecutor] = []

    def create() -> concurrent.futures.ThreadPoolExecutor:
        made.append(concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mine"))
        return made[-1]

    plugin = Backends("pool", executors=[ExecutorInfo(name="mine", create=create)])
    loop = new_event_loop(plugins=[plugin], executor="mine")
    try:
        assert made == []  # lazily, on first use
        assert loop.run_until_complete(loop.run_in_executor(None, pow, 2, 3)) == 8
        loop.run_until_complete(loop.run_in_executor(None, pow, 2, 3))
        assert len(made) == 1
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


@pytest.mark.parametrize("executor", ["threads", "elastic"])
def test_asyncio_runner_shuts_each_executor_down(executor: str) -> None:
    names: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        names.append(
            await loop.run_in_executor(None, lambda: type(executor_state(loop).pool).__name__)
        )

    loopkit.run(main(), executor=executor)
    expected = {"threads": "ThreadPoolExecutor", "elastic": "ElasticThreadPoolExecutor"}
    assert names == [expected[executor]]


def test_the_policy_passes_the_choices_on() -> None:
    policy = loopkit.EventLoopPolicy(resolver="threaded", executor="elastic")
    loop = policy.new_event_loop()
    try:
        assert type(loop)._loopkit_assembly.executor == "elastic"  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_the_default_pool_is_asyncios_and_the_elastic_one_is_opt_in() -> None:
    pool = THREADS.create()
    try:
        assert type(pool) is concurrent.futures.ThreadPoolExecutor
        assert pool._thread_name_prefix == "asyncio"  # type: ignore[attr-defined]
    finally:
        pool.shutdown()
    assert ELASTIC.priority < THREADS.priority
