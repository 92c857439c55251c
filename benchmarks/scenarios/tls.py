"""TLS echo over loopback TCP, Protocol server, 1 KiB messages.

The load generator's clients speak TLS (the stdlib ``ssl`` module, the same
for every loop); the server is ``create_server(..., ssl=context)`` on the
loop under test. The reported value is the server process's CPU time per
request (µs). On a loopkit without its TLS layer
(``loopkit.transports.tls.layer``) the scenario is reported as skipped for
loopkit only.
"""

from __future__ import annotations

import importlib.util

from benchmarks.scenarios._echo import echo_scenario, is_loopkit, measure_echo, serve_protocol
from benchmarks.scenarios._registry import LoopFactory, Sample, Skipped


def _require_tls_layer(new_loop: LoopFactory) -> None:
    if is_loopkit(new_loop) and importlib.util.find_spec("loopkit.transports.tls.layer") is None:
        raise Skipped("tls layer missing (no loopkit.transports.tls.layer in this tree)")


@echo_scenario("tls_proto_1k", "tls", size=8_000, quick_size=400)
def tls_proto_1k(new_loop: LoopFactory, n: int) -> Sample:
    """TLS echo, 1 KiB messages, Protocol server (server CPU µs/request)."""
    _require_tls_layer(new_loop)
    return measure_echo(new_loop, n, serve_protocol, "tls", 1024)
