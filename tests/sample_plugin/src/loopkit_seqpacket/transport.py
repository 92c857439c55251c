"""The seqpacket transport: a stream transport that keeps message boundaries.

An AF_UNIX ``SOCK_SEQPACKET`` connection is a stream in every way asyncio
cares about (connected, reliable, ordered, half-closable), so this transport
is loopkit's :class:`~loopkit.plugin.StreamTransport` and inherits all of its
lifecycle: ``connection_made`` and ``connection_lost`` exactly once, pause and
resume of reading, the water marks, ``write_eof``, ``close`` that flushes
first, ``abort``, fatal errors, fd ownership, the server's bookkeeping.

What differs is framing, and only the methods that frame are overridden:

* :meth:`SeqpacketTransport.write` is one message. The kernel takes a
  seqpacket message whole or not at all, so it is sent by one ``send`` or
  queued whole; a message larger than the socket's limit
  (:attr:`SeqpacketTransport.max_message_size`, from ``SO_SNDBUF``) is
  refused at once with ValueError, instead of failing the connection later.
  An empty write sends nothing: a zero-length message would read as the end
  of the connection on the other side.
* :meth:`SeqpacketTransport.writelines` is one message per buffer (the
  stream transport would join them).
* :meth:`SeqpacketTransport._flush` sends the queue one message per
  ``send`` (the stream transport gathers the queue with ``sendmsg``, which
  would glue messages together).
* :meth:`SeqpacketTransport._read_method` reads one message per call: a
  ``recv_into`` of the loop's shared buffer with ``MSG_TRUNC``, which
  reports a message's real length, so that one larger than the buffer is an
  error rather than silently cut. A plain Protocol gets each message as one
  ``data_received(bytes)``; a BufferedProtocol gets it copied into its
  buffers (one ``buffer_updated`` when the buffer holds it whole).

Not offered: TLS (its records do not map onto messages) and ``os.sendfile``
(``loop.sendfile`` falls back to writing chunks, each a message).

What it must never do: cut or glue messages, block, let a protocol's
exception escape into the loop, or reach the loop other than through its
public methods and :mod:`loopkit.plugin`.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from asyncio import constants
from collections.abc import Callable, Iterable
from typing import Any

from loopkit.plugin import StreamTransport, services

__all__ = ["READ_BUFFER_SIZE", "SeqpacketTransport"]

#: Bytes of the loop's shared read buffer: more than a message can have
#: with Linux's default socket buffers (``net.core.wmem_max``, 208 KiB).
READ_BUFFER_SIZE = 256 * 1024
#: What Linux keeps of ``SO_SNDBUF`` for itself: a larger message is EMSGSIZE.
SNDBUF_OVERHEAD = 32

_TRY_AGAIN = (BlockingIOError, InterruptedError)


def _bytes_like(data: object) -> bytes | bytearray | memoryview:
    """``data`` if it is bytes-like (a memoryview cast to bytes); TypeError otherwise."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__!r}")
    if isinstance(data, memoryview) and data.itemsize != 1:
        return data.cast("B")
    return data


class SeqpacketTransport(StreamTransport):
    """A message-preserving transport over a connected seqpacket socket.

    Made by ``create_seqpacket_connection`` and by the server for each
    accepted connection; it owns the socket and closes it.
    """

    #: loop.start_tls() refuses it: TLS records would not map onto messages.
    _start_tls_compatible = False
    #: loop.sendfile() writes chunks through write() (each chunk a message).
    _sendfile_compatible = constants._SendfileMode.UNSUPPORTED

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol: asyncio.BaseProtocol,
        waiter: asyncio.Future[Any] | None = None,
        extra: dict[str, Any] | None = None,
        server: Any = None,
    ) -> None:
        super().__init__(loop, sock, protocol, waiter, extra, server)
        #: The largest message :meth:`write` accepts (what the kernel would send).
        limit = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) - SNDBUF_OVERHEAD
        self.max_message_size = limit
        self._extra["max_message_size"] = limit
        # The loop's shared buffer, bound once per transport: every read of
        # every seqpacket transport of this loop lands there and is copied
        # out before the callback returns (the loop runs one at a time).
        self._message_buffer = services(loop).buffer("seqpacket", READ_BUFFER_SIZE)

    # ------------------------------------------------------------------
    # Reading: one message per call
    # ------------------------------------------------------------------

    def _read_method(self) -> Callable[[], None]:
        return self._read_message

    def _read_message(self) -> None:
        if self._conn_lost:
            return
        buffer = self._message_buffer
        try:
            size = self._sock.recv_into(buffer, 0, socket.MSG_TRUNC)  # type: ignore[union-attr]
        except _TRY_AGAIN:
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on seqpacket transport")
            return
        if not size:
            self._read_eof()
            return
        if size > len(buffer):
            too_large = OSError(
                errno.EMSGSIZE,
                f"a message of {size} bytes is larger than the {len(buffer)} bytes "
                "a seqpacket transport reads",
            )
            self._fatal_error(too_large, "Fatal read error on seqpacket transport")
            return
        try:
            if self._buffered:
                self._deliver_buffered(buffer[:size])
            else:
                self._protocol.data_received(buffer[:size].tobytes())
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")

    def _deliver_buffered(self, message: memoryview) -> None:
        """Copy ``message`` into the BufferedProtocol's buffers, as many as it takes."""
        while message and not self._closing:
            target = memoryview(self._protocol.get_buffer(len(message))).cast("B")
            count = min(len(target), len(message))
            if not count:
                raise RuntimeError("get_buffer() returned an empty buffer")
            target[:count] = message[:count]
            self._protocol.buffer_updated(count)
            message = message[count:]

    # ------------------------------------------------------------------
    # Writing: one message per write, one send per message
    # ------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` as one message: now if the socket takes it, else queued whole."""
        data = _bytes_like(data)
        if self._eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        if not data:
            return
        if len(data) > self.max_message_size:
            raise ValueError(
                f"a message of {len(data)} bytes is larger than this connection's "
                f"max_message_size ({self.max_message_size}); split it, or raise SO_SNDBUF"
            )
        if self._conn_lost:
            self._note_lost_write()
            return
        if not self._buffer:
            try:
                self._sock.send(data)  # type: ignore[union-attr]
                return
            except _TRY_AGAIN:
                pass
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on seqpacket transport")
                return
            self._add_writer(self._sock_fd, self._write_ready)
        self._buffer.append(bytes(data))
        self._buffer_size += len(data)
        self._maybe_pause_protocol()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        """Send each buffer as one message, in order."""
        for data in list_of_data:
            self.write(data)

    def _flush(self) -> bool:
        """Send queued messages, one ``send`` each, until the socket is full.

        False after a fatal error (the stream transport's contract).
        """
        queue = self._buffer  # a list, oldest message first
        sent = 0
        try:
            for message in queue:
                self._sock.send(message)  # type: ignore[union-attr]
                sent += 1
                self._buffer_size -= len(message)
        except _TRY_AGAIN:
            pass
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._remove_writer(self._sock_fd)
            queue.clear()
            self._buffer_size = 0
            self._fatal_error(exc, "Fatal write error on seqpacket transport")
            return False
        del queue[:sent]  # one deletion per flush, not one per message
        return True
