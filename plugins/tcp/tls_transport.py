"""The transport an application sees on a TLS connection.

``TLSAppTransport`` is the face of a :class:`~loopkit.plugins.tcp.tls.TLSProtocol`
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
    from loopkit.plugins.tcp.tls import TLSProtocol

BytesLike = bytes | bytearray | memoryview


class TLSAppTransport(asyncio.Transport):
    """The application's end of a TLS connection (an ``asyncio.Transport``).

    Writes are encrypted and passed down; ``close()`` flushes what is buffered,
    sends close_notify and waits (at most ``ssl_shutdown_timeout``) for the
    peer's; ``abort()`` drops the connection at once. TLS has no half-close,
    so ``can_write_eof()`` is False and ``write_eof()`` raises, as in asyncio.
    """

    # start_tls() may be stacked on top of this transport (TLS in TLS), and
    # loop.sendfile() must use its read/write fallback: there is no socket
    # here to hand to os.sendfile.
    _start_tls_compatible = True
    _sendfile_compatible = _asyncio_constants._SendfileMode.FALLBACK

    def __init__(self, loop: asyncio.AbstractEventLoop, tls: TLSProtocol) -> None:
        super().__init__()
        self._loop = loop
        self._tls = tls
        self._closing = False

    def __repr__(self) -> str:
        state = "closing" if self._closing else "open"
        return f"<TLSAppTransport {state} over {self._tls._transport!r}>"

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if not self._closing:
            self._closing = True
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)

    # -- information -----------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """TLS keys (ssl_object, peercert, cipher, compression, sslcontext)
        first, then whatever the transport below knows (socket, peername...)."""
        return self._tls._extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._tls._set_app_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._tls._app_protocol

    def is_closing(self) -> bool:
        return self._closing

    # -- closing ---------------------------------------------------------

    def close(self) -> None:
        """Flush buffered data, then end the TLS session with close_notify.

        No more data is delivered to the protocol. Its ``connection_lost`` is
        called once the peer answered (with None) or the shutdown timeout
        expired (with TimeoutError). Closing twice does nothing more.
        """
        if self._closing:
            return
        self._closing = True
        self._tls._app_close()

    def abort(self) -> None:
        """Drop the connection now: buffered data is lost, no close_notify."""
        self._closing = True
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
