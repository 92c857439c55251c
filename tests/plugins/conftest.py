"""Certificates shared by every transport family's TLS tests.

TCP and Unix connections go through the same TLS layer, so their tests use
the same test authority and contexts: one CA per session (making keys is the
slow part), a server certificate for both ``localhost`` and ``127.0.0.1``,
and a client context that trusts the CA with hostname checking on.

Every test of the tcp, unix, udp, pipes and subprocess suites runs with
blockbuster active (``no_blocking_in_loop``, from :mod:`noblocking`): a
blocking call in the loop thread fails it.
"""

from __future__ import annotations

import os
import ssl
import sys

import pytest

# The blockbuster fixture (noblocking.py) is this folder's; pytest's
# importlib mode puts no test folder on sys.path, so it is added here.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from noblocking import no_blocking_in_loop  # noqa: E402

trustme = pytest.importorskip("trustme")

__all__ = ["no_blocking_in_loop"]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="session")
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx
