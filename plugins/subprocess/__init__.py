"""The subprocess plugin: ``loop.subprocess_exec`` and ``loop.subprocess_shell``.

Starts a child with :class:`subprocess.Popen` (in a helper thread, so that
the loop thread never waits for the exec: :mod:`~loopkit.plugins.subprocess.spawn`)
and returns a
:class:`~loopkit.plugins.subprocess.transport.SubprocessTransport`; the
child's pipes are transports of the pipes plugin (hence ``loopkit_requires``)
and its exit is watched through a pidfd where the OS has one, or a thread
otherwise (:mod:`loopkit.plugins.subprocess.watcher`), unless the program
set a child watcher through asyncio's policy (3.11-3.13): then that
watcher is used as asyncio uses it (:mod:`loopkit.plugins.subprocess.policywatch`).
``asyncio.create_subprocess_exec`` / ``create_subprocess_shell`` use these
methods, so :class:`asyncio.subprocess.Process` works unchanged.

Arguments are checked as asyncio checks them (ValueError for text mode,
buffering or the wrong ``shell``); everything else goes to ``Popen``
(``env``, ``cwd``, ``start_new_session``, ``pass_fds``, ...).

This plugin never installs a signal handler and never reaps a process it
did not start.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Callable
from typing import Any

from loopkit.plugin import hookimpl, loop_states
from loopkit.plugins.subprocess.policywatch import (
    PolicyWatch,
    checked_watcher,
    policy_child_watcher,
)
from loopkit.plugins.subprocess.spawn import spawn
from loopkit.plugins.subprocess.transport import ChildSpec, SubprocessTransport, WatchFactory
from loopkit.plugins.subprocess.watcher import STATE_KEY, ChildWatch

__all__ = ["SubprocessTransport"]

_logger = logging.getLogger("asyncio")

_Factory = Callable[[], asyncio.SubprocessProtocol]


def _refuse_text_mode(
    universal_newlines: Any, bufsize: Any, text: Any, encoding: Any, errors: Any
) -> None:
    """The pipes carry bytes, unbuffered: refuse anything else, as asyncio."""
    if universal_newlines:
        raise ValueError("universal_newlines must be False")
    if bufsize != 0:
        raise ValueError("bufsize must be 0")
    if text:
        raise ValueError("text must be False")
    if encoding is not None:
        raise ValueError("encoding must be None")
    if errors is not None:
        raise ValueError("errors must be None")


async def _start(
    loop: Any, protocol: asyncio.SubprocessProtocol, spec: ChildSpec
) -> SubprocessTransport:
    watcher = policy_child_watcher()
    if watcher is None:
        return await _start_watched(loop, protocol, spec, ChildWatch)
    # A watcher set through asyncio's policy: used as asyncio uses it (the
    # activity check before anything starts, the whole start-up inside it).
    with watcher as entered:
        used = checked_watcher(entered, watcher)

        def watch_factory(loop: Any, child: Any, on_exit: Any) -> PolicyWatch:
            return PolicyWatch(loop, child, on_exit, used)

        return await _start_watched(loop, protocol, spec, watch_factory)


async def _start_watched(
    loop: Any,
    protocol: asyncio.SubprocessProtocol,
    spec: ChildSpec,
    watch_factory: WatchFactory,
) -> SubprocessTransport:
    proc, cancelled = await spawn(loop, spec)
    transport = SubprocessTransport(loop, protocol, spec, proc, watch_factory)
    try:
        if cancelled:
            raise asyncio.CancelledError()
        await transport._connected()
    except BaseException:
        # Cancelled before connection_made: kill the child and wait until
        # it is reaped, so that nothing outlives the failed call.
        transport._abandon()
        await transport._wait()
        raise
    return transport


async def subprocess_shell(
    self: Any,
    protocol_factory: _Factory,
    cmd: str | bytes,
    *,
    stdin: Any = subprocess.PIPE,
    stdout: Any = subprocess.PIPE,
    stderr: Any = subprocess.PIPE,
    universal_newlines: bool = False,
    shell: bool = True,
    bufsize: int = 0,
    encoding: str | None = None,
    errors: str | None = None,
    text: bool | None = None,
    **kwargs: Any,
) -> tuple[SubprocessTransport, asyncio.SubprocessProtocol]:
    """Run ``cmd`` through the shell; returns ``(transport, protocol)``.

    ``cmd`` must be a str or bytes (ValueError otherwise) and ``shell``
    must stay True.
    """
    if not isinstance(cmd, (bytes, str)):
        raise ValueError("cmd must be a string")
    if universal_newlines:
        raise ValueError("universal_newlines must be False")
    if not shell:
        raise ValueError("shell must be True")
    _refuse_text_mode(False, bufsize, text, encoding, errors)
    protocol = protocol_factory()
    if self.get_debug():
        # The command itself is not logged: it may hold secrets.
        _logger.debug("run shell command %r", cmd)
    spec = ChildSpec(cmd, True, stdin, stdout, stderr, bufsize, kwargs)
    transport = await _start(self, protocol, spec)
    if self.get_debug():
        _logger.info("run shell command: %r", transport)
    return transport, protocol


async def subprocess_exec(
    self: Any,
    protocol_factory: _Factory,
    program: Any,
    *args: Any,
    stdin: Any = subprocess.PIPE,
    stdout: Any = subprocess.PIPE,
    stderr: Any = subprocess.PIPE,
    universal_newlines: bool = False,
    shell: bool = False,
    bufsize: int = 0,
    encoding: str | None = None,
    errors: str | None = None,
    text: bool | None = None,
    **kwargs: Any,
) -> tuple[SubprocessTransport, asyncio.SubprocessProtocol]:
    """Run ``program`` with ``args`` (no shell); returns ``(transport, protocol)``.

    Each of ``stdin``, ``stdout``, ``stderr`` is PIPE (the default),
    DEVNULL, STDOUT (stderr only), an fd, a file object or None (inherit).
    """
    if universal_newlines:
        raise ValueError("universal_newlines must be False")
    if shell:
        raise ValueError("shell must be False")
    _refuse_text_mode(False, bufsize, text, encoding, errors)
    protocol = protocol_factory()
    if self.get_debug():
        _logger.debug("execute program %r", program)
    spec = ChildSpec((program, *args), False, stdin, stdout, stderr, bufsize, kwargs)
    transport = await _start(self, protocol, spec)
    if self.get_debug():
        _logger.info("execute program %r: %r", program, transport)
    return transport, protocol


@hookimpl
def loopkit_requires() -> list[str]:
    """The child's pipes are pipe transports."""
    return ["pipes"]


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop methods this plugin adds (read to explain them on loops without it)."""
    return [
        "subprocess_exec",
        "subprocess_shell",
    ]


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """The subprocess part of the loop API."""
    return {"subprocess_exec": subprocess_exec, "subprocess_shell": subprocess_shell}


@hookimpl
def loopkit_loop_closing(loop: Any) -> None:
    """Stop watching for this loop; children still running are reaped by a thread."""
    live = loop_states(loop).get(STATE_KEY)
    for watch in list(live or ()):
        watch.detach()
