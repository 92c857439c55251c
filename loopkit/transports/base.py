"""The lifecycle every loopkit transport shares: :class:`TransportBase`.

A transport is born owning one fd (a socket, a pipe), hands events to one
protocol, and dies exactly once. What that takes is the same for a stream,
a datagram endpoint, a read pipe and a write pipe, and it lives here:

* the loop, the protocol (``get_protocol`` / ``set_protocol``), the extra
  info (``get_extra_info``; its dict ``_extra`` is made on first use, see
  :meth:`TransportBase._make_extra`) and the closing flag (``is_closing``);
* the kernel services, bound once per transport: ``_add_reader``,
  ``_add_writer``, ``_remove_reader``, ``_remove_writer`` are the kernel's
  own methods (no ownership check: the transport owns its fd), so a hot path
  calls them at the kernel's price;
* fd ownership (:meth:`TransportBase._claim_fd` / :meth:`TransportBase._release_fd`),
  which makes the public ``add_reader`` and the ``sock_*`` calls refuse the
  fd while the transport lives, as asyncio does;
* fatal errors: an error that is how a transport normally ends (an
  ``OSError`` by default, see :meth:`TransportBase._is_quiet`) is logged in
  debug mode only; anything else goes to the loop's exception handler, with
  the transport and the protocol in the context, as asyncio reports it;
* ``connection_lost`` exactly once, from a fresh callback
  (:meth:`TransportBase._schedule_connection_lost`), then the fd is given up
  and closed (:meth:`TransportBase._connection_lost_done`);
* the ``ResourceWarning`` of a transport collected while still open.

A subclass (the built-in stream, datagram and pipe transports, or a third
party's) provides :meth:`TransportBase._force_close` (close at once, used by
``abort`` and fatal errors), :meth:`TransportBase._open_resource` (the object
to close, or None once closed) and usually extends
:meth:`TransportBase._connection_lost_done`.

What it must never do: call a protocol method twice for one event, let a
protocol's exception escape into the loop, or touch a private attribute of
the loop (it reaches the kernel through :func:`loopkit.plugin.services`).
"""

from __future__ import annotations

import warnings
from asyncio import futures
from asyncio.log import logger
from typing import Any

from loopkit.core.services import LoopServices, services

__all__ = ["TransportBase", "wake_waiter"]


def wake_waiter(waiter: futures.Future[Any]) -> None:
    """Resolve ``waiter`` (a transport's "ready" future) unless whoever
    awaited it gave up (cancelled it)."""
    if not waiter.cancelled():
        waiter.set_result(None)


class TransportBase:
    """The lifecycle half of a transport; mix it in *before* an asyncio
    transport class (``class MyTransport(TransportBase, asyncio.Transport)``).

    Instance attributes a subclass may read: ``_loop``, ``_protocol``,
    ``_extra`` (a property: the extra-info dict, made on first use),
    ``_closing``, ``_services`` (the loop's
    :class:`~loopkit.core.services.LoopServices`) and the four bound watcher
    methods ``_add_reader``, ``_add_writer``, ``_remove_reader``,
    ``_remove_writer``.
    """

    _loop: Any
    _protocol: Any
    #: The extra-info dict, or None until someone needs it (see ``_extra``).
    _extra_info: dict[str, Any] | None
    _closing: bool
    _lost_scheduled: bool
    _services: LoopServices

    def __init__(
        self, loop: Any, protocol: Any = None, extra: dict[str, Any] | None = None
    ) -> None:
        self._extra_info = dict(extra) if extra else None
        self._loop = loop
        self._protocol = protocol
        self._closing = False
        self._lost_scheduled = False
        kernel = self._services = services(loop)
        # Bound once per transport: the calls a hot path makes cost what
        # the kernel's own calls cost.
        self._add_reader = kernel.add_reader
        self._add_writer = kernel.add_writer
        self._remove_reader = kernel.remove_reader
        self._remove_writer = kernel.remove_writer

    # ------------------------------------------------------------------
    # asyncio.BaseTransport
    # ------------------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Optional transport information (``socket``, ``peername``, ``pipe``...)."""
        extra = self._extra_info
        if extra is None:
            extra = self._extra
        return extra.get(name, default)

    @property
    def _extra(self) -> dict[str, Any]:
        """The extra-info dict (asyncio's name for it), made on first use.

        A server may hold thousands of idle connections whose extra info
        nobody asks for: the dict and what a subclass would put in it are
        made only when read (see :meth:`_make_extra`).
        """
        extra = self._extra_info
        if extra is None:
            extra = self._extra_info = self._make_extra()
        return extra

    @_extra.setter
    def _extra(self, extra: dict[str, Any]) -> None:
        self._extra_info = extra

    def get_protocol(self) -> Any:
        """The protocol receiving this transport's events (None once lost)."""
        return self._protocol

    def set_protocol(self, protocol: Any) -> None:
        """Deliver further events to ``protocol``."""
        self._protocol = protocol

    def is_closing(self) -> bool:
        """True once closing, aborting or failed."""
        return self._closing

    # ------------------------------------------------------------------
    # For subclasses
    # ------------------------------------------------------------------

    def _make_extra(self) -> dict[str, Any]:
        """The extra-info dict, when first needed; a subclass adds what it
        can still learn then (the stream transport: its socket's address)."""
        return {}

    def _force_close(self, exc: BaseException | None) -> None:
        """Stop everything now and schedule ``connection_lost(exc)``."""
        raise NotImplementedError

    def _open_resource(self) -> Any:
        """The object that owns the fd (socket, pipe), or None once closed."""
        raise NotImplementedError

    def _claim_fd(self, fd: int) -> None:
        """Make this transport the owner of ``fd`` (see ``LoopServices.claim_fd``)."""
        self._services.claim_fd(fd, self)

    def _release_fd(self, fd: int) -> None:
        """Give ``fd`` up, if this transport still owns it."""
        self._services.release_fd(fd, self)

    def _report(self, message: str, exc: BaseException) -> None:
        """Hand ``exc`` to the loop's exception handler, naming this transport."""
        self._loop.call_exception_handler(
            {"message": message, "exception": exc, "transport": self, "protocol": self._protocol}
        )

    def _is_quiet(self, exc: BaseException) -> bool:
        """Whether ``exc`` is an ordinary end (logged in debug mode only).

        An ``OSError`` (reset, broken pipe, ...) is how a peer leaves, as
        asyncio sees it; override for another rule.
        """
        return isinstance(exc, OSError)

    def _fatal_error(self, exc: BaseException, message: str) -> None:
        """End this transport because of ``exc``, reporting it unless quiet."""
        if self._is_quiet(exc):
            if self._loop.get_debug():
                logger.debug("%r: %s", self, message, exc_info=True)
        else:
            self._report(message, exc)
        self._force_close(exc)

    def _schedule_connection_lost(self, exc: BaseException | None) -> None:
        """Arrange for ``connection_lost(exc)`` on the next iteration, once only.

        On a loop already closed no callback can run any more (a transport
        dropped after its loop was closed): the fd is just given up.
        """
        self._closing = True
        if self._lost_scheduled:
            return
        self._lost_scheduled = True
        if self._loop.is_closed():
            self._connection_lost_done()
            return
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        if self._open_resource() is None:
            return
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._connection_lost_done()

    def _connection_lost_done(self) -> None:
        """Release and close the fd and drop the protocol (after
        ``connection_lost``, whether it returned or raised)."""
        self._protocol = None

    # ------------------------------------------------------------------

    def __del__(self, _warn: Any = warnings.warn) -> None:
        try:
            resource = self._open_resource()
        except AttributeError:  # __init__ failed before the resource was set
            return
        if resource is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            resource.close()
