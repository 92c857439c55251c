"""TLS as one protocol layer over any stream transport, driven by ssl.MemoryBIO.

``TLSProtocol`` sits on a plain stream transport as its protocol: ciphertext
the transport receives goes into an incoming ``MemoryBIO``, the ``SSLObject``
turns it into plaintext for the application protocol, and what the
application writes comes out of the outgoing ``MemoryBIO`` into the transport
below. The application talks to a :class:`SSLAppTransport`.

The constructor is the one of asyncio's ``SSLProtocol``, so the tcp and unix
families (and start_tls) use it the way asyncio's loops use theirs.

Theory of operation. The session moves through five states::

    IDLE --connection_made--> HANDSHAKING --done--> OPEN --close/close_notify-->
    CLOSING --peer's close_notify, peer EOF or timeout--> CLOSED

Any state may fall to CLOSED on an error or when the transport below is lost.

Rule 1: this layer never touches a socket or the poller. It uses only the
public transport API below it (write, close, abort, pause/resume_reading,
get_extra_info), which is what makes it one layer for every stream.
Rule 2: the waiter is resolved exactly once: with None when the handshake
succeeds, with the exception when it fails. A connection that ends without an
error before the handshake is done (the transport below closed or aborted)
also gives None, as asyncio's SSLProtocol does;
:meth:`TLSProtocol.connection_is_lost` then says so, and ``start_tls``
returns None.
Rule 3: the application protocol gets ``connection_lost`` exactly once, and
only if the handshake succeeded (it never saw a TLS connection otherwise;
asyncio behaves the same, also for start_tls).
Rule 4: after ``close()`` no more data reaches the application; whatever the
peer still sends before its close_notify is decrypted and dropped.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import logging
import ssl
import weakref
from collections.abc import Iterable
from typing import Any, cast

from loopkit.transports.tls.apptransport import _DETACHED, BytesLike, SSLAppTransport
from loopkit.transports.tls.support import (
    AGAIN,
    LOST_WRITES_BEFORE_WARNING,
    READ_HIGH_WATER,
    SSL_HANDSHAKE_TIMEOUT,
    SSL_SHUTDOWN_TIMEOUT,
    WRITE_HIGH_WATER,
    decrypt_into,
    default_client_context,
    fast_reader,
    scratch_buffer,
    water_marks,
)

__all__ = [
    "SSL_HANDSHAKE_TIMEOUT",
    "SSL_SHUTDOWN_TIMEOUT",
    "TLSProtocol",
    "default_client_context",
]

logger = logging.getLogger(__name__)


class _State(enum.Enum):
    IDLE = "idle"
    HANDSHAKING = "handshaking"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


# The states as module globals, for the per-record paths: on Python 3.11 each
# ``_State.OPEN`` goes through EnumType.__getattr__ (about 80 ns); a global
# is read in about 10.
_IDLE = _State.IDLE
_HANDSHAKING = _State.HANDSHAKING
_OPEN = _State.OPEN
_CLOSING = _State.CLOSING
_CLOSED = _State.CLOSED


class TLSProtocol(asyncio.BufferedProtocol):
    """The TLS session between a stream transport and an application protocol.

    ``waiter`` (a future, or None) gets None when the handshake is done, or
    the exception that ended it (ssl.SSLCertVerificationError for a bad
    certificate or host name, ConnectionAbortedError when
    ``ssl_handshake_timeout`` expires, ConnectionResetError when the peer
    leaves). With ``call_connection_made=False`` (start_tls) the application
    protocol is assumed to be connected already and is not told again.

    Host names: ``server_hostname`` is sent as SNI and checked against the
    certificate when the context has ``check_hostname`` (the default of
    ``ssl.create_default_context``). The caller resolves the default
    (create_connection uses ``host``, and refuses server_hostname without
    ssl); ``''`` or None sends no name and so matches none: the chain is
    still verified, the host name is not. ``sslcontext=None`` (``ssl=True``)
    uses :func:`default_client_context`.

    Data that arrives together with the end of the handshake is delivered at
    once when the layer calls connection_made itself; with
    ``call_connection_made=False`` it is delivered one loop step later, so
    that ``start_tls()`` has returned the new transport to its caller first.
    """

    #: Size of the buffer the transport below receives ciphertext into.
    max_size = 256 * 1024

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        app_protocol: asyncio.BaseProtocol,
        sslcontext: ssl.SSLContext | None,
        waiter: asyncio.Future[None] | None,
        server_side: bool = False,
        server_hostname: str | None = None,
        call_connection_made: bool = True,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        if ssl_handshake_timeout is None:
            ssl_handshake_timeout = SSL_HANDSHAKE_TIMEOUT
        elif ssl_handshake_timeout <= 0:
            raise ValueError(
                f"ssl_handshake_timeout should be a positive number, got {ssl_handshake_timeout}"
            )
        if ssl_shutdown_timeout is None:
            ssl_shutdown_timeout = SSL_SHUTDOWN_TIMEOUT
        elif ssl_shutdown_timeout <= 0:
            raise ValueError(
                f"ssl_shutdown_timeout should be a positive number, got {ssl_shutdown_timeout}"
            )
        if not sslcontext:
            sslcontext = default_client_context(server_side, server_hostname)

        self._loop = loop
        self._waiter = waiter
        self._server_side = server_side
        self._server_hostname = server_hostname if server_hostname and not server_side else None
        self._handshake_timeout = ssl_handshake_timeout
        self._shutdown_timeout = ssl_shutdown_timeout
        self._call_connection_made = call_connection_made

        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._sslobj = sslcontext.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=server_side,
            server_hostname=self._server_hostname,
        )
        #: What reads, writes and pending() go through (see fast_reader()).
        self._ssl_fast = fast_reader(self._sslobj)
        #: The loop's decryption buffer, fetched on first delivery.
        self._scratch: memoryview | None = None
        self._extra: dict[str, Any] = {"sslcontext": sslcontext}

        self._state = _IDLE
        self._transport: asyncio.Transport | None = None
        self._recv_buffer = bytearray(self.max_size)
        self._recv_view = memoryview(self._recv_buffer)
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._shutdown_timer: asyncio.TimerHandle | None = None
        self._close_exc: Exception | None = None  # why the connection ended
        self._peer_eof = False  # the transport below reported EOF
        self._app_connected = False  # app saw connection_made over TLS, not yet lost
        self._lost = False  # the transport below is gone (see connection_is_lost)
        self._lost_writes = 0

        # Plaintext the application wrote that is not encrypted yet (before
        # the handshake is done, or while OpenSSL wants to read first).
        self._backlog: collections.deque[BytesLike] = collections.deque()
        self._backlog_size = 0

        self._app_reading_paused = False
        self._app_writing_paused = False
        self._below_reading_paused = False  # we paused the transport below
        self._below_writing_paused = False  # the transport below paused us
        self._write_high, self._write_low = water_marks(None, None, WRITE_HIGH_WATER)
        self._read_high, self._read_low = water_marks(None, None, READ_HIGH_WATER)

        self._app_protocol = app_protocol
        self._app_buffered = False
        self._set_app_protocol(app_protocol)
        self._app_closing = False  # the application's transport is closing
        # Held strongly until the connection is lost, then only weakly: the
        # application transport refers to this layer, and a cycle would keep
        # the SSL context alive until the garbage collector runs.
        self._app_transport: SSLAppTransport | None = SSLAppTransport(loop, self)
        self._app_transport_ref = weakref.ref(self._app_transport)

    def __repr__(self) -> str:
        side = "server" if self._server_side else "client"
        return f"<TLSProtocol {side} {self._state.value}>"

    def get_app_transport(self) -> SSLAppTransport:
        """The transport the application protocol writes to."""
        transport = self._app_transport or self._app_transport_ref()
        if transport is None:
            raise RuntimeError("the TLS connection is lost and nothing holds its transport")
        return transport

    def _set_app_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._app_protocol = protocol
        self._app_buffered = isinstance(protocol, asyncio.BufferedProtocol)

    # -- the transport below talks to us ---------------------------------

    def connection_is_lost(self) -> bool:
        """Whether the transport below is gone (its connection_lost came)."""
        return self._lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the handshake (client) or wait for the client's hello (server)."""
        self._transport = cast(asyncio.Transport, transport)
        if self._state is not _IDLE:
            # The application closed before the connection was even made.
            self._transport.abort()
            return
        self._state = _HANDSHAKING
        self._handshake_timer = self._loop.call_later(
            self._handshake_timeout, self._on_handshake_timeout
        )
        if self._loop.get_debug():
            logger.debug("%r starts the TLS handshake", self)
        self._handshake_step()
        if self._peer_eof and self._state is _HANDSHAKING:
            # EOF came between start_tls() switching protocols and now.
            self._handshake_failed(ConnectionResetError("Connection lost during the TLS handshake"))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._recv_view

    def buffer_updated(self, nbytes: int) -> None:
        self._incoming.write(self._recv_view[:nbytes])
        if self._state is _OPEN:  # the common case of _on_ciphertext(), without its call
            self._deliver()
        else:
            self._on_ciphertext()

    def data_received(self, data: bytes) -> None:
        """For transports below that only speak the plain Protocol API."""
        self._incoming.write(data)
        self._on_ciphertext()

    def eof_received(self) -> bool:
        """The peer will send no more ciphertext.

        Returns True: this layer closes the transport below itself, after
        the application has seen all the data that arrived before the EOF.
        """
        self._peer_eof = True
        if self._loop.get_debug():
            logger.debug("%r received EOF", self)
        state = self._state
        if state is _HANDSHAKING:
            self._handshake_failed(ConnectionResetError("Connection lost during the TLS handshake"))
        elif state is _OPEN:
            self._deliver()
        elif state is _CLOSING:
            self._finish_shutdown()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        """The transport below is gone: tell the waiter or the application."""
        reason = exc if exc is not None else self._close_exc
        self._lost = True
        self._cancel_timers()
        self._state = _CLOSED
        self._transport = None
        self._backlog.clear()
        self._backlog_size = 0
        self._outgoing.read()
        self._app_closing = True
        self._app_transport = None  # see __init__: no cycle once lost
        # Before the handshake is done, a loss without an error (the transport
        # below closed or aborted) gives the waiter None, as in asyncio; the
        # peer leaving mid-handshake already failed it in eof_received.
        self._wake_waiter(reason)
        if self._app_connected:
            self._app_connected = False
            protocol, self._app_protocol = self._app_protocol, _DETACHED
            protocol.connection_lost(reason)

    def pause_writing(self) -> None:
        """The transport below is full: keep ciphertext here from now on."""
        self._below_writing_paused = True

    def resume_writing(self) -> None:
        self._below_writing_paused = False
        self._flush_ciphertext()

    # -- handshake --------------------------------------------------------

    def _handshake_step(self) -> None:
        try:
            self._sslobj.do_handshake()
        except AGAIN:
            self._flush_ciphertext()
            return
        except ssl.SSLError as exc:
            self._handshake_failed(exc)
            return
        self._handshake_done()

    def _on_handshake_timeout(self) -> None:
        self._handshake_timer = None
        if self._state is _HANDSHAKING:
            self._fatal_error(
                ConnectionAbortedError(
                    f"SSL handshake is taking longer than {self._handshake_timeout} "
                    f"seconds: aborting the connection"
                )
            )

    def _handshake_failed(self, exc: Exception) -> None:
        if isinstance(exc, ssl.CertificateError):
            message = "SSL handshake failed on verifying the certificate"
        else:
            message = "SSL handshake failed"
        # Send the alert OpenSSL prepared, so the peer learns why.
        self._fatal_error(exc, message, graceful=True)

    def _handshake_done(self) -> None:
        self._cancel_timers()
        sslobj = self._sslobj
        try:
            peercert = sslobj.getpeercert()
        except Exception as exc:  # defensive: getpeercert should not fail here
            self._handshake_failed(exc)
            return
        self._extra.update(
            peercert=peercert,
            cipher=sslobj.cipher(),
            compression=sslobj.compression(),
            ssl_object=sslobj,
        )
        self._state = _OPEN
        if self._loop.get_debug():
            logger.debug("%r: TLS handshake done (%s)", self, sslobj.version())
        self._app_connected = True
        if self._call_connection_made:
            self._app_protocol.connection_made(self.get_app_transport())
        self._wake_waiter(None)
        if self._state is _OPEN:
            self._encrypt_backlog()
            if self._call_connection_made:
                self._deliver()
            else:
                self._loop.call_soon(self._deliver)

    def _wake_waiter(self, exc: Exception | None) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        if exc is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(exc)

    # -- incoming data ----------------------------------------------------

    def _on_ciphertext(self) -> None:
        state = self._state
        if state is _OPEN:
            self._deliver()
        elif state is _HANDSHAKING:
            self._handshake_step()
        elif state is _CLOSING:
            self._shutdown_step()
        elif state is _CLOSED:
            self._incoming.read()
        # IDLE: data that came before connection_made (a start_tls race)
        # stays in the BIO; the handshake reads it.

    def _deliver(self) -> None:
        """Decrypt what arrived and give it to the application, unless it
        paused reading; then act on the peer's close_notify or EOF."""
        if self._state is not _OPEN:
            return
        if not self._app_reading_paused:
            try:
                if self._incoming.pending or self._ssl_fast.pending():
                    if self._app_buffered:
                        close_notify = self._deliver_into_buffers()
                    else:
                        close_notify = self._deliver_copies()
                else:
                    close_notify = False
            except Exception as exc:
                self._fatal_error(exc, "Fatal error on TLS protocol")
                return
            if self._state is not _OPEN:
                return  # the application closed or aborted meanwhile
            if close_notify:
                self._app_eof()
                self._begin_shutdown()
                return
            # Reading may have finished a key update that unblocks writing.
            if self._backlog:
                self._encrypt_backlog()
            elif self._outgoing.pending or self._app_writing_paused:
                self._flush_ciphertext()
            if self._peer_eof and not self._app_reading_paused:
                # EOF without close_notify: deliver it as an EOF all the same.
                self._app_eof()
                self._finish_shutdown()
                return
        # _control_below_reading() has nothing to do unless one of these holds.
        if self._below_reading_paused or self._incoming.pending >= self._read_high:
            self._control_below_reading()

    def _deliver_copies(self) -> bool:
        """data_received with what is decrypted now, in batches of up to
        ``max_size``; True on close_notify.

        Records are decrypted into one scratch buffer and copied out once:
        several times faster than letting ``SSLObject.read`` allocate a
        ``max_size`` bytes object for each (at most 16 KiB) record.
        """
        view = self._scratch
        if view is None or view.nbytes < self.max_size:
            view = self._scratch = scratch_buffer(self._loop, self.max_size)
        while True:
            filled, close_notify = decrypt_into(self._ssl_fast, self._incoming, view)
            if filled:
                # Copied out before the call: data_received may run another
                # connection's delivery, which reuses the scratch buffer.
                app: Any = self._app_protocol  # a Protocol: _app_buffered is False
                app.data_received(bytes(view[:filled]))
            if close_notify or filled < view.nbytes:
                return close_notify
            if self._app_reading_paused or self._state is not _OPEN:
                return False

    def _deliver_into_buffers(self) -> bool:
        """Decrypt straight into the application's buffers; True on close_notify."""
        protocol = cast(asyncio.BufferedProtocol, self._app_protocol)
        while True:
            buf = memoryview(protocol.get_buffer(self._incoming.pending or -1))
            if not buf.nbytes:
                raise RuntimeError("get_buffer() returned an empty buffer")
            filled, close_notify = decrypt_into(self._ssl_fast, self._incoming, buf)
            if filled:
                protocol.buffer_updated(filled)
            if close_notify or filled < buf.nbytes:
                return close_notify
            if self._app_reading_paused or self._state is not _OPEN:
                return False

    def _app_eof(self) -> None:
        try:
            keep_open = cast(asyncio.Protocol, self._app_protocol).eof_received()
        except Exception as exc:
            self._fatal_error(exc, "Error calling eof_received()")
            return
        if keep_open:
            logger.warning("returning true from eof_received() has no effect when using ssl")

    def _control_below_reading(self) -> None:
        """Pause the transport below while undecrypted input piles up."""
        transport = self._transport
        if transport is None or self._peer_eof:
            return  # after EOF the transport below has nothing left to read
        pending = self._incoming.pending
        if pending >= self._read_high and not self._below_reading_paused:
            self._below_reading_paused = True
            transport.pause_reading()
        elif pending <= self._read_low and self._below_reading_paused:
            self._below_reading_paused = False
            transport.resume_reading()

    # -- outgoing data ----------------------------------------------------

    def _app_write(self, chunks: Iterable[BytesLike]) -> None:
        state = self._state
        if self._app_closing or (
            state is not _OPEN and state is not _IDLE and state is not _HANDSHAKING
        ):
            if self._lost_writes >= LOST_WRITES_BEFORE_WARNING:
                logger.warning("TLS connection is closed: write() ignored")
            self._lost_writes += 1
            return
        is_open = state is _OPEN
        backlog = self._backlog
        write = self._ssl_fast.write
        for data in chunks:
            done = 0
            if is_open and not backlog:
                # Encrypt straight from the caller's buffer: no copy.
                try:
                    done = write(data)
                except AGAIN:
                    pass
                except ssl.SSLError as exc:
                    self._fatal_error(exc, "Fatal error on TLS protocol")
                    return
            size = data.nbytes if isinstance(data, memoryview) else len(data)
            if done < size:
                # Keep the rest as bytes: the caller may reuse its buffer as
                # soon as write() returns.
                rest = bytes(data)[done:]
                backlog.append(rest)
                self._backlog_size += len(rest)
        if is_open:
            self._flush_ciphertext()
        else:
            self._control_app_writing()

    def _encrypt_backlog(self) -> None:
        backlog = self._backlog
        write = self._ssl_fast.write
        try:
            while backlog:
                data = backlog[0]
                count = write(data)
                if count < len(data):
                    backlog[0] = memoryview(data)[count:]
                else:
                    backlog.popleft()
                self._backlog_size -= count
        except AGAIN:
            pass  # renegotiation or key update: retried after the next read
        except ssl.SSLError as exc:
            self._fatal_error(exc, "Fatal error on TLS protocol")
            return
        self._flush_ciphertext()

    def _flush_ciphertext(self) -> None:
        transport = self._transport
        if transport is not None and not self._below_writing_paused:
            data = self._outgoing.read()
            if data:
                transport.write(data)
        # _control_app_writing() has nothing to do unless one of these holds.
        if (
            self._app_writing_paused
            or self._outgoing.pending + self._backlog_size >= self._write_high
        ):
            self._control_app_writing()

    def _write_buffer_size(self) -> int:
        return self._outgoing.pending + self._backlog_size

    def _control_app_writing(self) -> None:
        size = self._outgoing.pending + self._backlog_size
        if size >= self._write_high and not self._app_writing_paused:
            self._app_writing_paused = True
            self._call_flow_callback("pause_writing")
        elif size <= self._write_low and self._app_writing_paused:
            self._app_writing_paused = False
            self._call_flow_callback("resume_writing")

    def _call_flow_callback(self, name: str) -> None:
        try:
            getattr(self._app_protocol, name)()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler(
                {
                    "message": f"protocol.{name}() failed",
                    "exception": exc,
                    "transport": self._app_transport,
                    "protocol": self._app_protocol,
                }
            )

    # -- shutdown ---------------------------------------------------------

    def _begin_shutdown(self) -> None:
        """Send close_notify after what is buffered; wait for the peer's."""
        if self._state is not _OPEN:
            return
        self._state = _CLOSING
        self._app_closing = True
        if self._below_reading_paused and self._transport is not None:
            # The peer's close_notify must be able to arrive.
            self._below_reading_paused = False
            self._transport.resume_reading()
        self._shutdown_timer = self._loop.call_later(
            self._shutdown_timeout, self._on_shutdown_timeout
        )
        self._encrypt_backlog()
        if self._state is _CLOSING:
            self._shutdown_step()

    def _shutdown_step(self) -> None:
        if self._peer_eof:
            self._finish_shutdown()  # no close_notify can come any more
            return
        view = scratch_buffer(self._loop, self.max_size)
        try:
            # Data the peer sent before its close_notify is dropped (Rule 4).
            while decrypt_into(self._ssl_fast, self._incoming, view) == (view.nbytes, False):
                pass
        except ssl.SSLError as exc:
            self._fatal_error(exc, "Fatal error during TLS shutdown")
            return
        try:
            self._sslobj.unwrap()
        except AGAIN:
            self._flush_ciphertext()
            return
        except ssl.SSLError as exc:
            self._fatal_error(exc, "Fatal error during TLS shutdown")
            return
        self._flush_ciphertext()
        self._finish_shutdown()

    def _on_shutdown_timeout(self) -> None:
        self._shutdown_timer = None
        if self._transport is not None:
            # Still waiting for the peer's close_notify, or for the transport
            # below to flush to a peer that stopped reading.
            self._fatal_error(TimeoutError("SSL shutdown timed out"))

    def _finish_shutdown(self) -> None:
        """The TLS session is over: close the transport below gracefully."""
        self._state = _CLOSED
        self._app_closing = True
        self._close_below()

    def _close_below(self) -> None:
        """Close the transport below after it flushed, within the shutdown
        timeout: a peer that stops reading must not keep it open forever."""
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        transport = self._transport
        if transport is None:
            return
        # Ciphertext held back while the transport below asked to pause
        # (our close_notify among it) goes now: close() flushes it.
        data = self._outgoing.read()
        if data:
            transport.write(data)
        if self._shutdown_timer is None:
            self._shutdown_timer = self._loop.call_later(
                self._shutdown_timeout, self._on_shutdown_timeout
            )
        transport.close()

    def _cancel_timers(self) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        if self._shutdown_timer is not None:
            self._shutdown_timer.cancel()
            self._shutdown_timer = None

    def _fatal_error(
        self,
        exc: Exception,
        message: str = "Fatal error on transport",
        graceful: bool = False,
    ) -> None:
        """End the connection because of ``exc``, which the waiter or the
        application's connection_lost receives."""
        if self._close_exc is None:
            self._close_exc = exc
        self._cancel_timers()
        self._state = _CLOSED
        self._app_closing = True
        self._wake_waiter(exc)
        if isinstance(exc, OSError):
            if self._loop.get_debug():
                logger.debug("%r: %s", self, message, exc_info=exc)
        else:
            self._loop.call_exception_handler(
                {
                    "message": message,
                    "exception": exc,
                    "transport": self._transport,
                    "protocol": self,
                }
            )
        transport = self._transport
        if transport is None:
            return
        if graceful:
            self._close_below()  # with the alert OpenSSL prepared
        else:
            transport.abort()

    # -- the application transport talks to us -----------------------------

    def _app_close(self) -> None:
        self._app_closing = True
        state = self._state
        if state is _OPEN:
            self._begin_shutdown()
        elif state in (_IDLE, _HANDSHAKING):
            self._app_abort()

    def _app_abort(self) -> None:
        if self._state is _CLOSED and self._transport is None:
            return
        self._cancel_timers()
        self._state = _CLOSED
        self._app_closing = True
        self._wake_waiter(ConnectionAbortedError("TLS connection aborted before the handshake"))
        if self._transport is not None:
            self._transport.abort()

    def _app_pause_reading(self) -> None:
        self._app_reading_paused = True

    def _app_resume_reading(self) -> None:
        if self._app_reading_paused:
            self._app_reading_paused = False
            self._loop.call_soon(self._deliver)

    def _set_write_limits(self, high: int | None, low: int | None) -> None:
        self._write_high, self._write_low = water_marks(high, low, WRITE_HIGH_WATER)
        self._control_app_writing()

    def _set_read_limits(self, high: int | None, low: int | None) -> None:
        self._read_high, self._read_low = water_marks(high, low, READ_HIGH_WATER)
        self._control_below_reading()

    def _get_extra_info(self, name: str, default: Any = None) -> Any:
        if name in self._extra:
            return self._extra[name]
        if self._transport is not None:
            return self._transport.get_extra_info(name, default)
        return default
