"""The Server object of ``create_server``, and accepting connections on it.

A :class:`Server` owns its listening sockets. While serving, each socket has
a reader watcher; when it fires, connections are accepted in a batch (up to
``backlog`` of them) so that a burst of clients costs one poller round, not
one per client. Each accepted socket becomes a stream transport (through the
TLS layer when the server has an SSL context).

When the process or system runs out of file descriptors (EMFILE / ENFILE) or
memory, ``accept`` would fail again at once on every loop iteration. Instead
the server reports it through the loop's exception handler, stops watching
that socket for about a second, and then resumes; pending clients wait in the
kernel's backlog meanwhile.

``wait_closed`` follows the running Python's asyncio, because fixtures and
shutdown code are written against it (a 3.11 program that closes a server
with a client still connected and then awaits ``wait_closed`` expects it to
return; the same call hangs until the client leaves on 3.12.1+):

- 3.11: returns at once if the server is already closed, even with
  connections open; on an open server it waits for the close and then for
  every connection.
- 3.12.0: returns at once if no connection is open (even on an open server)
  or once the waiting is over; otherwise waits for the close and every
  connection.
- 3.12.1 and later: returns once the server is closed *and* every connection
  it accepted is gone, whichever happens last.

What it must never do: let a failure with one client (protocol factory, TLS
handshake) stop the server or disturb another connection, or spin on accept.
"""

from __future__ import annotations

import errno
import socket
import sys
from asyncio import events, exceptions, futures, tasks, trsock
from collections.abc import Callable, Sequence
from typing import Any

from loopkit.core.services import services
from loopkit.transports.stream import StreamTransport
from loopkit.transports.wiring import make_transport

__all__ = ["ACCEPT_RETRY_DELAY", "Server"]

#: Seconds to stop accepting after running out of file descriptors or memory.
ACCEPT_RETRY_DELAY = 1.0

_OUT_OF_RESOURCES = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM},
)


class Server(events.AbstractServer):
    """A listening server, usable wherever an :class:`asyncio.Server` is.

    A stream family whose connections need their own transport (a subclass
    of :class:`~loopkit.transports.stream.StreamTransport`) subclasses it
    and sets ``transport_class``; nothing else changes.
    """

    #: The transport of each accepted connection (under the TLS layer, with ``ssl``).
    transport_class: type[StreamTransport] = StreamTransport

    def __init__(
        self,
        loop: Any,
        sockets: Sequence[socket.socket],
        protocol_factory: Callable[[], Any],
        ssl_context: Any,
        backlog: int,
        ssl_handshake_timeout: float | None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        self._loop = loop
        kernel = services(loop)
        self._add_reader = kernel.add_reader
        self._remove_reader = kernel.remove_reader
        self._sockets: list[socket.socket] | None = list(sockets)
        self._protocol_factory = protocol_factory
        self._ssl_context = ssl_context
        self._backlog = backlog
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self._ssl_shutdown_timeout = ssl_shutdown_timeout
        # Connections are counted, not kept: close_clients() finds them among
        # the loop's fd owners (a set of them here would cost an idle
        # connection some 120 bytes, and a dropped one is collected as before).
        self._active_count = 0
        self._waiters: list[futures.Future[None]] | None = []
        self._serving = False
        self._serving_forever_fut: futures.Future[None] | None = None
        self._retry_timers: dict[int, events.TimerHandle] = {}
        self._handshakes: set[tasks.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} sockets={self.sockets!r}>"

    # ------------------------------------------------------------------
    # Clients
    # ------------------------------------------------------------------

    def _attach(self, transport: Any = None) -> None:
        # ``transport`` is optional: asyncio's own tests of 3.12 call these
        # two without one. A transport attached here has ``_server`` set to
        # this server (see _clients).
        self._active_count += 1

    def _detach(self, transport: Any = None) -> None:
        self._active_count -= 1
        if self._active_count == 0 and self._sockets is None:
            self._wakeup()

    def _wakeup(self) -> None:
        waiters = self._waiters
        self._waiters = None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    # ------------------------------------------------------------------
    # Accepting
    # ------------------------------------------------------------------

    def _start_serving(self) -> None:
        if self._serving or self._sockets is None:
            return
        self._serving = True
        for sock in self._sockets:
            sock.listen(self._backlog)
            self._watch(sock)

    def _watch(self, sock: socket.socket) -> None:
        self._add_reader(sock.fileno(), self._accept_ready, sock)

    def _accept_ready(self, sock: socket.socket) -> None:
        """Accept up to ``backlog`` pending connections on ``sock``."""
        for _ in range(max(self._backlog, 1)):
            try:
                conn, addr = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # that client gave up before we got to it
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise
                self._loop.call_exception_handler(
                    {
                        "message": "socket.accept() out of system resource",
                        "exception": exc,
                        "socket": trsock.TransportSocket(sock),
                    }
                )
                self._pause_accepting(sock)
                return
            conn.setblocking(False)
            self._accept_connection(conn, addr)

    def _pause_accepting(self, sock: socket.socket) -> None:
        fd = sock.fileno()
        self._remove_reader(fd)
        self._retry_timers[fd] = self._loop.call_later(
            ACCEPT_RETRY_DELAY, self._resume_accepting, sock
        )

    def _resume_accepting(self, sock: socket.socket) -> None:
        self._retry_timers.pop(sock.fileno(), None)
        if self._serving and self._sockets is not None and sock in self._sockets:
            self._watch(sock)

    def _accept_connection(self, conn: socket.socket, addr: Any) -> None:
        extra = {"peername": addr}
        if self._ssl_context is not None:
            task = self._loop.create_task(self._accept_tls(conn, extra))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)
            return
        protocol = None
        try:
            protocol = self._protocol_factory()
            make_transport(
                self._loop,
                conn,
                protocol,
                None,
                server=self,
                extra=extra,
                transport_class=self.transport_class,
            )
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            conn.close()
            self._report_accept_failure(exc, protocol, None)

    async def _accept_tls(self, conn: socket.socket, extra: dict[str, Any]) -> None:
        protocol = transport = None
        waiter = self._loop.create_future()
        try:
            protocol = self._protocol_factory()
            transport = make_transport(
                self._loop,
                conn,
                protocol,
                waiter,
                ssl=self._ssl_context,
                server_side=True,
                ssl_handshake_timeout=self._ssl_handshake_timeout,
                ssl_shutdown_timeout=self._ssl_shutdown_timeout,
                server=self,
                extra=extra,
                transport_class=self.transport_class,
            )
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            conn.close()
            self._report_accept_failure(exc, protocol, None)
            return
        try:
            await waiter
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            transport.close()
            self._report_accept_failure(exc, protocol, transport)

    def _report_accept_failure(self, exc: BaseException, protocol: Any, transport: Any) -> None:
        """As asyncio: a failed incoming connection is reported only in debug mode."""
        if not self._loop.get_debug():
            return
        context: dict[str, Any] = {
            "message": "Error on transport creation for incoming connection",
            "exception": exc,
        }
        if protocol is not None:
            context["protocol"] = protocol
        if transport is not None:
            context["transport"] = transport
        self._loop.call_exception_handler(context)

    # ------------------------------------------------------------------
    # The asyncio.Server API
    # ------------------------------------------------------------------

    def get_loop(self) -> Any:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    @property
    def sockets(self) -> tuple[trsock.TransportSocket, ...]:
        if self._sockets is None:
            return ()
        return tuple(trsock.TransportSocket(sock) for sock in self._sockets)

    def close(self) -> None:
        """Stop listening and close the listening sockets; connections stay open."""
        sockets = self._sockets
        if sockets is None:
            return
        self._sockets = None
        for sock in sockets:
            self._remove_reader(sock.fileno())
            sock.close()
        for timer in self._retry_timers.values():
            timer.cancel()
        self._retry_timers.clear()
        self._serving = False
        fut = self._serving_forever_fut
        if fut is not None and not fut.done():
            fut.cancel()
            self._serving_forever_fut = None
        if self._active_count == 0:
            self._wakeup()

    def _clients(self) -> list[Any]:
        """The open connections this server accepted: the loop's fd owners
        whose ``_server`` is this server (a stream transport's, until lost)."""
        return [
            owner
            for owner in services(self._loop).fd_owners()
            if getattr(owner, "_server", None) is self
        ]

    if sys.version_info >= (3, 13):

        def close_clients(self) -> None:
            """Close every connection this server accepted (flushing their writes)."""
            for transport in self._clients():
                transport.close()

        def abort_clients(self) -> None:
            """Abort every connection this server accepted (dropping their writes)."""
            for transport in self._clients():
                transport.abort()

    async def start_serving(self) -> None:
        """Start accepting (a no-op when already serving)."""
        self._start_serving()
        await tasks.sleep(0)

    async def serve_forever(self) -> None:
        """Accept until cancelled; cancelling closes the server and waits for it."""
        if self._serving_forever_fut is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        if self._sockets is None:
            raise RuntimeError(f"server {self!r} is closed")
        self._start_serving()
        self._serving_forever_fut = self._loop.create_future()
        try:
            await self._serving_forever_fut
        except exceptions.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever_fut = None

    # When ``wait_closed`` may return without waiting: the three rules of
    # asyncio's Server (the module docstring says what each one means). The
    # 3.12 patch release matters: 3.12.1 changed the rule of 3.12.0.
    if sys.version_info < (3, 12):

        def _nothing_to_wait_for(self) -> bool:
            return self._sockets is None or self._waiters is None

    elif sys.version_info < (3, 12, 1):

        def _nothing_to_wait_for(self) -> bool:
            return self._waiters is None or self._active_count == 0

    else:

        def _nothing_to_wait_for(self) -> bool:
            return self._waiters is None

    async def wait_closed(self) -> None:
        """Wait until the server is closed and its connections are gone (per version)."""
        if self._nothing_to_wait_for():
            return
        assert self._waiters is not None
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        await waiter
