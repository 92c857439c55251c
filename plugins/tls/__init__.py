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

from loopkit.plugin import hookimpl, lazy_method


@hookimpl
def loopkit_provides() -> list[str]:
    """The loop method this plugin adds (read to explain it on loops without it)."""
    return ["start_tls"]


@hookimpl
def loopkit_loop_methods() -> dict[str, Any]:
    """``start_tls``: the shared TLS layer's upgrade of a stream transport."""
    # Looked up in loopkit.plugin on first use: the TLS layer and the
    # transports it works on are imported only by a loop that upgrades.
    return {"start_tls": lazy_method("loopkit.plugin")}
