"""The child side of :mod:`loopkit.tools.conformance`: one module, one policy, JSON lines out.

Run by the runner as ``python -m loopkit.tools.conformance_child MODULE --mode
{asyncio,loopkit} --out FILE [--selection FILE]``, in a fresh process. It
loads ``test.test_asyncio.MODULE`` with unittest, runs it (under loopkit's
policy in ``loopkit`` mode) and appends one JSON object per line to FILE: a
``start`` record when a test begins, a ``result`` record when it ends, and
``done`` when the module is finished, so that the parent keeps every result
even if it has to kill this process.

This module must never change what a test sees beyond the policy, and never
import the runner (the runner imports it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import unittest
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

#: The package whose modules are run.
PACKAGE = "test.test_asyncio"

#: Outcomes reported for one test (the runner adds timeout and missing).
PASS, FAIL, ERROR, SKIP, TIMEOUT, MISSING = "pass", "fail", "error", "skip", "timeout", "missing"

#: How many lines of a failure are kept.
SUMMARY_LINES = 4


def _confine_to_loopback() -> None:
    """Refuse, in this process, any socket traffic to an address off this machine.

    Some stdlib tests replace asyncio's *own* socket module with a mock and
    then ask the loop to connect to a public address (1.2.3.4, say). Under
    asyncio the mock absorbs the call; loopkit's plugins use the real socket
    module, so without this guard such a test would really send packets off
    the machine. Here the call fails at once with ENETUNREACH instead (the
    test then shows up as a difference, as a test of asyncio's internals).
    """
    import errno
    import ipaddress
    import socket

    def allowed(address: Any) -> bool:
        if not isinstance(address, tuple) or not address:
            return True  # AF_UNIX paths, abstract names and the like
        host = address[0]
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host in ("localhost", ""):
            return True
        try:
            ip = ipaddress.ip_address(str(host).split("%", 1)[0])
        except ValueError:
            return False
        mapped = getattr(ip, "ipv4_mapped", None)
        if mapped is not None:
            ip = mapped
        return ip.is_loopback or ip.is_unspecified

    def refuse(address: Any) -> OSError:
        return OSError(
            errno.ENETUNREACH,
            f"loopkit conformance: traffic to {address!r} is off loopback and blocked",
        )

    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto

    def connect(self: socket.socket, address: Any) -> None:
        if not allowed(address):
            raise refuse(address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not allowed(address):
            return errno.ENETUNREACH
        return original_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        if not allowed(args[-1]):
            raise refuse(args[-1])
        return original_sendto(self, data, *args)  # type: ignore[call-overload,no-any-return]

    original_sendmsg = socket.socket.sendmsg

    def sendmsg(self: socket.socket, buffers: Any, *args: Any) -> int:
        if len(args) >= 3 and args[2] is not None and not allowed(args[2]):
            raise refuse(args[2])
        return original_sendmsg(self, buffers, *args)

    socket.socket.sendmsg = sendmsg  # type: ignore[method-assign,assignment]
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]


def _stand_in_for_selector_event_loop() -> None:
    """Make ``asyncio.SelectorEventLoop()`` build a loopkit loop in the loopkit run.

    Many stdlib tests (the transport mixins of test_events, test_sendfile,
    test_sock_lowlevel, ...) make their loop with ``asyncio.SelectorEventLoop()``
    rather than through the policy; without this stand-in they would test
    asyncio under both runs. A selector they pass is closed and ignored: the
    poller is loopkit's own. On 3.13+ ``asyncio.EventLoop``, the new name of
    the same default class, is the same stand-in. ``isinstance(loop,
    asyncio.SelectorEventLoop)`` holds for the loops it makes (and for
    asyncio's own selector loops), as it holds for what the real class makes.
    """
    import asyncio
    import asyncio.unix_events

    import loopkit
    from loopkit.core.kernel import KernelLoop

    real = asyncio.SelectorEventLoop
    kinds = (KernelLoop, real)

    class SelectorLoopKind(type):
        """The stand-in's metaclass: a loopkit loop counts as a selector event loop."""

        def __instancecheck__(cls, instance: Any) -> bool:
            return isinstance(instance, kinds)

        def __subclasscheck__(cls, subclass: Any) -> bool:
            return subclass is cls or (isinstance(subclass, type) and issubclass(subclass, kinds))

    class SelectorEventLoop(metaclass=SelectorLoopKind):
        """Builds loopkit loops where a test asks for asyncio's selector loop."""

        def __new__(cls, selector: Any = None) -> Any:
            if selector is not None:
                selector.close()
            return loopkit.new_event_loop()

    names = ["SelectorEventLoop"]
    if hasattr(asyncio, "EventLoop"):  # Python 3.13+
        names.append("EventLoop")
    for name in names:
        setattr(asyncio, name, SelectorEventLoop)
        setattr(asyncio.unix_events, name, SelectorEventLoop)


def _install_loopkit_as_default() -> Any:
    """Make loopkit's policy the one asyncio uses, also after a reset to None.

    Returns the list that counts loopkit loops made so far.
    """
    import asyncio

    import loopkit
    from loopkit.core.kernel import KernelLoop

    asyncio.DefaultEventLoopPolicy = loopkit.EventLoopPolicy  # type: ignore[assignment,misc]
    asyncio.set_event_loop_policy(None)
    probe = asyncio.new_event_loop()
    try:
        if not isinstance(probe, KernelLoop):
            raise RuntimeError(f"the loopkit run would make {type(probe)!r} loops, not loopkit's")
    finally:
        probe.close()
    loopkit.install()
    _stand_in_for_selector_event_loop()

    made = [0]
    original_init = KernelLoop.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        made[0] += 1
        original_init(self, *args, **kwargs)

    KernelLoop.__init__ = counting_init  # type: ignore[method-assign]
    return made


def _summary(err: Any) -> list[str]:
    """The exception line(s) and the innermost frame of ``err``: what a reader needs first."""
    exc_type, exc, tb = err
    lines = [
        line.rstrip("\n")
        for part in traceback.format_exception_only(exc_type, exc)
        for line in part.splitlines()
    ]
    frames = traceback.extract_tb(tb)
    if frames:
        frame = frames[-1]
        lines.append(f"at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}")
    return [line[:300] for line in lines if line.strip()][:SUMMARY_LINES]


class JsonLinesResult(unittest.TestResult):
    """A TestResult that writes each test's outcome as one JSON line, at once.

    Writing as it goes lets the parent keep every finished result when it
    has to kill a child that hangs.
    """

    def __init__(self, stream: TextIO, loops_made: list[int] | None) -> None:
        super().__init__()
        self._out = stream
        self._loops_made = loops_made
        self._current: dict[str, Any] | None = None
        self._loops_at_start = 0

    def _emit(self, record: dict[str, Any]) -> None:
        self._out.write(json.dumps(record) + "\n")
        self._out.flush()

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self._current = {"id": test.id(), "status": PASS, "summary": []}
        self._loops_at_start = self._loops_made[0] if self._loops_made else 0
        self._emit({"event": "start", "id": test.id()})

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        if self._current is not None:
            if self._loops_made is not None:
                self._current["loopkit_loops"] = self._loops_made[0] - self._loops_at_start
            self._emit({"event": "result", **self._current})
            self._current = None

    def _set(self, test: Any, status: str, summary: list[str]) -> None:
        if self._current is not None and self._current["id"] == test.id():
            if self._current["status"] in (PASS, SKIP) or status == ERROR:
                self._current["status"] = status
                self._current["summary"] = summary
        else:
            # An error outside any test: setUpClass, setUpModule, tearDownModule...
            self._emit({"event": "result", "id": test.id(), "status": status, "summary": summary})

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._set(test, ERROR, _summary(err))

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._set(test, FAIL, _summary(err))

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._set(test, FAIL if failed else ERROR, [str(subtest), *_summary(err)][:4])

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._set(test, SKIP, [reason[:300]])

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._set(test, FAIL, ["unexpected success"])


def _flatten(suite: Iterable[Any]) -> Iterator[Any]:
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _flatten(item)
        else:
            yield item


def run_child(
    module: str, mode: str, out_path: str, skip: Sequence[str], only: Sequence[str] | None
) -> int:
    """Run ``module`` under ``mode``'s policy, appending JSON lines to ``out_path``.

    Tests in ``skip`` are left out; with ``only``, nothing else is run.
    """
    _confine_to_loopback()
    loops_made = _install_loopkit_as_default() if mode == "loopkit" else None
    with open(out_path, "a", encoding="utf-8") as out:
        result = JsonLinesResult(out, loops_made)
        try:
            loaded = unittest.defaultTestLoader.loadTestsFromName(f"{PACKAGE}.{module}")
        except unittest.SkipTest as skip_module:
            # A module that skips itself on import (e.g. Windows-only ones).
            result._emit(
                {
                    "event": "result",
                    "id": f"{PACKAGE}.{module}",
                    "status": SKIP,
                    "summary": [str(skip_module)[:300]],
                }
            )
            result._emit({"event": "done", "mode": mode})
            return 0
        except Exception:
            result._emit(
                {
                    "event": "result",
                    "id": f"{PACKAGE}.{module}",
                    "status": ERROR,
                    "summary": _summary(sys.exc_info()),
                }
            )
            return 1
        skipped = set(skip)
        wanted = None if only is None else set(only)
        suite = unittest.TestSuite(
            test
            for test in _flatten(loaded)
            if test.id() not in skipped and (wanted is None or test.id() in wanted)
        )
        suite.run(result)
        result._emit({"event": "done", "mode": mode})
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m loopkit.tools.conformance_child``."""
    parser = argparse.ArgumentParser(prog="python -m loopkit.tools.conformance_child")
    parser.add_argument("module")
    parser.add_argument("--mode", choices=("asyncio", "loopkit"), required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--selection")
    args = parser.parse_args(argv)
    selection: dict[str, Any] = {"skip": [], "only": None}
    if args.selection:
        with open(args.selection, encoding="utf-8") as selection_file:
            selection = json.load(selection_file)
    return run_child(args.module, args.mode, args.out, selection["skip"], selection["only"])


if __name__ == "__main__":
    sys.exit(main())
