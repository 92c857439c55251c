"""Certificates shared by every transport family's TLS tests.

TCP and Unix connections go through the same TLS layer, so their tests use
the same test authority and contexts: one CA per session (making keys is the
slow part), a server certificate for both ``localhost`` and ``127.0.0.1``,
and a client context that trusts the CA with hostname checking on.
"""

from __future__ import annotations

import ssl

import pytest

trustme = pytest.importorskip("trustme")


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
