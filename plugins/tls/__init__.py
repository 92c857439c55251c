"""The tls plugin: ``loop.start_tls()`` for every stream family of the loop.

Upgrading a connection to TLS is not TCP's business: the TLS layer
(:mod:`loopkit.transports.tls`, reached through :mod:`loopkit.plugin`) runs
over any stream transport, TCP, Unix-domain or a third party's. So
``start_tls`` is a plugin of its own, required by the tcp and unix families,
and a loop trimmed to Unix sockets (``exclude=["tcp"]``) keeps it.

Importing this plugin does not import :mod:`ssl`: the layer loads it on
the first ``start_tls``.
"""

from __future__ import annotations

from typing import Any

from loopkit.plugin import hookimpl, start_tls


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop method this plugin adds (read to explain it on loops without it)."""
    return ["start_tls"]


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """``start_tls``: the shared TLS layer's upgrade of a stream transport."""
    return {"start_tls": start_tls}
