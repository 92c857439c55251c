"""Constants and small helpers of the TLS layer.

asyncio's defaults (timeouts, water marks), the default client context for
``ssl=True``, water-mark resolution, and the per-thread scratch buffer that
decryption goes through. Nothing here keeps per-connection state.
"""

from __future__ import annotations

import ssl
import weakref
from typing import Any

from loopkit.core.services import services
from loopkit.transports.flowcontrol import water_marks

__all__ = [
    "AGAIN",
    "LOST_WRITES_BEFORE_WARNING",
    "READ_HIGH_WATER",
    "SSL_HANDSHAKE_TIMEOUT",
    "SSL_SHUTDOWN_TIMEOUT",
    "WRITE_HIGH_WATER",
    "decrypt_into",
    "default_client_context",
    "fast_reader",
    "scratch_buffer",
    "water_marks",
]

#: Seconds a handshake may take before the connection is aborted (asyncio's value).
SSL_HANDSHAKE_TIMEOUT = 60.0
#: Seconds to wait for the peer's close_notify after sending ours (asyncio's value).
SSL_SHUTDOWN_TIMEOUT = 30.0
#: Default high-water marks, in bytes, of undecrypted input and unsent output.
READ_HIGH_WATER = 256 * 1024
WRITE_HIGH_WATER = 512 * 1024
#: After this many writes on a dead connection, each further one logs a warning.
LOST_WRITES_BEFORE_WARNING = 5

# A MemoryBIO "would block" when it lacks input; SSLSyscallError is listed
# because OpenSSL reports some of those same conditions as a syscall error.
AGAIN = (ssl.SSLWantReadError, ssl.SSLWantWriteError, ssl.SSLSyscallError)


#: Decryption buffers of loops that are not loopkit's (the layer also runs
#: on those: asyncio's own test suite drives it on other loops).
_FOREIGN_BUFFERS: weakref.WeakKeyDictionary[Any, memoryview] = weakref.WeakKeyDictionary()


def scratch_buffer(loop: Any, size: int) -> memoryview:
    """The loop's decryption buffer, of at least ``size`` bytes, shared by
    its TLS connections: delivery is synchronous (a loop runs in one thread
    at a time), and each batch is copied out before the application runs.
    On a loopkit loop it is the loop's ``tls`` buffer (kernel services); on
    another loop, one kept here for as long as that loop lives."""
    try:
        kernel = services(loop)
    except TypeError:
        view = _FOREIGN_BUFFERS.get(loop)
        if view is None or view.nbytes < size:
            view = _FOREIGN_BUFFERS[loop] = memoryview(bytearray(size))
        return view
    return kernel.buffer("tls", size)


def fast_reader(sslobj: ssl.SSLObject) -> Any:
    """What :func:`decrypt_into` should read through for ``sslobj``.

    A plain ``ssl.SSLObject`` forwards ``read``, ``write`` and ``pending``
    to the C object it wraps, one Python call each per record; calling that
    C object directly spares them. A subclass (``SSLContext.sslobject_class``) may
    override those methods, and is then used as it is.
    """
    if sslobj.__class__ is ssl.SSLObject:
        return getattr(sslobj, "_sslobj", sslobj)
    return sslobj


def decrypt_into(sslobj: Any, incoming: ssl.MemoryBIO, view: memoryview) -> tuple[int, bool]:
    """Fill ``view`` with the plaintext available now.

    ``sslobj`` is an ``ssl.SSLObject`` or what :func:`fast_reader` gave for one.

    Returns (bytes written, whether the peer's close_notify was reached).
    OpenSSL hands out one record (at most 16 KiB) per call, hence the loop.
    It stops as soon as OpenSSL holds no plaintext and ``incoming`` (the
    BIO ``sslobj`` reads from) is empty: one more read could only fail with
    "needs more input", and that exception is the dearest part of a small
    record's delivery. Errors other than "needs more input" and
    close_notify propagate.
    """
    size = view.nbytes
    filled = 0
    try:
        while filled < size:
            # With a buffer, SSLObject.read returns a count.
            count: int = sslobj.read(size - filled, view[filled:])
            if not count:
                return filled, True
            filled += count
            if not incoming.pending and not sslobj.pending():
                break
    except AGAIN:
        pass
    except ssl.SSLZeroReturnError:
        return filled, True
    return filled, False


def default_client_context(server_side: bool, server_hostname: str | None) -> ssl.SSLContext:
    """The context used for ``ssl=True``: verify certificates, and the host
    name unless the caller passed ``server_hostname=''`` (or nothing)."""
    if server_side:
        raise ValueError("Server side SSL needs a valid SSLContext")
    context = ssl.create_default_context()
    if not server_hostname:
        context.check_hostname = False
    return context
