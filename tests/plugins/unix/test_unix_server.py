"""create_unix_server: stale files, the socket file on close (per version), sock=, serving."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
import serverclose
from noblocking import own_blocking_call
from unixhelpers import REMOVED_ON_CLOSE, Echo, echo_once

from loopkit.transports.server import Server


def test_a_stale_socket_file_is_replaced(run_any: Any, tmp_path: Path) -> None:
    """A socket file left by a dead server does not stop a new one binding there."""
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as old:
        old.bind(path)
    assert os.path.exists(path)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path)
        assert await echo_once(path) == b"ping"
        server.close()
        await server.wait_closed()

    run_any(main())


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_anything_but_a_socket_at_the_path_is_address_in_use(
    run_any: Any, tmp_path: Path, kind: str
) -> None:
    """Only socket files are replaced; the other file stays untouched."""
    path = tmp_path / "taken"
    if kind == "file":
        path.write_text("precious")
    else:
        path.mkdir()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(OSError, match="already in use") as info:
            await loop.create_unix_server(Echo, str(path))
        assert info.value.errno == errno.EADDRINUSE
        assert repr(str(path)) in str(info.value)

    run_any(main())
    assert path.read_text() == "precious" if kind == "file" else path.is_dir()


def test_closing_treats_the_socket_file_as_this_pythons_asyncio(
    run_any: Any, tmp_path: Path
) -> None:
    """Removed on close from 3.13 on (asyncio's ``cleanup_socket=True``); left
    in place on 3.11 and 3.12, where asyncio leaves it: see docs/unix.rst."""
    path = tmp_path / "s"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path)
        assert own_blocking_call(path.is_socket)
        server.close()
        await server.wait_closed()  # the file is removed by then, not at once

    run_any(main())
    assert path.exists() != REMOVED_ON_CLOSE


@pytest.mark.skipif(REMOVED_ON_CLOSE, reason="3.11 / 3.12: the file stays on close")
def test_before_313_the_file_left_on_close_is_replaced_by_the_next_server(
    run_any: Any, tmp_path: Path
) -> None:
    path = str(tmp_path / "s")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        first = await loop.create_unix_server(Echo, path)
        first.close()
        await first.wait_closed()
        assert own_blocking_call(os.path.exists, path)
        second = await loop.create_unix_server(Echo, path)
        assert await echo_once(path) == b"ping"
        second.close()
        await second.wait_closed()

    run_any(main())
    assert Path(path).is_socket()


@pytest.mark.skipif(not REMOVED_ON_CLOSE, reason="removal on close is 3.13+")
def test_a_relative_path_is_removed_even_after_a_chdir(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """loopkit remembers the absolute path (asyncio 3.13 looks the relative
    one up again after the chdir, and misses the file)."""
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, "s")
        os.chdir(tmp_path / "a")
        server.close()
        await server.wait_closed()

    run(main())
    assert not (tmp_path / "s").exists()


@pytest.mark.skipif(not REMOVED_ON_CLOSE, reason="removal on close is 3.13+")
def test_a_newer_socket_file_at_the_path_is_not_removed(run_any: Any, tmp_path: Path) -> None:
    """If another server has taken the path since, its file (another inode) stays."""
    path = str(tmp_path / "s")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        first = await loop.create_unix_server(Echo, path)
        second = await loop.create_unix_server(Echo, path)  # replaces first's file
        first.close()
        await first.wait_closed()
        assert own_blocking_call(os.path.exists, path)
        assert await echo_once(path) == b"ping"  # the second still serves
        second.close()
        await second.wait_closed()
        assert not own_blocking_call(os.path.exists, path)  # gone once wait_closed returns

    run_any(main())


def test_a_server_on_a_given_sock_treats_its_file_the_same(run_any: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, sock=sock)
        assert await echo_once(path) == b"ping"
        server.close()
        await server.wait_closed()

    run_any(main())
    assert sock.fileno() == -1
    assert os.path.exists(path) != REMOVED_ON_CLOSE


@pytest.mark.skipif(sys.version_info < (3, 13), reason="cleanup_socket is new in 3.13")
def test_cleanup_socket_false_keeps_the_file(run_any: Any, tmp_path: Path) -> None:
    path = tmp_path / "s"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path, cleanup_socket=False)
        server.close()
        await server.wait_closed()

    run_any(main())
    assert path.is_socket()


@pytest.mark.skipif(sys.version_info < (3, 13), reason="cleanup_socket is new in 3.13")
def test_cleanup_matches_asyncio_on_313(run_any: Any, tmp_path: Path) -> None:
    path = tmp_path / "s"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path, cleanup_socket=True)
        server.close()
        await server.wait_closed()

    run_any(main())
    assert not path.exists()


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="cleanup_socket exists from 3.13 on")
def test_no_cleanup_socket_keyword_before_313(run_any: Any, tmp_path: Path) -> None:
    """As asyncio's signature of that version: the keyword is refused."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(TypeError, match="cleanup_socket"):
            await loop.create_unix_server(Echo, tmp_path / "s", cleanup_socket=True)

    run_any(main())
    assert not (tmp_path / "s").exists()


def test_server_is_tcps_server(run: Any, tmp_path: Path) -> None:
    """No second Server: the unix one is tcp's, extended only by the cleanup."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, tmp_path / "s")
        assert isinstance(server, Server)
        assert isinstance(server, asyncio.AbstractServer)
        server.close()
        await server.wait_closed()

    run(main())


def test_start_serving_false_then_serve_forever(run_any: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "s")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path, start_serving=False)
        assert not server.is_serving()
        forever = asyncio.ensure_future(server.serve_forever())
        await asyncio.sleep(0)
        assert server.is_serving()
        assert await echo_once(path) == b"ping"
        forever.cancel()
        with pytest.raises(asyncio.CancelledError):
            await forever
        assert not server.is_serving()
        assert server.sockets == ()

    run_any(main())


def unix_server_at(path: str) -> serverclose.StartServer:
    async def start(factory: Any) -> asyncio.AbstractServer:
        return await asyncio.get_running_loop().create_unix_server(factory, path)

    return start


async def connect_unix(server: asyncio.AbstractServer) -> tuple[Any, asyncio.StreamWriter]:
    return await asyncio.open_unix_connection(server.sockets[0].getsockname())


def test_wait_closed_after_close_with_a_client_connected(run_any: Any, tmp_path: Path) -> None:
    """Returns at once on 3.11, waits for the client from 3.12 on: as asyncio."""
    start = unix_server_at(str(tmp_path / "s"))
    run_any(serverclose.close_with_a_client_connected(start, connect_unix))


def test_wait_closed_on_an_idle_server_waits_for_close(run_any: Any, tmp_path: Path) -> None:
    run_any(serverclose.wait_on_an_idle_server(unix_server_at(str(tmp_path / "s"))))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "path was not specified, and no sock specified"),
        ({"ssl": True}, TypeError, "ssl argument must be an SSLContext or None"),
        ({"ssl_handshake_timeout": 1}, ValueError, "ssl_handshake_timeout is only meaningful"),
        ({"ssl_shutdown_timeout": 1}, ValueError, "ssl_shutdown_timeout is only meaningful"),
    ],
)
def test_argument_checks(
    run_any: Any, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(error, match=message):
            await loop.create_unix_server(Echo, **kwargs)

    run_any(main())


def test_sock_must_be_a_unix_stream_socket(run_any: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with (
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock,
            pytest.raises(ValueError, match="A UNIX Domain Stream Socket was expected"),
        ):
            await loop.create_unix_server(Echo, sock=sock)

    run_any(main())


def test_path_and_sock_are_exclusive(run_any: Any, tmp_path: Path) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with (
            socket.socket(socket.AF_UNIX) as sock,
            pytest.raises(ValueError, match="path and sock can not be specified"),
        ):
            await loop.create_unix_server(Echo, str(tmp_path / "s"), sock=sock)

    run_any(main())
    assert not (tmp_path / "s").exists()
