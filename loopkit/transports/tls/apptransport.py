"""The transport an application sees on a TLS connection.

``SSLAppTransport`` is the face of a :class:`~loopkit.transports.tls.layer.TLSProtocol`
toward the application: it checks arguments, keeps the "closing" flag and
forwards every call to the layer, which owns all state (the TLS session, the
buffers, the transport below). It must never touch the TLS object or the
transport below directly: one place decides what a call means in each state.
"""

from __future__ import annotations

import asyncio
import warnings
from asyncio import constants as _asyncio_constants
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopkit.transports.tls.layer import TLSProtocol

#: What the layer holds instead of the application protocol once that was
#: told connection_lost (tls.py imports it from here).
_DETACHED = asyncio.Protocol()

BytesLike = bytes | bytearray | memoryview


class SSLAppTransport(asyncio.transports._FlowControlMixin, asyncio.Transport):
    """The application's end of a TLS connection (an ``asyncio.Transport``).

    Writes are encrypted and passed down; ``close()`` flushes what is buffered,
    sends close_notify and waits (at most ``ssl_shutdown_timeout``) for the
    peer's; ``abort()`` drops the connection at once. TLS has no half-close,
    so ``can_write_eof()`` is False and ``write_eof()`` raises, as in asyncio.

    The class name says SSL, like asyncio's and uvloop's TLS transports:
    code (asyncio's own test suite among it) recognises them by that name.
    """

    # start_tls() may be stacked on top of this transport (TLS in TLS), and
    # loop.sendfile() must use its read/write fallback: there is no socket
    # here to hand to os.sendfile.
    _start_tls_compatible = True
    _sendfile_compatible = _asyncio_constants._SendfileMode.FALLBACK

    def __init__(self, loop: asyncio.AbstractEventLoop, tls: TLSProtocol) -> None:
        # _FlowControlMixin is a base only because asyncio's sendfile fallback
        # insists on it; its __init__ is not called: the layer keeps the
        # write limits and the paused flag, this class only reports them.
        asyncio.Transport.__init__(self)
        self._loop = loop
        self._tls = tls

    def __repr__(self) -> str:
        state = "closing" if self._tls._app_closing else "open"
        return f"<SSLAppTransport {state} over {self._tls._transport!r}>"

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if not self._tls._app_closing:
            self._tls._app_closing = True
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)

    @property
    def _ssl_protocol(self) -> TLSProtocol:
        # The name asyncio's and uvloop's TLS transports give their layer;
        # asyncio's own tests and some libraries reach it through this.
        return self._tls

    def _test__append_write_backlog(self, data: bytes) -> None:
        """Queue plaintext as if OpenSSL had refused it (asyncio's test hook:
        test_ssl uses it to check that close() flushes such data first)."""
        self._tls._backlog.append(data)
        self._tls._backlog_size += len(data)

    # -- information -----------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """TLS keys (ssl_object, peercert, cipher, compression, sslcontext)
        first, then whatever the transport below knows (socket, peername...)."""
        return self._tls._get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._tls._set_app_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol | None:  # type: ignore[override]
        """The application protocol; None once it was told connection_lost
        (as in asyncio: the layer lets go of it then)."""
        protocol = self._tls._app_protocol
        return None if protocol is _DETACHED else protocol

    def is_closing(self) -> bool:
        return self._tls._app_closing

    # -- closing ---------------------------------------------------------

    def close(self) -> None:
        """Flush buffered data, then end the TLS session with close_notify.

        No more data is delivered to the protocol. Its ``connection_lost`` is
        called once the peer answered (with None) or the shutdown timeout
        expired (with TimeoutError). Closing twice does nothing more.
        """
        if not self._tls._app_closing:
            self._tls._app_close()

    def abort(self) -> None:
        """Drop the connection now: buffered data is lost, no close_notify."""
        self._tls._app_abort()

    # -- writing ---------------------------------------------------------

    def write(self, data: BytesLike) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data: expecting a bytes-like instance, got {type(data).__name__}")
        if data:
            self._tls._app_write((data,))

    def writelines(self, list_of_data: Iterable[BytesLike]) -> None:
        chunks: list[BytesLike] = []
        for data in list_of_data:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"data: expecting a bytes-like instance, got {type(data).__name__}")
            if data:
                chunks.append(data)
        if chunks:
            self._tls._app_write(chunks)

    def write_eof(self) -> None:
        """Refuse: TLS cannot close one direction and keep the other open.

        close_notify ends both directions of the session, so the only honest
        answer (asyncio's too) is NotImplementedError; callers are expected to
        ask ``can_write_eof()`` first.
        """
        raise NotImplementedError("TLS transports cannot half-close: use close()")

    def can_write_eof(self) -> bool:
        return False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Water marks for pause_writing / resume_writing on the protocol.

        The buffer counted is this layer's own: plaintext waiting for the
        handshake plus ciphertext the transport below did not accept yet
        because it asked to pause.
        """
        self._tls._set_write_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._tls._write_low, self._tls._write_high

    def get_write_buffer_size(self) -> int:
        return self._tls._write_buffer_size()

    @property
    def _protocol_paused(self) -> bool:
        # asyncio's sendfile fallback reads this to know whether to wait.
        return self._tls._app_writing_paused

    # -- reading ---------------------------------------------------------

    def is_reading(self) -> bool:
        return not self._tls._app_reading_paused

    def pause_reading(self) -> None:
        """Stop delivering data; ciphertext keeps arriving until the read
        buffer limit, then the transport below is paused too."""
        self._tls._app_pause_reading()

    def resume_reading(self) -> None:
        self._tls._app_resume_reading()

    def set_read_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Water marks of undecrypted data at which the transport below is
        paused and resumed while the protocol does not read."""
        self._tls._set_read_limits(high, low)

    def get_read_buffer_limits(self) -> tuple[int, int]:
        return self._tls._read_low, self._tls._read_high

    def get_read_buffer_size(self) -> int:
        return self._tls._incoming.pending
