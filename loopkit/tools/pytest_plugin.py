"""loopkit's pytest plugin: ``pytest --loopkit`` runs a project's asyncio tests on loopkit.

It is registered through the ``pytest11`` entry point, so it is loaded by every
pytest run in an environment where loopkit is installed. It must therefore
never change anything unless it is asked to: without ``--loopkit`` (or the
``loopkit = true`` ini setting) it only adds its options to ``pytest --help``.

When it is asked, it sets :class:`loopkit.EventLoopPolicy` as asyncio's event
loop policy for the whole session and puts the previous policy back at the
end. That single switch is what every asyncio test runner already consults
when the project under test has not chosen a loop itself:

- pytest-asyncio's default ``event_loop_policy`` fixture returns the policy in
  force, and its runner makes each test's loop from it;
- anyio's pytest plugin runs ``anyio_backend = "asyncio"`` tests in an
  ``asyncio.Runner`` without a loop factory, which asks the policy too;
- aiohttp's pytest plugin makes its ``loop`` fixture (and so ``aiohttp_client``,
  ``aiohttp_server`` and its coroutine tests) with ``asyncio.new_event_loop``,
  which asks the policy at call time;
- so does a plain ``asyncio.run()`` or ``asyncio.new_event_loop()`` in a test.

A loop a project chooses explicitly (its own ``event_loop_policy`` fixture, a
``loop_factory`` in its ``anyio_backend`` options, a
``pytest_asyncio_loop_factories`` hook) still wins: the plugin swaps the
default, it never overrides a decision.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from typing import Any

import pytest

import loopkit
from loopkit.core.errors import LoopkitError

#: The ``config.stash`` key under which a session keeps the policy it replaced.
_PREVIOUS_POLICY = pytest.StashKey[asyncio.AbstractEventLoopPolicy]()
#: The ``config.stash`` key of the report-header line describing the loops.
_HEADER = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--loopkit`` and its ``--loopkit-*`` choices (and their ini keys)."""
    group = parser.getgroup("loopkit", "loopkit event loop")
    group.addoption(
        "--loopkit",
        action="store_true",
        default=None,
        dest="loopkit",
        help="run asyncio tests (pytest-asyncio, anyio's asyncio backend, asyncio.run) "
        "on loopkit event loops",
    )
    group.addoption(
        "--loopkit-poller",
        default=None,
        metavar="NAME",
        dest="loopkit_poller",
        help="poller backend of the loopkit loops (epoll, kqueue, poll, select); "
        "default: $LOOPKIT_POLLER or the best available",
    )
    group.addoption(
        "--loopkit-plugins",
        default=None,
        metavar="A,B",
        dest="loopkit_plugins",
        help="comma-separated loopkit plugins to enable; default: $LOOPKIT_PLUGINS or all",
    )
    group.addoption(
        "--loopkit-enable",
        default=None,
        metavar="A,B",
        dest="loopkit_enable",
        help="comma-separated loopkit plugins to add, such as opt-in ones (instruments); "
        "default: $LOOPKIT_ENABLE",
    )
    group.addoption(
        "--loopkit-resolver",
        default=None,
        metavar="NAME",
        dest="loopkit_resolver",
        help="resolver backend of the loopkit loops (threaded, aiodns, ...); "
        "default: $LOOPKIT_RESOLVER or the best available",
    )
    group.addoption(
        "--loopkit-executor",
        default=None,
        metavar="NAME",
        dest="loopkit_executor",
        help="default-executor backend of the loopkit loops (threads, elastic, ...); "
        "default: $LOOPKIT_EXECUTOR or the best available",
    )
    parser.addini(
        "loopkit",
        type="bool",
        default=False,
        help="run asyncio tests on loopkit event loops (as --loopkit)",
    )
    parser.addini("loopkit_poller", default=None, help="default for --loopkit-poller")
    parser.addini("loopkit_plugins", default=None, help="default for --loopkit-plugins")
    parser.addini("loopkit_enable", default=None, help="default for --loopkit-enable")
    parser.addini("loopkit_resolver", default=None, help="default for --loopkit-resolver")
    parser.addini("loopkit_executor", default=None, help="default for --loopkit-executor")


def _setting(config: pytest.Config, name: str) -> Any:
    """The command-line value of ``name``, else its ini value (``None`` when neither is set)."""
    value = config.getoption(name)
    if value is None:
        value = config.getini(name) or None
    return value


def _enabled(config: pytest.Config) -> bool:
    return bool(_setting(config, "loopkit"))


def _policy_options(config: pytest.Config) -> dict[str, Any]:
    """``loopkit.new_event_loop`` keyword arguments from the options given.

    Options not given are left out, so that loopkit's own environment
    variables (``LOOPKIT_POLLER``, ``LOOPKIT_PLUGINS``, ...) still apply.
    """
    options: dict[str, Any] = {}
    for option in ("poller", "resolver", "executor"):
        value = _setting(config, f"loopkit_{option}")
        if value:
            options[option] = value.strip()
    for option in ("plugins", "enable"):
        names = _setting(config, f"loopkit_{option}")
        if names:
            options[option] = [name.strip() for name in names.split(",") if name.strip()]
    return options


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Put loopkit's policy in place for this session, if asked to.

    One loop is made and closed here so that a bad poller or plugin name is a
    usage error before any test runs, not a failure in every test.
    """
    if not _enabled(config):
        return
    options = _policy_options(config)
    policy = loopkit.EventLoopPolicy(**options)
    try:
        policy.new_event_loop().close()
        header = _describe(options)
    except LoopkitError as exc:
        raise pytest.UsageError(f"--loopkit: {exc}") from exc
    with warnings.catch_warnings():
        # Policies are deprecated from Python 3.14 on; reading one is harmless.
        warnings.simplefilter("ignore", DeprecationWarning)
        config.stash[_PREVIOUS_POLICY] = asyncio.get_event_loop_policy()
        asyncio.set_event_loop_policy(policy)
    config.stash[_HEADER] = header


def pytest_unconfigure(config: pytest.Config) -> None:
    """Give asyncio back the policy it had before the session."""
    previous = config.stash.get(_PREVIOUS_POLICY, None)
    if previous is None:
        return
    del config.stash[_PREVIOUS_POLICY]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(previous)


def _describe(options: dict[str, Any]) -> str:
    """One line naming loopkit's version, the backends and the plugins of the loops made."""
    assembly = loopkit.assemble(
        plugins=options.get("plugins"),
        enable=options.get("enable"),
        resolver=options.get("resolver"),
        executor=options.get("executor"),
    )
    poller = assembly.poller_info(
        options.get("poller") or os.environ.get(loopkit.ENV_POLLER) or None
    )
    plugins = ", ".join(record.name for record in assembly.plugins if not record.pollers)
    return (
        f"loopkit: {loopkit.__version__}, poller {poller.name}, resolver {assembly.resolver}, "
        f"executor {assembly.executor}, plugins: {plugins}"
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say, at the top of the run, that the loops are loopkit's and how they are made."""
    return config.stash.get(_HEADER, None)
