"""TLS over Unix sockets: ``ssl=`` of create_unix_connection and create_unix_server.

There is one TLS layer (loopkit.transports.tls.layer) over any stream transport;
these tests check that Unix connections go through it like TCP ones do. They
are skipped until that layer is in the tree.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest
from unixhelpers import Collector, Echo

import loopkit

pytest.importorskip("loopkit.transports.tls.layer")
trustme = pytest.importorskip("trustme")


def test_echo_over_tls(run_any: Any, tmp_path: Path, server_ctx: Any, client_ctx: Any) -> None:
    path = str(tmp_path / "tls.sock")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path, ssl=server_ctx, ssl_handshake_timeout=5)
        transport, proto = await loop.create_unix_connection(
            Collector, path, ssl=client_ctx, server_hostname="localhost"
        )
        assert transport.get_extra_info("sslcontext") is client_ctx
        assert ("DNS", "localhost") in transport.get_extra_info("peercert")["subjectAltName"]
        transport.write(b"secret over a unix socket")
        assert await proto.receive(25) == b"secret over a unix socket"
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()

    run_any(main())


def test_streams_over_tls(run_any: Any, tmp_path: Path, server_ctx: Any, client_ctx: Any) -> None:
    path = tmp_path / "tls-streams.sock"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        server = await asyncio.start_unix_server(handle, path, ssl=server_ctx)
        reader, writer = await asyncio.open_unix_connection(
            path, ssl=client_ctx, server_hostname="localhost"
        )
        writer.write(b"quiet please\n")
        assert await reader.readline() == b"QUIET PLEASE\n"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run_any(main())


def test_wrong_host_name_fails_the_handshake_only(
    run_any: Any, tmp_path: Path, server_ctx: Any, client_ctx: Any
) -> None:
    """A failed verification is the caller's SSLCertVerificationError; the server,
    and a later good connection, are unaffected."""
    path = str(tmp_path / "tls.sock")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path, ssl=server_ctx)
        with pytest.raises(ssl.SSLCertVerificationError):
            await loop.create_unix_connection(
                Collector, path, ssl=client_ctx, server_hostname="not-this-host"
            )
        transport, proto = await loop.create_unix_connection(
            Collector, path, ssl=client_ctx, server_hostname="localhost"
        )
        transport.write(b"ok")
        assert await proto.receive(2) == b"ok"
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()

    run_any(main())


@pytest.mark.parametrize(
    "choices",
    [{}, {"exclude": ["tcp"]}, {"plugins": ["unix"]}],
    ids=["default", "without-tcp", "unix-only"],
)
def test_start_tls_on_a_unix_connection(
    tmp_path: Path, server_ctx: Any, client_ctx: Any, choices: dict[str, Any]
) -> None:
    """Plain first, then upgraded in place with loop.start_tls / StreamWriter.start_tls,
    also on loops without the tcp plugin: start_tls belongs to the tls plugin."""
    path = str(tmp_path / "starttls.sock")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readline() == b"STARTTLS\n"
        writer.write(b"GO\n")
        await writer.drain()
        await writer.start_tls(server_ctx)
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        server = await asyncio.start_unix_server(handle, path)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"STARTTLS\n")
        assert await reader.readline() == b"GO\n"
        await writer.start_tls(client_ctx, server_hostname="localhost")
        assert writer.get_extra_info("sslcontext") is client_ctx
        writer.write(b"now encrypted\n")
        assert await reader.readline() == b"now encrypted\n"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    loop = loopkit.new_event_loop(**choices)
    try:
        if choices:
            with pytest.raises(loopkit.PluginNotEnabledError, match="'tcp' plugin"):
                loop.create_server(asyncio.Protocol)  # type: ignore[call-arg]
        loop.run_until_complete(asyncio.wait_for(main(), 10))
    finally:
        loop.close()
