"""The sample third-party plugin (loopkit-seqpacket) as a plugin author ships it.

Installed from its own distribution (tests/kit/conftest.py), it is found
through its entry point, listed by ``python -m loopkit`` with its
distribution and version, explained on a loop that excludes it, built on
the public plugin API only (the boundary test's checker), and it keeps
asyncio's rules for bad arguments. Its message semantics, which the stream
contract (test_sample_contract.py) does not look at, are checked here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from test_plugin_boundary import violations

import loopkit
from loopkit.testing import RecordingBufferedProtocol, RecordingProtocol

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SOCK_SEQPACKET") or not hasattr(socket, "AF_UNIX"),
    reason="needs AF_UNIX SOCK_SEQPACKET sockets",
)


class Messages(RecordingProtocol):
    """Keeps each data_received call apart: one entry per message."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.messages: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        self.messages.append(data)
        super().data_received(data)


class SmallBuffers(RecordingBufferedProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._buffer = bytearray(10)
        self.updates: list[int] = []

    def buffer_updated(self, nbytes: int) -> None:
        self.updates.append(nbytes)
        super().buffer_updated(nbytes)


@contextlib.asynccontextmanager
async def connected(
    loop: Any, path: str, server_class: type[RecordingProtocol] = Messages
) -> AsyncIterator[tuple[Any, RecordingProtocol]]:
    """A client transport and the server's protocol, over a new seqpacket server."""
    made: asyncio.Future[RecordingProtocol] = loop.create_future()

    def factory() -> RecordingProtocol:
        protocol = server_class(loop)
        made.set_result(protocol)
        return protocol

    server = await loop.create_seqpacket_server(factory, path)
    try:
        transport, _ = await loop.create_seqpacket_connection(lambda: Messages(loop), path)
        peer = await made
        await peer.made
        try:
            yield transport, peer
        finally:
            transport.close()
            await peer.lost
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def sample_loop(sample_on_path: Path) -> Any:
    loop = loopkit.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()


# -- the distribution ---------------------------------------------------------


def test_it_is_discovered_with_its_distribution_and_version(sample_on_path: Path) -> None:
    record = next(r for r in loopkit.assemble().plugins if r.name == "seqpacket")
    assert (record.distribution, record.version) == ("loopkit-seqpacket", "1.0.0")
    assert not record.builtin
    assert record.adds == ("create_seqpacket_connection", "create_seqpacket_server")


def test_python_m_loopkit_lists_it(sample_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loopkit"],
        capture_output=True,
        text=True,
        timeout=60,
        env=sample_env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "seqpacket    [loopkit-seqpacket 1.0.0] adds "
        "create_seqpacket_connection, create_seqpacket_server"
    ) in result.stdout


def test_a_loop_that_excludes_it_names_it(sample_on_path: Path) -> None:
    """Once a loop has had the plugin (here or in an earlier process: what it
    adds is remembered), a loop that leaves it out names it."""
    loopkit.new_event_loop().close()
    loop: Any = loopkit.new_event_loop(exclude=["seqpacket"])
    try:
        for method in ("create_seqpacket_connection", "create_seqpacket_server"):
            with pytest.raises(loopkit.PluginNotEnabledError) as caught:
                getattr(loop, method)
            message = str(caught.value)
            assert f"loop.{method} is provided by the 'seqpacket' plugin" in message
            assert "remove 'seqpacket' from exclude=" in message
    finally:
        loop.close()


def test_it_crosses_no_plugin_boundary(sample_on_path: Path) -> None:
    assert violations("loopkit_seqpacket", sample_on_path / "loopkit_seqpacket") == []


# -- messages -----------------------------------------------------------------


def test_each_write_is_one_message(sample_loop: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with connected(sample_loop, str(tmp_path / "s")) as (transport, peer):
            transport.write(b"one")
            transport.write(bytearray(b"two"))
            transport.writelines([b"three", memoryview(b"four")])
            transport.write(b"")  # nothing: an empty message would read as the end
            transport.write(b"x" * 100_000)
            await peer.received(3 + 3 + 5 + 4 + 100_000)
            assert isinstance(peer, Messages)
            assert peer.messages == [b"one", b"two", b"three", b"four", b"x" * 100_000]

    sample_loop.run_until_complete(asyncio.wait_for(main(), 10))


def test_a_message_over_the_limit_is_refused_and_the_connection_goes_on(
    sample_loop: Any, tmp_path: Path
) -> None:
    async def main() -> None:
        async with connected(sample_loop, str(tmp_path / "s")) as (transport, peer):
            limit = transport.get_extra_info("max_message_size")
            assert limit > 64 * 1024
            with pytest.raises(ValueError, match="max_message_size"):
                transport.write(b"x" * (limit + 1))
            with pytest.raises(TypeError, match="bytes-like"):
                transport.write("text")
            transport.write(b"y" * limit)
            assert await peer.received(limit) == b"y" * limit

    sample_loop.run_until_complete(asyncio.wait_for(main(), 10))


def test_a_buffered_protocol_gets_a_message_through_small_buffers(
    sample_loop: Any, tmp_path: Path
) -> None:
    async def main() -> None:
        path = str(tmp_path / "s")
        async with connected(sample_loop, path, SmallBuffers) as (transport, peer):
            transport.write(b"0123456789abcdefghijklm")
            assert await peer.received(23) == b"0123456789abcdefghijklm"
            assert isinstance(peer, SmallBuffers)
            assert peer.updates == [10, 10, 3]

    sample_loop.run_until_complete(asyncio.wait_for(main(), 10))


def test_a_connected_socket_can_be_wrapped(sample_loop: Any) -> None:
    async def main() -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            transport, protocol = await sample_loop.create_seqpacket_connection(
                lambda: Messages(sample_loop), sock=mine
            )
            theirs.send(b"hello")
            theirs.send(b"world")
            await protocol.received(10)
            assert protocol.messages == [b"hello", b"world"]
            transport.close()
            await protocol.lost

    sample_loop.run_until_complete(asyncio.wait_for(main(), 10))


# -- errors, as asyncio's create_unix_* have them ------------------------------


def test_connecting_to_nothing_is_the_connects_oserror(sample_loop: Any, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sample_loop.run_until_complete(
            sample_loop.create_seqpacket_connection(asyncio.Protocol, str(tmp_path / "none"))
        )


def test_bad_arguments_raise_what_asyncio_raises(sample_loop: Any, tmp_path: Path) -> None:
    run = sample_loop.run_until_complete
    with pytest.raises(TypeError, match="PathLike"):
        run(sample_loop.create_seqpacket_connection(asyncio.Protocol, 42))
    with pytest.raises(TypeError, match="PathLike"):
        run(sample_loop.create_seqpacket_server(asyncio.Protocol, 42))
    with pytest.raises(ValueError, match="no path and sock"):
        run(sample_loop.create_seqpacket_connection(asyncio.Protocol))
    with pytest.raises(ValueError, match="no sock specified"):
        run(sample_loop.create_seqpacket_server(asyncio.Protocol))
    with pytest.raises(TypeError, match="backlog"):
        run(sample_loop.create_seqpacket_server(asyncio.Protocol, "x", backlog="9"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stream:
        with pytest.raises(ValueError, match="SOCK_SEQPACKET socket was expected"):
            run(sample_loop.create_seqpacket_connection(asyncio.Protocol, sock=stream))
        with pytest.raises(ValueError, match="at the same time"):
            run(sample_loop.create_seqpacket_connection(asyncio.Protocol, "x", sock=stream))
    with pytest.raises(TypeError, match=r"a socket\.socket"):
        run(sample_loop.create_seqpacket_server(asyncio.Protocol, sock=3))


def test_a_server_path_in_a_missing_folder_fails_with_the_bind_error(
    sample_loop: Any, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        sample_loop.run_until_complete(
            sample_loop.create_seqpacket_server(asyncio.Protocol, str(tmp_path / "no" / "s"))
        )


def test_a_stale_socket_file_is_replaced_and_another_file_is_not(
    sample_loop: Any, tmp_path: Path
) -> None:
    stale = tmp_path / "stale"
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as old:
        old.bind(str(stale))
    other = tmp_path / "file"
    other.write_text("keep me")

    async def main() -> None:
        server = await sample_loop.create_seqpacket_server(asyncio.Protocol, stale)
        server.close()
        await server.wait_closed()
        with pytest.raises(OSError) as caught:
            await sample_loop.create_seqpacket_server(asyncio.Protocol, other)
        assert caught.value.errno == errno.EADDRINUSE
        assert other.read_text() == "keep me"

    sample_loop.run_until_complete(main())
    assert os.path.exists(stale)  # left in place on close, as asyncio before 3.13


def test_start_tls_refuses_a_seqpacket_transport(sample_loop: Any, tmp_path: Path) -> None:
    ssl = pytest.importorskip("ssl")

    async def main() -> None:
        async with connected(sample_loop, str(tmp_path / "s")) as (transport, _):
            context = ssl.create_default_context()
            with pytest.raises(TypeError, match="is not supported by start_tls"):
                await sample_loop.start_tls(transport, transport.get_protocol(), context)

    sample_loop.run_until_complete(asyncio.wait_for(main(), 10))
