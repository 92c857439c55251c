"""The subprocess transport: one child process and the pipes to it.

Theory of operation
-------------------
The child is started with :class:`subprocess.Popen`, in one of the loop's
helper threads (:mod:`loopkit.plugins.subprocess.spawn`); each of its standard
streams that is a PIPE gets a pipe transport through the loop's
``connect_write_pipe`` / ``connect_read_pipe`` (the pipes plugin), whose
protocol (:class:`PipeLink`) forwards everything to this transport. The
child's exit is watched by :mod:`loopkit.plugins.subprocess.watcher` (or,
when a program set one through asyncio's policy, by that child watcher:
:mod:`loopkit.plugins.subprocess.policywatch`).

Callback order (what a ``SubprocessProtocol`` can rely on). It is the order
asyncio gives on Python 3.11, 3.12 and 3.13, which all share the same
logic; it was compared by experiment on each version:

1. ``connection_made(transport)`` comes first. Anything that happens
   before it (data, a closed pipe, the exit) is held and delivered after.
2. For each fd, every ``pipe_data_received(fd, data)`` comes before that
   fd's ``pipe_connection_lost(fd, exc)``.
3. ``process_exited()`` comes once, after the child was reaped. Its place
   among the pipe callbacks is *not* fixed: it follows the timing of the
   child. The exit is reported one loop iteration after it is detected
   (as asyncio's watchers do), so pipe events detected in the same poll
   come first; a child that closes its pipes early gets
   ``pipe_connection_lost`` first, while a child whose pipes stay open
   after it exits (a grandchild holds them) gets ``process_exited`` first.
4. ``connection_lost(None)`` comes last, once the child has exited *and*
   every pipe is closed; ``wait()`` (``_wait``) completes right after it.

Rules: the child is reaped exactly once, by the watcher; ``close()`` kills
(through ``Popen.kill``, as asyncio) a child that still runs, which is then
reaped as usual; after the transport has finished, signalling raises
ProcessLookupError, as asyncio does.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

from loopkit.plugin import services
from loopkit.plugins.subprocess.watcher import Child, ChildWatch, kill_and_reap

#: Makes the watch of a new child: ``factory(loop, child, on_exit)``.
WatchFactory = Callable[[Any, Child, Callable[[int], None]], Any]


class ChildSpec:
    """What to start, as ``subprocess_exec`` / ``subprocess_shell`` checked it.

    One object instead of seven arguments handed down through every step of
    the start-up. ``popen_kwargs`` goes to :class:`subprocess.Popen` as is,
    except ``extra`` (the transport's extra info, as in asyncio). A plain
    class, not a dataclass: importing :mod:`dataclasses` would cost every
    loop with this plugin more start-up time than the rest of the module.
    """

    __slots__ = ("args", "bufsize", "popen_kwargs", "shell", "stderr", "stdin", "stdout")

    def __init__(
        self,
        args: Any,
        shell: bool,
        stdin: Any,
        stdout: Any,
        stderr: Any,
        bufsize: int,
        popen_kwargs: dict[str, Any],
    ) -> None:
        self.args = args
        self.shell = shell
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.bufsize = bufsize
        self.popen_kwargs = popen_kwargs

    def __repr__(self) -> str:
        return f"<ChildSpec args={self.args!r} shell={self.shell}>"


_logger = logging.getLogger("asyncio")


class PipeLink(asyncio.Protocol):
    """The protocol of one of the child's pipes: forwards to the subprocess transport."""

    def __init__(self, owner: SubprocessTransport, fd: int, stream: Any) -> None:
        self.owner: SubprocessTransport | None = owner
        self.fd = fd
        #: The Popen file object, until a pipe transport takes it over.
        self.stream = stream
        self.handed_over = False
        self.pipe: Any = None
        self.disconnected = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self.fd} pipe={self.pipe!r}>"

    def connection_made(self, transport: Any) -> None:
        self.pipe = transport

    def data_received(self, data: bytes) -> None:
        if self.owner is not None:
            self.owner._relay("pipe_data_received", self.fd, data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.disconnected = True
        owner, self.owner = self.owner, None
        if owner is not None:
            owner._pipe_closed(self.fd, exc)

    def pause_writing(self) -> None:
        if self.owner is not None:
            self.owner._protocol.pause_writing()

    def resume_writing(self) -> None:
        if self.owner is not None:
            self.owner._protocol.resume_writing()


class SubprocessTransport(asyncio.SubprocessTransport):
    """A child process with optional stdin / stdout / stderr pipes."""

    _extra: dict[str, Any]

    def __init__(
        self,
        loop: Any,
        protocol: asyncio.SubprocessProtocol,
        spec: ChildSpec,
        proc: subprocess.Popen[bytes],
        watch_factory: WatchFactory = ChildWatch,
    ) -> None:
        super().__init__(spec.popen_kwargs.get("extra"))
        self._loop = loop
        self._protocol: Any = protocol
        self._closed = False
        self._finished = False
        self._returncode: int | None = None
        self._exit_waiters: list[asyncio.Future[int]] = []
        #: Protocol calls held until connection_made: (method name, args).
        self._held: deque[tuple[str, tuple[Any, ...]]] | None = deque()
        self._pipes: dict[int, PipeLink] = {}
        # Started by the caller, in a helper thread (see spawn.py): the loop
        # thread never waits for a child to exec.
        self._proc: subprocess.Popen[bytes] | None = proc
        proc = self._proc
        self._pid = proc.pid
        self._extra["subprocess"] = proc
        self._child = Child(proc)
        streams = ((0, proc.stdin), (1, proc.stdout), (2, proc.stderr))
        for fd, stream in streams:
            if stream is None:
                continue
            self._pipes[fd] = PipeLink(self, fd, stream)
        try:
            self._watch = watch_factory(loop, self._child, self._child_exited)
        except BaseException:
            # No watch (a policy watcher refused the child): nobody would
            # ever reap it, so it is killed and reaped here; its pipes closed.
            self._closed = True
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
            kill_and_reap(self._child)
            raise

    def __repr__(self) -> str:
        info = [type(self).__name__]
        if self._closed:
            info.append("closed")
        info.append(f"pid={self._pid}")
        if self._returncode is not None:
            info.append(f"returncode={self._returncode}")
        else:
            info.append("running")
        return "<{}>".format(" ".join(info))

    # ------------------------------------------------------------------
    # Start-up
    # ------------------------------------------------------------------

    async def _connected(self) -> None:
        """Connect the pipes, then deliver connection_made and what was held.

        The pipes go through the loop's own ``connect_write_pipe`` /
        ``connect_read_pipe`` (stdin, stdout, stderr in turn, as asyncio),
        so a plugin that overrides those methods is honoured here too.
        """
        loop = self._loop
        for fd, link in self._pipes.items():
            connect = loop.connect_write_pipe if fd == 0 else loop.connect_read_pipe
            fileno = link.stream.fileno()
            link.handed_over = True
            try:
                await connect(lambda link=link: link, link.stream)
            except BaseException:
                if link.pipe is None and services(loop).fd_owner(fileno) is None:
                    link.handed_over = False  # refused before any transport took it
                raise
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._loop.call_soon(self._make_connection, waiter)
        await waiter

    def _make_connection(self, waiter: asyncio.Future[None]) -> None:
        if self._held is None or waiter.cancelled():
            return  # start-up was abandoned: the caller got an exception instead
        held, self._held = self._held, None
        try:
            self._protocol.connection_made(self)
        finally:
            for name, args in held:
                self._loop.call_soon(self._dispatch, name, args)
            if not waiter.cancelled():
                waiter.set_result(None)

    def _abandon(self) -> None:
        """Start-up failed: close everything; the protocol hears nothing more."""
        if self._held is not None:  # connection_made was never delivered
            self._held = None
            self._protocol = asyncio.SubprocessProtocol()
        for link in self._pipes.values():
            if not link.handed_over:  # no transport owns it: close it here
                link.stream.close()
                link.disconnected = True
        self.close()

    # ------------------------------------------------------------------
    # Events from the pipes and the watcher
    # ------------------------------------------------------------------

    def _relay(self, name: str, *args: Any) -> None:
        if self._held is not None:
            self._held.append((name, args))
        elif name == "connection_lost":
            self._loop.call_soon(self._finish)
        else:
            # Bound now, as asyncio binds it: one call per chunk on the hot path.
            self._loop.call_soon(getattr(self._protocol, name), *args)

    def _dispatch(self, name: str, args: tuple[Any, ...]) -> None:
        if name == "connection_lost":
            self._finish()
        elif self._protocol is not None:
            getattr(self._protocol, name)(*args)

    def _pipe_closed(self, fd: int, exc: BaseException | None) -> None:
        self._relay("pipe_connection_lost", fd, exc)
        self._maybe_finish()

    def _child_exited(self, returncode: int) -> None:
        # One more iteration, as asyncio: see the module docstring.
        self._loop.call_soon(self._process_exited, returncode)

    def _process_exited(self, returncode: int) -> None:
        if self._loop.get_debug():
            _logger.info("%r exited with return code %r", self, returncode)
        self._returncode = returncode
        self._relay("process_exited")
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self._finished or self._returncode is None:
            return
        if all(link.disconnected for link in self._pipes.values()):
            self._finished = True
            self._relay("connection_lost")

    def _finish(self) -> None:
        """Deliver connection_lost(None), then wake every wait()."""
        try:
            self._protocol.connection_lost(None)
        finally:
            for waiter in self._exit_waiters:
                if not waiter.done():
                    waiter.set_result(self._returncode)  # type: ignore[arg-type]
            self._exit_waiters = []
            self._proc = None
            self._protocol = None

    async def _wait(self) -> int:
        """The return code (used by ``asyncio.subprocess.Process.wait``).

        At once if the exit was already reported; otherwise once the
        transport has finished (exit reported and every pipe closed).
        """
        if self._returncode is not None:  # as asyncio: pipes may still be open
            return self._returncode
        waiter: asyncio.Future[int] = self._loop.create_future()
        self._exit_waiters.append(waiter)
        return await waiter

    # ------------------------------------------------------------------
    # The SubprocessTransport API
    # ------------------------------------------------------------------

    def get_protocol(self) -> Any:
        """The protocol receiving this transport's events."""
        return self._protocol

    def set_protocol(self, protocol: Any) -> None:
        """Send this transport's future events to ``protocol``."""
        self._protocol = protocol

    def is_closing(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def get_pid(self) -> int:
        """The child's process id."""
        return self._pid

    def get_returncode(self) -> int | None:
        """The child's return code (negative: killed by that signal), None while it runs."""
        return self._returncode

    def get_pipe_transport(self, fd: int) -> Any:
        """The transport of the child's fd 0, 1 or 2, or None if it is not a pipe."""
        link = self._pipes.get(fd)
        return None if link is None else link.pipe

    def send_signal(self, signal: int) -> None:
        """Send ``signal`` to the child; ProcessLookupError once the transport has finished.

        A child that has exited but whose end is still being reported is
        not signalled (its pid may no longer be its own).
        """
        if self._proc is None:
            raise ProcessLookupError()
        self._child.send_signal(signal)

    def terminate(self) -> None:
        """Send SIGTERM (see :meth:`send_signal`)."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL (see :meth:`send_signal`)."""
        self.send_signal(signal.SIGKILL)

    def close(self) -> None:
        """Close the pipes and kill the child if it still runs.

        The child is reaped as usual afterwards; the protocol still gets
        ``process_exited`` and ``connection_lost``.
        """
        if self._closed:
            return
        self._closed = True
        for link in self._pipes.values():
            if link.pipe is not None and not link.pipe.is_closing():
                link.pipe.close()
        if self._proc is not None and not self._child.reaped:
            if self._loop.get_debug():
                _logger.warning("Close running child process: kill %r", self)
            self._child.kill_if_running()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if not getattr(self, "_closed", True):
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self.close()
