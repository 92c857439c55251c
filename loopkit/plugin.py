"""The public plugin API: everything a loopkit plugin imports from loopkit.

A plugin, built in or third party, imports this module and nothing else of
loopkit. What is here is documented (docs/plugin-authoring.rst and the API
reference), typed, and kept stable; nothing a plugin does reaches the kernel
any other way, and no plugin reads or writes an underscore attribute of a
loop (the test suite checks the built-in ones).

What it offers:

* the hook marker :data:`hookimpl` and the hook specifications
  (:class:`LoopkitSpec`);
* the poller contract (:class:`Poller`, :class:`PollerInfo` and the event
  bits);
* the kernel services of a loop (:func:`services`, :class:`LoopServices`):
  fd watching with and without the public methods' checks, fd ownership,
  the debug flag, per-plugin per-loop state (also :func:`loop_states`, for
  loop methods that read it on every call), shared buffers, scheduling a
  kept handle, the loop's helper threads for calls that may block, and the
  iteration-observer seam (:class:`IterationObserver`);
* the backend records of the resolver and executor hooks
  (:class:`ResolverInfo`, :class:`ExecutorInfo`, :func:`executor_factory`);
* the transport base classes and shared transports of
  :mod:`loopkit.transports` (:class:`TransportBase`,
  :class:`WriteFlowControl`, :class:`StreamTransport`,
  :class:`DatagramTransport`, the pipe transports, :class:`Server`, the TLS
  wiring and ``start_tls``) and the socket-readiness helpers of the
  ``sock_*`` calls (:data:`TRY_AGAIN`, :func:`watched`,
  :func:`retry_when_ready`, :func:`connect_socket`);
* :func:`lazy_method`, a loop method imported on first use;
* the errors a plugin raises or lets through.

This module only gathers names; the code lives where its layer is
(``loopkit.core`` for the kernel side, :mod:`loopkit.transports` for
transports). The transport names and ``lazy_method`` are imported on first
use, so that a plugin that needs none of them (a poller) does not load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopkit.core.backends import ExecutorInfo, ResolverInfo
from loopkit.core.errors import (
    AssemblyError,
    LoopkitError,
    PluginNotEnabledError,
    UnknownNameError,
)
from loopkit.core.hookspecs import LoopkitSpec, hookimpl
from loopkit.core.poller import (
    EVENT_ERROR,
    EVENT_READ,
    EVENT_WRITE,
    MAX_POLL_TIMEOUT,
    Poller,
    PollerInfo,
)
from loopkit.core.services import (
    IterationObserver,
    LoopServices,
    executor_factory,
    existing_services,
    loop_states,
    services,
)

if TYPE_CHECKING:
    from loopkit.core.lazymethods import LazyMethod, lazy_method
    from loopkit.transports import (
        DEFAULT_HIGH_WATER,
        TRY_AGAIN,
        DatagramTransport,
        PipeTransportBase,
        ReadPipeTransport,
        Server,
        StreamTransport,
        TransportBase,
        WriteFlowControl,
        WritePipeTransport,
        check_not_ssl_socket,
        connect_socket,
        make_transport,
        pipe_kind,
        retry_when_ready,
        start_tls,
        wake_waiter,
        watched,
        water_marks,
        wire_stream,
    )

__all__ = [
    "DEFAULT_HIGH_WATER",
    "EVENT_ERROR",
    "EVENT_READ",
    "EVENT_WRITE",
    "MAX_POLL_TIMEOUT",
    "TRY_AGAIN",
    "AssemblyError",
    "DatagramTransport",
    "ExecutorInfo",
    "IterationObserver",
    "LazyMethod",
    "LoopServices",
    "LoopkitError",
    "LoopkitSpec",
    "PipeTransportBase",
    "PluginNotEnabledError",
    "Poller",
    "PollerInfo",
    "ReadPipeTransport",
    "ResolverInfo",
    "Server",
    "StreamTransport",
    "TransportBase",
    "UnknownNameError",
    "WriteFlowControl",
    "WritePipeTransport",
    "check_not_ssl_socket",
    "connect_socket",
    "executor_factory",
    "existing_services",
    "hookimpl",
    "lazy_method",
    "loop_states",
    "make_transport",
    "pipe_kind",
    "retry_when_ready",
    "services",
    "start_tls",
    "wake_waiter",
    "watched",
    "water_marks",
    "wire_stream",
]


#: Imported on first use too: only plugins that defer a method need them.
_LAZY_METHOD_NAMES = ("LazyMethod", "lazy_method")


def __getattr__(name: str) -> Any:
    """The names of :mod:`loopkit.transports` and ``lazy_method``, imported on first use.

    Any other name fails without importing the package: the import system
    asks every module it imports from for ``__path__`` (``from loopkit.plugin
    import hookimpl``), which must not load the transports.
    """
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _LAZY_METHOD_NAMES:
        from loopkit.core import lazymethods

        value = globals()[name] = getattr(lazymethods, name)
        return value
    import loopkit.transports

    if name in loopkit.transports.EXPORTS:
        value = getattr(loopkit.transports, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
