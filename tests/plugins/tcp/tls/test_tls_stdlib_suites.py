"""CPython's own asyncio TLS tests, run over loopkit's TLS layer.

Two ways, each in a subprocess:

* ``swapped``: asyncio's selector loop builds every TLS connection
  (create_connection, create_server, start_tls, connect_accepted_socket,
  sendfile's fallback) through ``asyncio.sslproto.SSLProtocol``; putting
  ``TLSProtocol`` in its place makes the stdlib suites drive this layer over
  a plain transport loopkit did not write.
* ``loopkit``: the suites on loopkit's own loop (its policy installed), once
  the tcp plugin provides the connections.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import loopkit

#: Tests that inspect asyncio's private internals, not behaviour, and why.
PRIVATE_INTERNALS = {
    (3, 13): {
        "test_sslproto.SslProtoHandshakeTests.test_close_during_handshake": (
            "asserts the transport below had its private _force_close() called;"
            " the layer ends it with the public abort() instead"
        ),
    },
}

_RUNNER = """
import asyncio.sslproto, sys, unittest

if sys.argv[1] == "swapped":
    from loopkit.transports.tls.layer import TLSProtocol

    asyncio.sslproto.SSLProtocol = TLSProtocol
else:
    import loopkit

    loopkit.install()
excluded = set(sys.argv[3:])

def keep(suite):
    kept = unittest.TestSuite()
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            kept.addTest(keep(test))
        elif not any(test.id().endswith(name) for name in excluded):
            kept.addTest(test)
    return kept

suite = keep(unittest.defaultTestLoader.loadTestsFromName(sys.argv[2]))
result = unittest.TextTestRunner(verbosity=1).run(suite)
sys.exit(0 if result.wasSuccessful() and result.testsRun else 1)
"""


def _excluded() -> list[str]:
    names: list[str] = []
    for version, tests in PRIVATE_INTERNALS.items():
        if sys.version_info[:2] >= version:
            names.extend(tests)
    return names


@pytest.mark.slow
@pytest.mark.parametrize("module", ["test_ssl", "test_sslproto"])
@pytest.mark.parametrize("how", ["swapped", "loopkit"])
def test_stdlib_suite_passes_over_this_layer(how: str, module: str) -> None:
    if how == "loopkit" and "tcp" not in loopkit.assemble().providers.values():
        pytest.skip("tcp plugin not merged")
    excluded = _excluded() if how == "swapped" else []
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, how, f"test.test_asyncio.{module}", *excluded],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
