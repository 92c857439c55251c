"""Safe defaults: what loopkit does when the caller says nothing special.

* ``ssl=True`` is a default context: it verifies the certificate chain and
  the host name. The name checked is the host connected to, unless
  ``server_hostname`` says otherwise; only ``server_hostname=''``, given
  explicitly, turns the name check off (the chain is still verified).
* A Unix server never removes a path that is not its own socket file.
* A loop without the subprocess plugin offers no way through its API to
  start a process (docs/decisions.rst, "Capability boundaries").

The TLS checks run on asyncio's loop as well, which shows the expectations
are asyncio's; on loopkit they wait for the TLS layer to be merged.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

import loopkit
from loopkit.core.errors import PluginNotEnabledError

HAS_TLS_LAYER = importlib.util.find_spec("loopkit.transports.tls.layer") is not None

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "loopkit": loopkit.new_event_loop,
}


@pytest.fixture(
    params=[
        "asyncio",
        pytest.param(
            "loopkit",
            marks=pytest.mark.skipif(
                not HAS_TLS_LAYER,
                reason="the TLS layer (loopkit.transports.tls.layer) is not merged yet",
            ),
        ),
    ]
)
def tls_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    new_loop = LOOPS[request.param]()
    try:
        yield new_loop
    finally:
        new_loop.close()


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def tls_server_for(loop: asyncio.AbstractEventLoop, authority: trustme.CA) -> asyncio.Server:
    """A TLS echo-less server on 127.0.0.1 whose certificate names only "localhost"."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    return loop.run_until_complete(
        loop.create_server(asyncio.Protocol, "127.0.0.1", 0, ssl=context)
    )


def connect(loop: asyncio.AbstractEventLoop, server: asyncio.Server, **options: Any) -> None:
    """Connect with ``options`` and hang up; raise whatever connecting raised."""

    async def attempt() -> None:
        host, port = server.sockets[0].getsockname()[:2]
        transport, _ = await loop.create_connection(asyncio.Protocol, host, port, **options)
        transport.close()
        await asyncio.sleep(0)

    loop.run_until_complete(asyncio.wait_for(attempt(), 10))


def trusting(authority: trustme.CA, check_hostname: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    context.check_hostname = check_hostname
    return context


@pytest.fixture
def serving(tls_loop: asyncio.AbstractEventLoop, authority: trustme.CA) -> Iterator[asyncio.Server]:
    server = tls_server_for(tls_loop, authority)
    try:
        yield server
    finally:
        server.close()
        tls_loop.run_until_complete(server.wait_closed())


@pytest.mark.parametrize("server_hostname", [None, "localhost", ""])
def test_ssl_true_verifies_the_certificate_chain(
    tls_loop: asyncio.AbstractEventLoop, serving: asyncio.Server, server_hostname: str | None
) -> None:
    """The client does not trust this authority: refused, whatever the host name."""
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        connect(tls_loop, serving, ssl=True, server_hostname=server_hostname)


def test_the_host_connected_to_is_the_name_checked_by_default(
    tls_loop: asyncio.AbstractEventLoop, serving: asyncio.Server, authority: trustme.CA
) -> None:
    """Trusted chain, but the certificate names "localhost", not 127.0.0.1."""
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        connect(tls_loop, serving, ssl=trusting(authority))


def test_a_wrong_server_hostname_is_refused(
    tls_loop: asyncio.AbstractEventLoop, serving: asyncio.Server, authority: trustme.CA
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        connect(tls_loop, serving, ssl=trusting(authority), server_hostname="other.example")


def test_the_right_server_hostname_is_accepted(
    tls_loop: asyncio.AbstractEventLoop, serving: asyncio.Server, authority: trustme.CA
) -> None:
    connect(tls_loop, serving, ssl=trusting(authority), server_hostname="localhost")


@pytest.mark.parametrize("check_hostname", [True, False])
def test_only_an_explicit_empty_server_hostname_turns_the_name_check_off(
    tls_loop: asyncio.AbstractEventLoop,
    serving: asyncio.Server,
    authority: trustme.CA,
    check_hostname: bool,
) -> None:
    connect(tls_loop, serving, ssl=trusting(authority, check_hostname), server_hostname="")


# ----------------------------------------------------------------------
# Unix servers and the files at their paths
# ----------------------------------------------------------------------


def test_a_unix_server_does_not_remove_a_file_that_replaced_its_socket(
    loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    """Someone put a regular file where the socket was: closing leaves it alone."""
    path = tmp_path / "sock"

    async def main() -> None:
        server = await loop.create_unix_server(asyncio.Protocol, str(path))
        path.unlink()
        path.write_text("precious")
        server.close()
        await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(main(), 10))
    assert path.read_text() == "precious"


def test_a_unix_server_does_not_remove_a_symlink_target_or_a_regular_file_in_its_way(
    loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    """A path that is a symlink to a regular file is in use; both stay."""
    target = tmp_path / "target"
    target.write_text("precious")
    link = tmp_path / "link"
    link.symlink_to(target)

    async def main() -> None:
        with pytest.raises(OSError, match="already in use"):
            await loop.create_unix_server(asyncio.Protocol, str(link))

    loop.run_until_complete(asyncio.wait_for(main(), 10))
    assert link.is_symlink()
    assert target.read_text() == "precious"


# ----------------------------------------------------------------------
# A loop without the subprocess plugin cannot start a process
# ----------------------------------------------------------------------

#: Every loop method through which asyncio starts a process.
PROCESS_METHODS = ("subprocess_exec", "subprocess_shell")


def _loop_without_subprocess() -> asyncio.AbstractEventLoop:
    installed = loopkit.assemble().providers.get("subprocess_exec") is not None
    return loopkit.new_event_loop(exclude=["subprocess"] if installed else None)


def test_a_loop_without_the_subprocess_plugin_refuses_to_start_processes(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran"
    command = f"touch {marker}"
    trimmed = _loop_without_subprocess()
    try:
        assert trimmed._loopkit_assembly.providers.get("subprocess_exec") is None  # type: ignore[attr-defined]
        for name in PROCESS_METHODS:
            with pytest.raises(PluginNotEnabledError, match="'subprocess' plugin"):
                trimmed.run_until_complete(
                    getattr(trimmed, name)(asyncio.SubprocessProtocol, command)
                )

        async def through_asyncio() -> None:
            with pytest.raises(PluginNotEnabledError):
                await asyncio.create_subprocess_exec("touch", str(marker))
            with pytest.raises(PluginNotEnabledError):
                await asyncio.create_subprocess_shell(command)

        trimmed.run_until_complete(through_asyncio())
    finally:
        trimmed.close()
    assert not marker.exists()


def test_no_method_of_a_trimmed_loop_comes_from_the_subprocess_plugin() -> None:
    """The capability boundary is the plugin: no other plugin provides a way in."""
    trimmed = _loop_without_subprocess()
    try:
        providers: dict[str, str] = trimmed._loopkit_assembly.providers  # type: ignore[attr-defined]
        assert "subprocess" not in set(providers.values())
        assert not [name for name in providers if "subprocess" in name or "process" in name]
    finally:
        trimmed.close()
