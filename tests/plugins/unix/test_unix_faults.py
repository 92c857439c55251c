"""Faults and bad input over Unix sockets: each gets the error asyncio gives,
the loop and the other connections go on, and no fd is left (nor, where the
running Python's asyncio removes it on close, the socket file).

(The fd check is the autouse fixture of this directory's conftest.)
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from unixhelpers import REMOVED_ON_CLOSE, Collector, Echo, echo_once

import loopkit


def _sun_path_max() -> int:
    """The longest filesystem path a sockaddr_un holds on this system (107 on Linux)."""
    return 107 if sys.platform.startswith("linux") else 103


# ----------------------------------------------------------------------
# Bad paths
# ----------------------------------------------------------------------


def test_a_path_too_long_is_refused_by_both_calls(run_any: Any, tmp_path: Path) -> None:
    long_path = str(tmp_path / ("x" * (_sun_path_max() + 1 - len(str(tmp_path)))))
    assert len(long_path) > _sun_path_max()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(OSError, match="AF_UNIX path too long"):
            await loop.create_unix_server(Echo, long_path)
        with pytest.raises(OSError, match="AF_UNIX path too long"):
            await loop.create_unix_connection(Collector, long_path)

    run_any(main())
    assert os.listdir(tmp_path) == []


def test_the_longest_path_that_fits_works(run_any: Any, tmp_path: Path) -> None:
    path = str(tmp_path / ("y" * (_sun_path_max() - 1 - len(str(tmp_path)))))
    assert len(path) == _sun_path_max()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path)
        assert await echo_once(path) == b"ping"
        server.close()
        await server.wait_closed()

    run_any(main())


def test_a_missing_directory(run_any: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "no-such-dir" / "s")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(FileNotFoundError):
            await loop.create_unix_server(Echo, path)
        with pytest.raises(FileNotFoundError):
            await loop.create_unix_connection(Collector, path)

    run_any(main())


def test_connecting_to_a_directory_or_a_plain_file_is_refused(run_any: Any, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a socket")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for target in (tmp_path, tmp_path / "plain"):
            with pytest.raises(ConnectionRefusedError):
                await loop.create_unix_connection(Collector, target)

    run_any(main())


def test_connecting_to_a_socket_file_nobody_listens_on(run_any: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "dead")
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(path)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ConnectionRefusedError):
            await loop.create_unix_connection(Collector, path)

    run_any(main())


def test_an_embedded_nul_byte(run: Any, tmp_path: Path) -> None:
    """ValueError from os.stat, as asyncio; loopkit also closes the socket it made
    (asyncio's own loop leaves that to the garbage collector)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError, match="embedded null"):
            await loop.create_unix_server(Echo, str(tmp_path / "a\0b"))

    run(main())


# ----------------------------------------------------------------------
# No permission
# ----------------------------------------------------------------------

_PERMISSION_PROBE = r"""
import asyncio, json, sys
import loopkit

async def probe(server_path, socket_path):
    loop = asyncio.get_running_loop()
    found = {}
    try:
        server = await loop.create_unix_server(asyncio.Protocol, server_path)
        server.close()
        found["server"] = "created"
    except Exception as exc:
        found["server"] = [type(exc).__name__, exc.errno]
    try:
        transport, _ = await loop.create_unix_connection(asyncio.Protocol, socket_path)
        transport.close()
        found["connect"] = "connected"
    except Exception as exc:
        found["connect"] = [type(exc).__name__, exc.errno]
    return found

results = {}
for name, factory in (("asyncio", asyncio.new_event_loop), ("loopkit", loopkit.new_event_loop)):
    loop = factory()
    try:
        results[name] = loop.run_until_complete(probe(sys.argv[1], sys.argv[2]))
    finally:
        loop.close()
print(json.dumps(results))
"""


#: Linux capabilities that let root ignore file permissions.
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER = 1, 2, 3
_PR_CAPBSET_DROP = 24


def _drop_permission_overrides() -> None:
    """In the child, before exec: take the capabilities that bypass file
    permissions out of the bounding set, so the program exec'd runs as a root
    that file permissions do stop (it inherits no capability outside that set)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_no_permission(tmp_path: Path) -> None:
    """Binding in a directory we may not write to, or connecting to a socket file
    we may not write to, is a PermissionError (EACCES) under both loops.

    Root ignores file permissions, and these tests run as root: the probe then
    runs in a child process without the capabilities that let it (on Linux),
    so the permission checks are the kernel's own, not simulated.
    """
    preexec = None
    if os.geteuid() == 0:
        if not sys.platform.startswith("linux"):
            pytest.skip("running as root: permissions do not apply, and no capabilities to drop")
        preexec = _drop_permission_overrides
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)  # searchable, not writable
    socket_path = str(tmp_path / "private.sock")
    try:
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(socket_path)
            listener.listen(1)
            os.chmod(socket_path, 0o000)  # connect() needs write permission on it
            try:
                child = subprocess.run(
                    [sys.executable, "-c", _PERMISSION_PROBE, str(locked / "s"), socket_path],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    preexec_fn=preexec,
                )
            except subprocess.SubprocessError as exc:
                pytest.skip(f"running as root and cannot drop CAP_DAC_OVERRIDE: {exc}")
    finally:
        locked.chmod(0o755)
    assert child.returncode == 0, child.stderr
    results = json.loads(child.stdout)
    denied = ["PermissionError", errno.EACCES]
    assert results["asyncio"] == {"server": denied, "connect": denied}
    assert results["loopkit"] == results["asyncio"]
    assert os.listdir(locked) == []


# ----------------------------------------------------------------------
# Peers that go away mid-message; the server keeps serving
# ----------------------------------------------------------------------


def test_peer_disconnecting_mid_message_leaves_the_server_serving(
    run_any: Any, tmp_path: Path
) -> None:
    """Messages are 4-byte length + body. A client that sends half a message and
    goes away ends its own handler with IncompleteReadError; others are served."""
    path = str(tmp_path / "framed.sock")
    outcomes: list[str] = []
    partial_sizes: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            size = int.from_bytes(await reader.readexactly(4), "big")
            body = await reader.readexactly(size)
            writer.write(body[::-1])
            await writer.drain()
            outcomes.append("served")
        except asyncio.IncompleteReadError as exc:
            outcomes.append("incomplete")
            partial_sizes.append(len(exc.partial))
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_unix_server(handle, path)
        _, quitter = await asyncio.open_unix_connection(path)
        quitter.write((1000).to_bytes(4, "big") + b"only part of it")
        await quitter.drain()
        quitter.transport.abort()
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write((5).to_bytes(4, "big") + b"hello")
        assert await reader.readexactly(5) == b"olleh"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        await asyncio.sleep(0)

    run_any(main())
    assert sorted(outcomes) == ["incomplete", "served"]
    # The 15 body bytes sent; fewer when the quitter's write was still queued
    # (EAGAIN, as under fault injection) at abort(), which drops the queue.
    assert partial_sizes[0] <= 15
    assert os.listdir(tmp_path) == ([] if REMOVED_ON_CLOSE else ["framed.sock"])


@pytest.mark.no_fault_injection(
    reason="expects the write just before abort() to have been sent whole"
)
def test_server_vanishing_mid_reply_fails_only_that_client(run: Any, tmp_path: Path) -> None:
    """The server aborts one connection halfway through its reply: that client
    reads an incomplete message; another client, and the loop, are unaffected."""
    path = tmp_path / "s"

    class HalfReply(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            if data == b"half":
                self.transport.write(b"12345")
                self.transport.abort()
            else:
                self.transport.write(data)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(HalfReply, path)
        steady_reader, steady_writer = await asyncio.open_unix_connection(path)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"half")
        with pytest.raises(asyncio.IncompleteReadError) as info:
            await reader.readexactly(10)
        assert info.value.partial == b"12345"
        writer.close()
        await writer.wait_closed()
        steady_writer.write(b"still here")
        assert await steady_reader.readexactly(10) == b"still here"
        steady_writer.close()
        await steady_writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())
    assert path.exists() != REMOVED_ON_CLOSE


def test_writing_to_a_peer_that_closed_fails_only_that_transport(
    run_any: Any, tmp_path: Path
) -> None:
    """A client streams data at a server that aborts on it: the client's transport
    is lost with a connection error (EPIPE or ECONNRESET), exactly once; another
    server on the same loop serves on. (The client does not read, so it learns
    of the loss from a failed write, not from end of file.)"""
    path = str(tmp_path / "s")

    class NotReading(Collector):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            transport.pause_reading()

    class CloseAtOnce(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            transport.abort()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        closer = await loop.create_unix_server(CloseAtOnce, path)
        echo = await loop.create_unix_server(Echo, path + ".echo")
        transport, proto = await loop.create_unix_connection(NotReading, path)
        chunk = b"z" * 65536
        for _ in range(200):
            if transport.is_closing():
                break
            transport.write(chunk)
            await asyncio.sleep(0)
        exc = await proto.lost
        assert isinstance(exc, BrokenPipeError | ConnectionResetError)
        assert proto.lost_calls == 1
        assert await echo_once(path + ".echo") == b"ping"
        for server in (closer, echo):
            server.close()
            await server.wait_closed()

    run_any(main())


def test_busy_servers_closing_leave_their_socket_files_as_asyncio(
    run_any: Any, tmp_path: Path
) -> None:
    """Five servers, each having served: on close every file goes (3.13+) or
    every one stays (3.11 / 3.12), as with asyncio's loop."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = [await loop.create_unix_server(Echo, tmp_path / f"s{n}") for n in range(5)]
        for n in range(5):
            assert await echo_once(tmp_path / f"s{n}") == b"ping"
        for server in servers:
            server.close()
        await asyncio.gather(*(server.wait_closed() for server in servers))

    run_any(main())
    expected = [] if REMOVED_ON_CLOSE else [f"s{n}" for n in range(5)]
    assert sorted(os.listdir(tmp_path)) == expected


def test_loopkit_loop_is_what_runs_here(loop: Any) -> None:
    """Guard for this module: the ``run`` fixture really is loopkit's loop."""
    assert isinstance(loop, loopkit.KernelLoop)
