"""loopkit-seqpacket: message-preserving Unix-socket connections for loopkit.

A third-party loopkit plugin with a whole transport family: it adds
``loop.create_seqpacket_connection(protocol_factory, path)`` and
``loop.create_seqpacket_server(protocol_factory, path)``, the
``SOCK_SEQPACKET`` counterparts of ``create_unix_connection`` and
``create_unix_server``. A seqpacket connection is reliable and ordered like
a stream, but it keeps message boundaries: each ``transport.write(data)``
is one message, and each ``protocol.data_received(data)`` is one whole
message.

It is loopkit's sample of a transport plugin (docs/writing-a-transport-plugin.rst)
and imports nothing of loopkit but :mod:`loopkit.plugin`. The modules:

* :mod:`loopkit_seqpacket.transport`: the transport, on loopkit's
  :class:`~loopkit.plugin.WriteFlowControl` base;
* :mod:`loopkit_seqpacket.connect`: ``create_seqpacket_connection``;
* :mod:`loopkit_seqpacket.server`: ``create_seqpacket_server`` and its
  :class:`~loopkit.plugin.Server`.

This module holds the hooks only, and must stay cheap to import: loopkit
imports it only when a loop enables the plugin, and asks
:func:`loopkit_provides` without assembling anything.
"""

from __future__ import annotations

from typing import Any

from loopkit.plugin import hookimpl

#: The loop methods this plugin adds (constants: loopkit_provides answers them).
METHODS = ("create_seqpacket_connection", "create_seqpacket_server")


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop methods this plugin adds, so that a loop which excludes it
    explains them (PluginNotEnabledError) instead of an AttributeError."""
    return list(METHODS)


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """The loop methods, imported only when a loop enables the plugin."""
    from loopkit_seqpacket.connect import create_seqpacket_connection
    from loopkit_seqpacket.server import create_seqpacket_server

    return {
        "create_seqpacket_connection": create_seqpacket_connection,
        "create_seqpacket_server": create_seqpacket_server,
    }
