"""The stream transport: one connected stream socket, any address family.

This is the transport behind ``create_connection``, ``create_server`` and
``connect_accepted_socket`` of the tcp family, and behind the unix family's
connections (or a third party's stream family): nothing here depends on the
socket being TCP except switching TCP_NODELAY on when it is one. The
lifecycle is :class:`~loopkit.transports.base.TransportBase`'s, the water
marks :class:`~loopkit.transports.flowcontrol.WriteFlowControl`'s.

Theory of operation:

* *Reading* is a reader watcher on the socket's fd. A BufferedProtocol
  lends a buffer that ``recv_into`` fills. A plain Protocol gets the
  ``bytes`` that ``recv`` makes: the kernel copies straight into them, and
  the C library serves and shrinks that block from its heap. While the peer
  sends little, ``recv(64 KiB)``; once a read fills those 64 KiB, ``recv``
  of just under 128 KiB; on TCP, once one of those fills too,
  ``recv(256 KiB)`` (see ``_adapt_read_size``). Small reads first, unlike
  asyncio's ``recv(256 KiB)`` for every read: a request over glibc's initial
  mmap threshold (128 KiB) that comes back short makes it map (mmap), shrink
  (mremap) and unmap the block, three system calls that cost more than the
  read itself. No read into a shared buffer and a copy out: for a 1 MiB
  message that copy cost 1 M instructions, 12 times the rest of the echo.
  The watcher is
  registered only while reading is wanted (not paused, not closing), so a
  paused transport costs the poller nothing.
* *Writing* goes straight to the kernel while nothing is queued; only what the
  kernel does not take is queued, and a writer watcher drains the queue with
  ``sendmsg`` (scatter-gather) when there are several chunks. ``writelines``
  of a few small buffers is one joined ``write`` (cheaper than gathering
  them). The protocol is
  paused above the high-water mark and resumed at or below the low-water mark.
* *Closing* is ``close()`` (flush, then close), ``abort()`` (drop the queue,
  close now) or a fatal error. Whatever the path, ``connection_lost`` runs
  exactly once, from a fresh callback, and the socket is closed right after.

A family whose socket frames data differently (a message-preserving
SOCK_SEQPACKET, say) subclasses :class:`StreamTransport` and overrides only
the framing: ``write`` and ``writelines``, ``_flush`` (send the queue
``_buffer``, counted in ``_buffer_size``; False after a fatal error) and
``_read_method`` (the reader callback; ``_buffered`` says whether the
protocol is a BufferedProtocol). The sample plugin of
docs/writing-a-transport-plugin.rst does exactly that.

What it must never do: block, let an exception from a protocol callback
escape into the loop (it becomes a fatal error of this connection only), or
call ``connection_lost`` twice.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import socket
from asyncio import constants, futures, protocols, transports, trsock
from asyncio.log import logger
from typing import Any

from loopkit.transports.base import wake_waiter
from loopkit.transports.flowcontrol import DEFAULT_HIGH_WATER, WriteFlowControl

__all__ = ["StreamTransport", "set_nodelay"]

#: Bytes asked of ``recv`` per read while the peer sends little.
SMALL_READ_SIZE = 64 * 1024
#: Bytes asked of ``recv`` per read once a read filled SMALL_READ_SIZE: the
#: most whose bytes object (data, a 33-byte header, malloc's own 8 bytes)
#: stays under glibc's initial mmap threshold of 128 KiB, which only grows.
LARGE_READ_SIZE = 128 * 1024 - 64
#: Bytes asked once a large read filled LARGE_READ_SIZE too, on sockets
#: other than Unix ones: as asyncio's reads. The first such object that
#: comes back full and is freed raises glibc's mmap threshold above it, so
#: later ones come from the heap. Measured on 1 MiB echo, loopback TCP made
#: half the system calls for about a third less CPU; Unix sockets, whose buffers
#: are smaller, made partial sends instead and cost more.
HUGE_READ_SIZE = 256 * 1024
#: Two large reads in a row that each bring less than this go back to small
#: reads (a gap between the sizes, so that a peer sending about
#: SMALL_READ_SIZE at a time does not flip the mode on every read; two, so
#: that the short tail of one large message does not).
BACK_TO_SMALL_READS = SMALL_READ_SIZE // 4
#: writelines() with nothing queued joins buffers up to this many bytes in all
#: and sends them as one write(): a copy of that much costs less than
#: sendmsg's gathering and the queue work around it.
JOIN_WRITELINES_UP_TO = 64 * 1024
#: After this many writes to a lost connection, each further one is logged.
LOG_AFTER_LOST_WRITES = 5

try:
    _IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024)
except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
    _IOV_MAX = 16
if _IOV_MAX <= 0:  # pragma: no cover - sysconf answered "no limit"
    _IOV_MAX = 1024

_HAS_SENDMSG = hasattr(socket.socket, "sendmsg")
_TRY_AGAIN = (BlockingIOError, InterruptedError)
_INET_FAMILIES = (socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET))


def set_nodelay(sock: socket.socket) -> None:
    """Turn Nagle's algorithm off on a TCP socket (a no-op for other sockets)."""
    if (
        hasattr(socket, "TCP_NODELAY")
        and sock.family in _INET_FAMILIES
        and sock.type == socket.SOCK_STREAM
        and sock.proto in (0, socket.IPPROTO_TCP)
    ):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - a socket that refuses it still works
            pass


def _address(ask: Any) -> Any:
    """``ask()`` (a socket's getsockname or getpeername), None if the socket refuses."""
    try:
        return ask()
    except OSError:
        return None


def _checked_bytes_like(data: object) -> bytes | bytearray | memoryview:
    """Refuse what is not bytes-like; give a memoryview byte items.

    Kept off ``write``'s path for plain ``bytes``, which is nearly every call.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__!r}")
    if isinstance(data, memoryview) and data.itemsize != 1:
        return data.cast("B")
    return data


class StreamTransport(WriteFlowControl, transports.Transport):
    """A bidirectional transport over a connected, non-blocking stream socket."""

    #: Whether the last large read was short (see BACK_TO_SMALL_READS). A
    #: class default: an idle connection carries no entry for it.
    _short_read = False

    #: loop.start_tls() accepts this transport.
    _start_tls_compatible = True
    #: loop.sendfile() may use os.sendfile on it.
    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE

    def __init__(
        self,
        loop: Any,
        sock: socket.socket,
        protocol: asyncio.BaseProtocol,
        waiter: asyncio.Future[Any] | None = None,
        extra: dict[str, Any] | None = None,
        server: Any = None,
    ) -> None:
        WriteFlowControl.__init__(self, loop, None, None)
        self._init_write_flow(DEFAULT_HIGH_WATER)
        self._sock: socket.socket | None = sock
        # The extra info (socket, sockname, peername) is made when first
        # asked for, or before the socket closes (see _make_extra): an idle
        # connection would carry some 370 bytes of it for nothing. Only the
        # peer's address is kept now, as accept() gave it or asked at once:
        # it cannot be asked any more once the peer has reset the connection.
        if extra and "peername" in extra:
            self._peername = extra["peername"]
        else:
            self._peername = _address(sock.getpeername)
        if extra and extra.keys() != {"peername"}:  # more given: all made now
            self._extra_info = {**extra, **self._make_extra()}
        self._sock_fd = sock.fileno()
        #: What the next plain-Protocol read asks of recv (_adapt_read_size).
        self._read_size = SMALL_READ_SIZE
        self._server = server
        self._buffered = False
        # A list, not a deque: an empty deque takes 760 bytes, which an idle
        # connection would pay for nothing (see _flush for how it drains).
        self._buffer: list[bytes | memoryview] = []
        self._buffer_size = 0
        self._conn_lost = 0
        self._paused = False  # reading paused by the user (or by eof kept open)
        self._reader_on = False
        self._at_eof = False  # the peer sent EOF: there is nothing more to read
        self._eof = False  # write_eof() called
        self._empty_waiter: futures.Future[None] | None = None
        self.set_protocol(protocol)
        set_nodelay(sock)
        self._claim_fd(self._sock_fd)
        if server is not None:
            server._attach(self)
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._start_reading)
        if waiter is not None:
            loop.call_soon(wake_waiter, waiter)

    def __repr__(self) -> str:
        state = "closed" if self._sock is None else ("closing" if self._closing else "open")
        info = [type(self).__name__, f"fd={self._sock_fd}", state]
        if self._sock is not None:
            info.append(f"read={'polling' if self._reader_on else 'idle'}")
            info.append(f"write=<bufsize={self._buffer_size}>")
        return "<{}>".format(" ".join(info))

    def _open_resource(self) -> socket.socket | None:
        return self._sock

    def _make_extra(self) -> dict[str, Any]:
        sock = self._sock
        if sock is None:  # pragma: no cover - made before the socket closes
            return {"peername": self._peername}
        return {
            "socket": trsock.TransportSocket(sock),
            "sockname": _address(sock.getsockname),
            "peername": self._peername,
        }

    # ------------------------------------------------------------------
    # Protocol
    # ------------------------------------------------------------------

    def set_protocol(self, protocol: protocols.BaseProtocol) -> None:
        """Deliver further events to ``protocol`` (plain or buffered)."""
        buffered = isinstance(protocol, protocols.BufferedProtocol)
        self._protocol = protocol
        if buffered != self._buffered:
            self._buffered = buffered
            if self._reader_on:  # the watcher holds the old read method
                self._add_reader(self._sock_fd, self._read_method())

    def _read_method(self) -> Any:
        return self._read_ready_buffered if self._buffered else self._read_ready

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------

    def _start_reading(self) -> None:
        if self._paused or self._closing or self._reader_on or self._at_eof:
            return
        self._reader_on = True
        self._add_reader(self._sock_fd, self._read_method())

    def _stop_reading(self) -> None:
        if self._reader_on:
            self._reader_on = False
            self._remove_reader(self._sock_fd)

    def is_reading(self) -> bool:
        """False while paused, after the peer's EOF, and once closing."""
        return not self._paused and not self._closing and not self._at_eof

    def pause_reading(self) -> None:
        """Stop calling the protocol with data until :meth:`resume_reading`."""
        if self._closing or self._paused:
            return
        self._paused = True
        self._stop_reading()
        if self._loop.get_debug():
            logger.debug("%r pauses reading", self)

    def resume_reading(self) -> None:
        """Deliver data to the protocol again."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._start_reading()
        if self._loop.get_debug():
            logger.debug("%r resumes reading", self)

    def _read_ready(self) -> None:
        if self._conn_lost:
            return
        size = self._read_size
        try:
            data = self._sock.recv(size)  # type: ignore[union-attr]
        except _TRY_AGAIN:
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not data:
            self._read_eof()
            return
        if size != SMALL_READ_SIZE or len(data) == size:  # not a small read's usual case
            self._adapt_read_size(size, len(data))
        try:
            self._protocol.data_received(data)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")

    def _adapt_read_size(self, size: int, got: int) -> None:
        """Grow the next read after a full one, shrink it after two short ones.

        SMALL_READ_SIZE -> LARGE_READ_SIZE -> HUGE_READ_SIZE (not on Unix
        sockets), one step per read that filled its size; back to
        SMALL_READ_SIZE after two large reads in a row that each brought
        under BACK_TO_SMALL_READS. The flag is written only when it changes,
        so that a connection that never reads much carries no entry for it.
        """
        if got == size:
            if size == SMALL_READ_SIZE:
                self._read_size = LARGE_READ_SIZE
            elif size == LARGE_READ_SIZE and self._sock.family != socket.AF_UNIX:  # type: ignore[union-attr]
                self._read_size = HUGE_READ_SIZE
            short = False
        else:
            short = got < BACK_TO_SMALL_READS
            if short and self._short_read:
                self._read_size = SMALL_READ_SIZE
                short = False
        if short != self._short_read:
            self._short_read = short

    def _read_ready_buffered(self) -> None:
        if self._conn_lost:
            return
        try:
            buf = self._protocol.get_buffer(-1)
            if not len(buf):
                raise RuntimeError("get_buffer() returned an empty buffer")
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.get_buffer() call failed.")
            return
        try:
            nbytes = self._sock.recv_into(buf)  # type: ignore[union-attr]
        except _TRY_AGAIN:
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not nbytes:
            self._read_eof()
            return
        try:
            self._protocol.buffer_updated(nbytes)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.buffer_updated() call failed.")

    def _read_eof(self) -> None:
        """The peer will send no more: ask the protocol whether to stay open."""
        if self._loop.get_debug():
            logger.debug("%r received EOF", self)
        try:
            keep_open = self._protocol.eof_received()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.eof_received() call failed.")
            return
        if keep_open:
            # Half-open: we may still write; nothing more will be read, so
            # the watcher goes for good (resume_reading does not bring it back).
            self._at_eof = True
            self._stop_reading()
        else:
            self.close()

    # ------------------------------------------------------------------
    # Writing
    # ------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data``: at once as far as the kernel takes it, the rest queued."""
        if data.__class__ is not bytes:
            data = _checked_bytes_like(data)
        if self._eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._empty_waiter is not None:
            raise RuntimeError("unable to write; sendfile is in progress")
        if not data:
            return
        if self._conn_lost:
            self._note_lost_write()
            return
        if not self._buffer:
            try:
                sent = self._sock.send(data)  # type: ignore[union-attr]
            except _TRY_AGAIN:
                sent = 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on socket transport")
                return
            if sent == len(data):
                return
            rest: bytes | memoryview = (
                memoryview(data)[sent:] if isinstance(data, bytes) else bytes(data[sent:])
            )
            self._add_writer(self._sock_fd, self._write_ready)
        else:
            rest = data if isinstance(data, bytes) else bytes(data)
        self._buffer.append(rest)
        self._buffer_size += len(rest)
        self._maybe_pause_protocol()

    def writelines(self, list_of_data: Any) -> None:
        """Send several buffers, in order.

        With nothing queued and at most JOIN_WRITELINES_UP_TO bytes in all,
        they are joined and go through :meth:`write`; otherwise they are
        queued and sent by scatter-gather ``sendmsg`` without being copied.
        """
        if self._eof:
            raise RuntimeError("Cannot call writelines() after write_eof()")
        if self._empty_waiter is not None:
            raise RuntimeError("unable to writelines; sendfile is in progress")
        if list_of_data.__class__ is not list:
            list_of_data = list(list_of_data)
        if not self._buffer and sum(map(len, list_of_data)) <= JOIN_WRITELINES_UP_TO:
            self.write(b"".join(list_of_data))
            return
        chunks = [data if isinstance(data, bytes) else bytes(data) for data in list_of_data]
        if not chunks:
            return
        if self._conn_lost:
            self._note_lost_write()
            return
        was_empty = not self._buffer
        for chunk in chunks:
            if chunk:
                self._buffer.append(chunk)
                self._buffer_size += len(chunk)
        if not self._buffer:
            return
        if was_empty:
            # Nothing was waiting for the writer watcher: send now.
            if not self._flush():
                return
            if self._buffer:
                self._add_writer(self._sock_fd, self._write_ready)
        self._maybe_pause_protocol()

    def _note_lost_write(self) -> None:
        if self._conn_lost >= LOG_AFTER_LOST_WRITES:
            logger.warning("socket.send() raised exception.")
        self._conn_lost += 1

    def _flush(self) -> bool:
        """Send as much of the queue as the kernel takes; False after a fatal error."""
        buffer = self._buffer
        try:
            if len(buffer) > 1 and _HAS_SENDMSG:
                sent = self._sock.sendmsg(  # type: ignore[union-attr]
                    buffer if len(buffer) <= _IOV_MAX else itertools.islice(buffer, _IOV_MAX)
                )
            else:
                sent = self._sock.send(buffer[0])  # type: ignore[union-attr]
        except _TRY_AGAIN:
            return True
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._remove_writer(self._sock_fd)
            buffer.clear()
            self._buffer_size = 0
            self._fatal_error(exc, "Fatal write error on socket transport")
            if self._empty_waiter is not None:
                self._empty_waiter.set_exception(exc)
            return False
        self._buffer_size -= sent
        done = 0
        while sent:
            size = len(buffer[done])
            if sent < size:
                buffer[done] = memoryview(buffer[done])[sent:]
                break
            sent -= size
            done += 1
        del buffer[:done]  # one move of the rest, however many chunks went
        return True

    def _write_ready(self) -> None:
        if self._conn_lost:
            return
        if self._buffer and not self._flush():
            return
        self._maybe_resume_protocol()
        if self._buffer:
            return
        self._remove_writer(self._sock_fd)
        if self._empty_waiter is not None:
            self._empty_waiter.set_result(None)
        if self._closing:
            self._conn_lost += 1
            self._call_connection_lost(None)
        elif self._eof:
            self._shutdown_write()

    def _shutdown_write(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)  # type: ignore[union-attr]
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                self._fatal_error(exc, "Fatal error on socket shutdown")

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """Close the write side once the queue is flushed; reading goes on."""
        if self._closing or self._eof:
            return
        self._eof = True
        if not self._buffer:
            self._shutdown_write()

    # ------------------------------------------------------------------
    # Flow control of writes
    # ------------------------------------------------------------------

    def get_write_buffer_size(self) -> int:
        return self._buffer_size

    # ------------------------------------------------------------------
    # sendfile support (used by loop.sendfile)
    # ------------------------------------------------------------------

    def _make_empty_waiter(self) -> futures.Future[None]:
        """A future done once the write queue is empty; writes are refused meanwhile."""
        if self._empty_waiter is not None:
            raise RuntimeError("Empty waiter is already set")
        waiter: futures.Future[None] = self._loop.create_future()
        self._empty_waiter = waiter
        if not self._buffer:
            waiter.set_result(None)
        return waiter

    def _reset_empty_waiter(self) -> None:
        self._empty_waiter = None

    # ------------------------------------------------------------------
    # Closing
    # ------------------------------------------------------------------

    def close(self) -> None:
        """Stop reading; close once everything queued has been sent."""
        if self._closing:
            return
        self._closing = True
        self._stop_reading()
        if not self._buffer:
            self._conn_lost += 1
            self._schedule_connection_lost(None)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._conn_lost:
            return
        if self._buffer:
            self._buffer.clear()
            self._buffer_size = 0
            self._remove_writer(self._sock_fd)
        if not self._closing:
            self._closing = True
            self._stop_reading()
        self._conn_lost += 1
        self._schedule_connection_lost(exc)

    def _connection_lost_done(self) -> None:
        sock = self._sock
        if sock is None:
            return
        if self._extra_info is None:  # asked for after close, it must be known now
            self._extra_info = self._make_extra()
        self._sock = None
        self._release_fd(self._sock_fd)
        sock.close()
        waiter = self._empty_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError("Connection is closed by peer"))
        self._protocol = None
        server = self._server
        if server is not None:
            self._server = None
            server._detach(self)
