"""The datagram transport: one datagram socket (UDP or AF_UNIX), connected or not.

Theory of operation:

* *Reading* is a reader watcher on the socket's fd, registered while the
  transport is neither paused nor closing. One readiness event reads up to
  ``READ_BATCH`` datagrams, each with ``recvfrom_into`` into the loop's
  shared receive buffer (one 256 KiB buffer per loop, reused: asking
  ``recvfrom`` for 256 KiB makes the C library allocate, and often map, that
  much for every datagram, however small). Each datagram is copied out as
  ``bytes`` before the protocol sees it, so the buffer is free again at once.
* An ``OSError`` of the socket is a property of one datagram, not of the
  endpoint: it goes to ``error_received`` and the endpoint stays open. That is
  how an ICMP "port unreachable" surfaces on a connected endpoint
  (``ConnectionRefusedError`` from the next receive or send).
* *Writing* hands a datagram to the kernel at once while nothing is queued.
  Only "try again" queues it; a writer watcher drains the queue in order. A
  queued datagram counts its length plus 8 bytes of header toward
  ``get_write_buffer_size`` (the Python 3.13 accounting, on every version, so
  that empty datagrams count too); above the high-water mark the protocol is
  paused, at or below the low-water mark resumed.
* Empty datagrams are sent (Python 3.13 behaviour; 3.11 and 3.12 drop them
  silently).
* A connected socket is written with ``send``, whatever its peer's address
  looks like (an unnamed AF_UNIX peer has the address ``''``).
* *Closing*: ``close()`` stops reading and waits for the queue to drain;
  ``abort()`` drops the queue. Either way ``connection_lost`` runs exactly
  once, from a fresh callback, and the socket is closed right after it.

What it must never do: block, close the endpoint because one datagram failed,
reorder datagrams, or call ``connection_lost`` twice.
"""

from __future__ import annotations

import asyncio
import collections
from asyncio import constants, transports, trsock
from asyncio.log import logger
from typing import Any

from loopkit.core.services import services
from loopkit.transports.base import wake_waiter
from loopkit.transports.flowcontrol import DEFAULT_HIGH_WATER, WriteFlowControl

__all__ = ["MAX_DATAGRAM_SIZE", "DatagramTransport", "receive_buffer"]

#: Bytes one receive may return: larger AF_UNIX datagrams are truncated
#: (the same limit as asyncio's selector transport).
MAX_DATAGRAM_SIZE = 256 * 1024
#: Datagrams read per readiness event, at most (bounds the time one busy
#: endpoint can hold the loop).
READ_BATCH = 32
#: Bytes a queued datagram counts beyond its payload (an UDP header).
DATAGRAM_OVERHEAD = 8

_TRY_AGAIN = (BlockingIOError, InterruptedError)


def receive_buffer(loop: Any) -> memoryview:
    """The loop's shared receive buffer, made on first use."""
    return services(loop).buffer("datagram", MAX_DATAGRAM_SIZE)


class DatagramTransport(WriteFlowControl, transports.DatagramTransport, transports.Transport):
    """A datagram endpoint over one non-blocking socket.

    It is also an :class:`asyncio.Transport`, as asyncio's own datagram
    transport is (``isinstance`` checks in user code and in CPython's tests
    rely on it), but only the datagram API is meaningful.
    """

    max_size = MAX_DATAGRAM_SIZE

    _sock: Any = None  # read by __del__ even if __init__ failed early

    def __init__(
        self,
        loop: Any,
        sock: Any,
        protocol: asyncio.BaseProtocol,
        address: Any = None,
        waiter: asyncio.Future[None] | None = None,
    ) -> None:
        extra: dict[str, Any] = {"socket": trsock.TransportSocket(sock)}
        try:
            extra["sockname"] = sock.getsockname()
        except OSError:
            extra["sockname"] = None
        try:
            extra["peername"] = sock.getpeername()
        except OSError:
            extra["peername"] = None
        WriteFlowControl.__init__(self, loop, protocol, extra)
        self._init_write_flow(DEFAULT_HIGH_WATER)
        self._sock = sock
        self._sock_fd: int = sock.fileno()
        self._address = address
        self._connected = extra["peername"] is not None
        self._buffer: collections.deque[tuple[bytes, Any]] = collections.deque()
        self._buffer_size = 0
        self._paused = False
        self._reading = False
        self._writing = False
        self._conn_lost = 0
        self._view = receive_buffer(loop)
        self._claim_fd(self._sock_fd)
        loop.call_soon(self._protocol.connection_made, self)
        # Reading starts only after connection_made has run.
        loop.call_soon(self._start_reading)
        if waiter is not None:
            loop.call_soon(wake_waiter, waiter)

    def __repr__(self) -> str:
        info = [type(self).__name__]
        if self._sock is None:
            info.append("closed")
        elif self._closing:
            info.append("closing")
        info.append(f"fd={self._sock_fd}")
        if self._sock is not None:
            info.append("read=polling" if self._reading else "read=idle")
            state = "polling" if self._writing else "idle"
            info.append(f"write=<{state}, bufsize={self._buffer_size}>")
        return "<{}>".format(" ".join(info))

    def _open_resource(self) -> Any:
        return self._sock

    # ------------------------------------------------------------------
    # BaseTransport
    # ------------------------------------------------------------------

    def close(self) -> None:
        """Stop receiving; send what is queued, then call connection_lost(None)."""
        if self._closing:
            return
        self._closing = True
        self._stop_reading()
        if not self._buffer:
            self._conn_lost += 1
            self._schedule_connection_lost(None)

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------

    def is_reading(self) -> bool:
        """True while datagrams are being received."""
        return not self._closing and not self._paused

    def pause_reading(self) -> None:
        """Stop receiving until resume_reading(); datagrams wait in the kernel."""
        if not self.is_reading():
            return
        self._paused = True
        self._stop_reading()

    def resume_reading(self) -> None:
        """Receive again after pause_reading()."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._start_reading()

    def _start_reading(self) -> None:
        if self._reading or self._closing or self._paused:
            return
        self._add_reader(self._sock_fd, self._read_ready)
        self._reading = True

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._remove_reader(self._sock_fd)

    def _read_ready(self) -> None:
        sock = self._sock
        view = self._view
        for _ in range(READ_BATCH):
            try:
                nbytes, addr = sock.recvfrom_into(view)
            except _TRY_AGAIN:
                return
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal read error on datagram transport")
                return
            self._protocol.datagram_received(view[:nbytes].tobytes(), addr)
            if not self._reading:  # paused, closed or aborted by the protocol
                return

    # ------------------------------------------------------------------
    # Writing
    # ------------------------------------------------------------------

    def sendto(self, data: Any, addr: Any = None) -> None:
        """Send one datagram (``data`` may be empty) to ``addr``.

        On an endpoint made with ``remote_addr``, ``addr`` may be omitted
        and any other address is a ValueError. Errors of the send itself go
        to the protocol's ``error_received``.
        """
        if data.__class__ is not bytes and not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        if self._address is not None:
            if addr is not None and addr != self._address:
                raise ValueError(f"Invalid address: must be None or {self._address}")
            addr = self._address
        if self._conn_lost:
            if self._conn_lost >= constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                logger.warning("socket.send() raised exception.")
            self._conn_lost += 1
            return
        if not self._buffer:
            try:
                if self._connected:
                    self._sock.send(data)
                else:
                    self._sock.sendto(data, addr)
                return
            except _TRY_AGAIN:
                self._add_writer(self._sock_fd, self._write_ready)
                self._writing = True
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
        # Queue an immutable copy: the caller may reuse its buffer.
        self._buffer.append((bytes(data), addr))
        self._buffer_size += len(data) + DATAGRAM_OVERHEAD
        self._maybe_pause_protocol()

    def _write_ready(self) -> None:
        buffer = self._buffer
        sock = self._sock
        while buffer:
            data, addr = buffer[0]
            try:
                if self._connected:
                    sock.send(data)
                else:
                    sock.sendto(data, addr)
            except _TRY_AGAIN:
                break
            except OSError as exc:
                buffer.popleft()
                self._buffer_size -= len(data) + DATAGRAM_OVERHEAD
                self._protocol.error_received(exc)
                if self._conn_lost:  # the protocol aborted the endpoint
                    return
                continue
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
            buffer.popleft()
            self._buffer_size -= len(data) + DATAGRAM_OVERHEAD
        self._maybe_resume_protocol()  # the protocol may queue more here
        if not buffer and not self._conn_lost:
            self._stop_writing()
            if self._closing:
                self._conn_lost += 1
                self._schedule_connection_lost(None)

    def _stop_writing(self) -> None:
        if self._writing:
            self._writing = False
            self._remove_writer(self._sock_fd)

    # ------------------------------------------------------------------
    # Flow control
    # ------------------------------------------------------------------

    def get_write_buffer_size(self) -> int:
        """Bytes queued for sending (payload plus 8 per datagram)."""
        return self._buffer_size

    # ------------------------------------------------------------------
    # The end
    # ------------------------------------------------------------------

    def _force_close(self, exc: BaseException | None) -> None:
        if self._conn_lost:
            return
        self._buffer.clear()
        self._buffer_size = 0
        self._stop_writing()
        self._closing = True
        self._stop_reading()
        self._conn_lost += 1
        self._schedule_connection_lost(exc)

    def _connection_lost_done(self) -> None:
        sock = self._sock
        self._release_fd(self._sock_fd)
        self._sock = None
        self._protocol = None
        sock.close()
