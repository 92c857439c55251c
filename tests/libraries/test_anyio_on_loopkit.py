"""anyio on its asyncio backend, with loopkit as the loop factory.

anyio drives the loop through a wide slice of its API: create_connection and
connect_accepted_socket for TCP, raw add_reader/add_writer for Unix sockets,
create_datagram_endpoint for UDP, subprocess_exec, call_soon_threadsafe for
threads, and task cancellation for its cancel scopes. Every test runs through
anyio's own pytest plugin (``anyio_backend`` is ``("asyncio", {"loop_factory":
...})``), once on asyncio's loop and once on loopkit's; all traffic stays on
loopback.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from libraryhelpers import expected_loop_module

import loopkit

anyio = pytest.importorskip("anyio")
trustme = pytest.importorskip("trustme")
from anyio.abc import SocketAttribute, SocketStream, TaskStatus  # noqa: E402
from anyio.streams.buffered import BufferedByteReceiveStream  # noqa: E402
from anyio.streams.tls import TLSAttribute, TLSListener, TLSStream  # noqa: E402

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


async def serve_echo(
    listener: Any, finished: anyio.Event | None = None, *, task_status: TaskStatus[None]
) -> None:
    """Echo every byte stream accepted; set ``finished`` when a peer has left."""

    async def echo(stream: Any) -> None:
        async with stream:
            async for chunk in stream:
                await stream.send(chunk)
        if finished is not None:
            finished.set()

    task_status.started()
    await listener.serve(echo)


# ----------------------------------------------------------------------
# The loop itself
# ----------------------------------------------------------------------


async def test_tests_run_on_the_loop_under_test(loop_name: str) -> None:
    loop = asyncio.get_running_loop()
    assert type(loop).__module__ == expected_loop_module(loop_name)
    assert anyio.get_current_task().name
    assert isinstance(loop.time(), float)


def test_anyio_run_takes_loopkit_as_its_loop_factory() -> None:
    async def main() -> str:
        await anyio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    module = anyio.run(
        main, backend="asyncio", backend_options={"loop_factory": loopkit.new_event_loop}
    )
    assert module == "loopkit"


# ----------------------------------------------------------------------
# TCP
# ----------------------------------------------------------------------


async def test_tcp_echo_with_socket_attributes() -> None:
    with anyio.fail_after(5):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            await tg.start(serve_echo, listener)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                assert client.extra(SocketAttribute.remote_port) == port
                assert client.extra(SocketAttribute.remote_address) == ("127.0.0.1", port)
                assert client.extra(SocketAttribute.family) == socket.AF_INET
                await client.send(b"hello\nworld\n")
                reader = BufferedByteReceiveStream(client)
                assert await reader.receive_until(b"\n", 100) == b"hello"
                assert await reader.receive_until(b"\n", 100) == b"world"
            tg.cancel_scope.cancel()


async def test_tcp_large_transfer_then_half_close() -> None:
    """The client sends 4 MiB and its EOF; the server answers with what it counted."""
    payload = os.urandom(4 * MiB)

    async def count_then_reply(stream: SocketStream) -> None:
        received = bytearray()
        async with stream:
            while True:
                try:
                    received += await stream.receive()
                except anyio.EndOfStream:
                    break
            await stream.send(str(len(received)).encode() + b" " + bytes(received[-8:]))

    with anyio.fail_after(10):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, count_then_reply)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                await client.send(payload)
                await client.send_eof()
                answer = b""
                while True:
                    try:
                        answer += await client.receive()
                    except anyio.EndOfStream:
                        break
            assert answer == str(len(payload)).encode() + b" " + payload[-8:]
            tg.cancel_scope.cancel()


async def test_tcp_connect_to_a_closed_port_is_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with anyio.fail_after(5), pytest.raises(OSError):
        await anyio.connect_tcp("127.0.0.1", port)


async def test_tcp_peer_closing_mid_stream_is_seen_as_end_of_stream() -> None:
    async def close_after_one(stream: SocketStream) -> None:
        async with stream:
            await stream.send(b"only this")

    with anyio.fail_after(5):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, close_after_one)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                assert await client.receive() == b"only this"
                with pytest.raises(anyio.EndOfStream):
                    await client.receive()
            tg.cancel_scope.cancel()


# ----------------------------------------------------------------------
# UDP
# ----------------------------------------------------------------------


@pytest.mark.loop_methods("create_datagram_endpoint")
async def test_udp_datagrams_between_two_sockets() -> None:
    with anyio.fail_after(5):
        async with (
            await anyio.create_udp_socket(local_host="127.0.0.1") as server,
            await anyio.create_udp_socket(local_host="127.0.0.1") as client,
        ):
            server_port = server.extra(SocketAttribute.local_port)
            await client.sendto(b"ping", "127.0.0.1", server_port)
            data, (host, port) = await server.receive()
            assert data == b"ping"
            assert port == client.extra(SocketAttribute.local_port)
            await server.sendto(b"pong", host, port)
            assert (await client.receive())[0] == b"pong"


@pytest.mark.loop_methods("create_datagram_endpoint")
async def test_connected_udp_socket_talks_to_its_peer_only() -> None:
    with anyio.fail_after(5):
        async with await anyio.create_udp_socket(local_host="127.0.0.1") as server:
            server_port = server.extra(SocketAttribute.local_port)
            async with await anyio.create_connected_udp_socket(
                "127.0.0.1", server_port, local_host="127.0.0.1"
            ) as client:
                assert client.extra(SocketAttribute.remote_port) == server_port
                await client.send(b"x" * 1000)
                data, address = await server.receive()
                assert data == b"x" * 1000
                await server.sendto(b"back", *address)
                assert await client.receive() == b"back"


# ----------------------------------------------------------------------
# Unix sockets
# ----------------------------------------------------------------------


async def test_unix_stream_echo(tmp_path: Path) -> None:
    path = tmp_path / "echo.sock"
    # anyio's Unix streams wait with add_reader on a future; cancelling one
    # while the peer's EOF is arriving trips anyio itself (InvalidStateError,
    # on asyncio's loop too), so the listener is cancelled only once the
    # server side of the connection has finished.
    finished = anyio.Event()
    with anyio.fail_after(5):
        listener = await anyio.create_unix_listener(path)
        async with listener, anyio.create_task_group() as tg:
            await tg.start(serve_echo, listener, finished)
            async with await anyio.connect_unix(path) as client:
                assert client.extra(SocketAttribute.remote_address) == str(path)
                await client.send(b"x" * (256 * 1024))
                received = 0
                while received < 256 * 1024:
                    received += len(await client.receive())
            await finished.wait()
            tg.cancel_scope.cancel()
    assert received == 256 * 1024


async def test_unix_stream_passes_file_descriptors(tmp_path: Path) -> None:
    """send_fds / receive_fds: SCM_RIGHTS over a Unix stream, waited on with add_reader."""
    path = tmp_path / "fds.sock"
    note = tmp_path / "note.txt"
    note.write_text("passed along")
    got: list[str] = []

    async def read_passed_file(stream: Any) -> None:
        async with stream:
            message, fds = await stream.receive_fds(100, 1)
            with os.fdopen(fds[0]) as passed:
                got.append(message.decode() + ": " + passed.read())

    with anyio.fail_after(5):
        listener = await anyio.create_unix_listener(path)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, read_passed_file)
            async with await anyio.connect_unix(path) as client:
                with note.open() as handle:
                    await client.send_fds(b"file", [handle])
                with pytest.raises(anyio.EndOfStream):
                    await client.receive()
            tg.cancel_scope.cancel()
    assert got == ["file: passed along"]


# ----------------------------------------------------------------------
# TLS (anyio's own TLS stream, over a loopkit TCP connection)
# ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


async def test_tls_stream_echo(tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls_contexts
    with anyio.fail_after(5):
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = tcp.extra(SocketAttribute.local_port)
        async with TLSListener(tcp, server_context) as listener, anyio.create_task_group() as tg:
            await tg.start(serve_echo, listener)
            client = await anyio.connect_tcp(
                "127.0.0.1",
                port,
                ssl_context=client_context,
                tls_hostname="localhost",
            )
            async with client:
                assert isinstance(client, TLSStream)
                assert client.extra(TLSAttribute.tls_version).startswith("TLS")
                assert client.extra(TLSAttribute.server_side) is False
                message = os.urandom(200_000)
                await client.send(message)
                echoed = b""
                while len(echoed) < len(message):
                    echoed += await client.receive()
                assert echoed == message
            tg.cancel_scope.cancel()


async def test_tls_handshake_with_an_untrusted_certificate_fails(
    tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_context, _ = tls_contexts
    with anyio.fail_after(5):
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = tcp.extra(SocketAttribute.local_port)
        async with TLSListener(tcp, server_context) as listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, lambda stream: stream.aclose())
            with pytest.raises(ssl.SSLCertVerificationError):
                await anyio.connect_tcp(
                    "127.0.0.1", port, ssl_context=ssl.create_default_context(),
                    tls_hostname="localhost",
                )  # fmt: skip
            tg.cancel_scope.cancel()


# ----------------------------------------------------------------------
# Subprocesses
# ----------------------------------------------------------------------


@pytest.mark.loop_methods("subprocess_exec")
async def test_run_process_collects_output_and_exit_status() -> None:
    with anyio.fail_after(10):
        done = await anyio.run_process(
            [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"]
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, b"out\n", b"err\n")
        with pytest.raises(Exception) as failed:
            await anyio.run_process([sys.executable, "-c", "raise SystemExit(3)"])
        assert failed.value.returncode == 3


@pytest.mark.loop_methods("subprocess_exec")
async def test_open_process_streams_stdin_to_stdout() -> None:
    with anyio.fail_after(10):
        code = "import sys; sys.stdout.write(sys.stdin.read().upper())"
        async with await anyio.open_process([sys.executable, "-c", code]) as process:
            assert process.stdin is not None and process.stdout is not None
            await process.stdin.send(b"shout\n" * 1000)
            await process.stdin.aclose()
            output = b""
            async for chunk in process.stdout:
                output += chunk
            assert await process.wait() == 0
        assert output == b"SHOUT\n" * 1000


# ----------------------------------------------------------------------
# Threads
# ----------------------------------------------------------------------


async def test_to_thread_and_back_into_the_loop() -> None:
    loop_thread = threading.get_ident()

    async def in_the_loop(value: int) -> tuple[int, int]:
        await anyio.sleep(0)
        return value * 2, threading.get_ident()

    def in_a_worker() -> tuple[int, int, int, int]:
        doubled, ran_on = anyio.from_thread.run(in_the_loop, 21)
        tripled = anyio.from_thread.run_sync(lambda: 3 * 7)
        return doubled, ran_on, tripled, threading.get_ident()

    with anyio.fail_after(5):
        doubled, ran_on, tripled, worker = await anyio.to_thread.run_sync(in_a_worker)
    assert (doubled, tripled) == (42, 21)
    assert ran_on == loop_thread
    assert worker != loop_thread


async def test_cancelling_a_thread_call_that_may_be_abandoned() -> None:
    release = threading.Event()
    with anyio.move_on_after(0.05) as scope:
        await anyio.to_thread.run_sync(release.wait, abandon_on_cancel=True)
    release.set()
    assert scope.cancelled_caught


def test_blocking_portal_runs_a_loopkit_loop_in_its_own_thread() -> None:
    async def where() -> tuple[str, int]:
        return type(asyncio.get_running_loop()).__module__, threading.get_ident()

    with anyio.from_thread.start_blocking_portal(
        "asyncio", {"loop_factory": loopkit.new_event_loop}
    ) as portal:
        module, thread = portal.call(where)
        assert portal.call(anyio.sleep, 0) is None
    assert module == "loopkit"
    assert thread != threading.get_ident()


# ----------------------------------------------------------------------
# Cancellation scopes and task groups
# ----------------------------------------------------------------------


async def test_move_on_after_cancels_and_reports_it() -> None:
    with anyio.move_on_after(0.02) as scope:
        await anyio.sleep(5)
    assert scope.cancelled_caught
    with anyio.move_on_after(5) as relaxed:
        await anyio.sleep(0)
    assert not relaxed.cancelled_caught


async def test_fail_after_raises_timeout_error() -> None:
    started = anyio.current_time()
    with pytest.raises(TimeoutError), anyio.fail_after(0.02):
        await anyio.sleep(5)
    assert anyio.current_time() - started < 4


async def test_nested_scopes_the_outer_deadline_wins_and_shields_hold() -> None:
    steps: list[str] = []
    with anyio.move_on_after(0.05) as outer, anyio.move_on_after(5) as inner:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(0.1)  # the outer deadline passes in here
            steps.append("shielded work finished")
        await anyio.sleep(5)
        steps.append("never")  # pragma: no cover
    assert steps == ["shielded work finished"]
    assert outer.cancelled_caught
    assert not inner.cancelled_caught


async def test_task_group_failure_cancels_the_siblings() -> None:
    cancelled: list[str] = []

    async def sleeper(name: str) -> None:
        try:
            await anyio.sleep(5)
        except anyio.get_cancelled_exc_class():
            cancelled.append(name)
            raise

    async def failer() -> None:
        await anyio.sleep(0.01)
        raise ValueError("boom")

    with anyio.fail_after(5), pytest.raises(ExceptionGroup) as caught:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sleeper, "a")
            tg.start_soon(sleeper, "b")
            tg.start_soon(failer)
    assert sorted(cancelled) == ["a", "b"]
    assert [type(e) for e in caught.value.exceptions] == [ValueError]


async def test_task_group_start_waits_for_started_and_cancel_from_outside() -> None:
    ready = anyio.Event()

    async def service(task_status: TaskStatus[int]) -> None:
        task_status.started(1234)
        await ready.wait()
        await anyio.sleep_forever()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            assert await tg.start(service) == 1234
            ready.set()
            await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
        assert tg.cancel_scope.cancel_called


async def test_scope_cancelled_from_another_task_unblocks_a_socket_read() -> None:
    """A cancelled receive leaves the connection usable: nothing was lost."""
    with anyio.fail_after(5):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            await tg.start(serve_echo, listener)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                with anyio.CancelScope() as scope:
                    tg.start_soon(_cancel_soon, scope)
                    await client.receive()
                assert scope.cancelled_caught
                await client.send(b"still here")
                assert await client.receive() == b"still here"
            tg.cancel_scope.cancel()


async def _cancel_soon(scope: anyio.CancelScope) -> None:
    await anyio.sleep(0.02)
    scope.cancel()


# ----------------------------------------------------------------------
# More of the loop under anyio: flow control, names, raw fds, signals
# ----------------------------------------------------------------------


async def test_tcp_sender_waits_for_a_slow_reader_and_nothing_is_lost() -> None:
    """8 MiB to a reader taking 64 KiB at a time: the writer is paused and resumed."""
    total = 8 * MiB
    counted: list[int] = []

    async def slow_reader(stream: SocketStream) -> None:
        async with stream:
            received = 0
            while received < total:
                received += len(await stream.receive(65536))
                if received % (MiB) < 65536:
                    await anyio.sleep(0.005)
            counted.append(received)

    with anyio.fail_after(10):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, slow_reader)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                for _ in range(total // MiB):
                    await client.send(b"z" * MiB)
                with pytest.raises(anyio.EndOfStream):
                    await client.receive()
            tg.cancel_scope.cancel()
    assert counted == [total]


async def test_connect_by_name_falls_back_between_addresses() -> None:
    """ "localhost" may resolve to ::1 first; with the server on 127.0.0.1 only,
    anyio's happy-eyeballs connect must still arrive (through loop.getaddrinfo)."""
    with anyio.fail_after(5):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            await tg.start(serve_echo, listener)
            async with await anyio.connect_tcp("localhost", port) as client:
                await client.send(b"by name")
                assert await client.receive() == b"by name"
                assert client.extra(SocketAttribute.remote_address)[0] == "127.0.0.1"
            tg.cancel_scope.cancel()


async def test_getaddrinfo_and_getnameinfo_through_the_loop() -> None:
    infos = await anyio.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
    assert infos[0][4][:2] == ("127.0.0.1", 80)
    host, service = await anyio.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST)
    assert host == "127.0.0.1"
    assert service in ("80", "http")


async def test_wait_readable_and_writable_on_a_raw_socket_pair() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)
        right.setblocking(False)
        with anyio.fail_after(5):
            await anyio.wait_writable(left)
            async with anyio.create_task_group() as tg:

                async def send_later() -> None:
                    await anyio.sleep(0.02)
                    left.send(b"wake up")

                tg.start_soon(send_later)
                await anyio.wait_readable(right)
            assert right.recv(100) == b"wake up"


async def test_cancelling_a_wait_readable_leaves_the_fd_unwatched() -> None:
    left, right = socket.socketpair()
    with left, right:
        with anyio.move_on_after(0.02) as scope:
            await anyio.wait_readable(right)
        assert scope.cancelled_caught
        left.send(b"later")
        with anyio.fail_after(5):
            await anyio.wait_readable(right)
        assert right.recv(100) == b"later"


@pytest.mark.loop_methods("add_signal_handler")
async def test_signal_receiver_gets_signals_sent_to_the_process() -> None:
    import signal

    with anyio.fail_after(5), anyio.open_signal_receiver(signal.SIGUSR1, signal.SIGUSR2) as signals:
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR2)
        got = []
        async for signum in signals:
            got.append(signum)
            if len(got) == 2:
                break
    assert sorted(got) == [signal.SIGUSR1, signal.SIGUSR2]


@pytest.mark.loop_methods("create_datagram_endpoint")
async def test_unix_datagram_sockets(tmp_path: Path) -> None:
    server_path = tmp_path / "server.dgram"
    client_path = tmp_path / "client.dgram"
    with anyio.fail_after(5):
        async with (
            await anyio.create_unix_datagram_socket(local_path=server_path) as server,
            await anyio.create_unix_datagram_socket(local_path=client_path) as client,
        ):
            await client.sendto(b"hello over a file", str(server_path))
            data, sender = await server.receive()
            assert (data, sender) == (b"hello over a file", str(client_path))


async def test_many_concurrent_connections() -> None:
    async def one(port: int, number: int) -> bytes:
        async with await anyio.connect_tcp("127.0.0.1", port) as client:
            await client.send(b"%d" % number)
            return await client.receive()

    results: dict[int, bytes] = {}

    async def record(port: int, number: int) -> None:
        results[number] = await one(port, number)

    with anyio.fail_after(10):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", backlog=200)
        port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            await tg.start(serve_echo, listener)
            async with anyio.create_task_group() as clients:
                for number in range(100):
                    clients.start_soon(record, port, number)
            tg.cancel_scope.cancel()
    assert results == {number: b"%d" % number for number in range(100)}


async def test_cancelling_a_pending_connect_closes_its_socket() -> None:
    """A connect to a listener whose backlog is full hangs; cancelling it leaks nothing."""
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):  # fill the accept queue (never accepted)
                filler = socket.socket()
                filler.setblocking(False)
                fillers.append(filler)
                try:
                    filler.connect(("127.0.0.1", port))
                except BlockingIOError:
                    pass
            with anyio.move_on_after(0.2) as scope:
                await anyio.connect_tcp("127.0.0.1", port)
        finally:
            for filler in fillers:
                filler.close()
    assert scope.cancelled_caught


@pytest.mark.loop_methods("subprocess_exec")
async def test_run_process_with_megabytes_through_its_pipes() -> None:
    data = os.urandom(2 * MiB)
    code = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read()[::-1])"
    with anyio.fail_after(10):
        done = await anyio.run_process([sys.executable, "-c", code], input=data)
    assert done.stdout == data[::-1]


@pytest.mark.loop_methods("subprocess_exec")
async def test_killing_a_process_and_cancelling_a_wait() -> None:
    with anyio.fail_after(10):
        code = "import time; print('ready', flush=True); time.sleep(30)"
        async with await anyio.open_process([sys.executable, "-c", code]) as process:
            assert process.stdout is not None
            output = BufferedByteReceiveStream(process.stdout)
            assert await output.receive_until(b"\n", 100) == b"ready"
            with anyio.move_on_after(0.05) as scope:
                await process.wait()
            assert scope.cancelled_caught
            process.kill()
            assert await process.wait() == -9


async def test_sending_to_a_peer_that_reset_the_connection_fails_cleanly() -> None:
    """After an RST from the peer, sends end in anyio's BrokenResourceError (or an OSError)."""

    async def reset(stream: SocketStream) -> None:
        raw = stream.extra(SocketAttribute.raw_socket)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        await stream.aclose()

    with anyio.fail_after(5):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, reset)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                with pytest.raises((anyio.BrokenResourceError, OSError)):
                    for _ in range(100):
                        await client.send(b"x" * 65536)
                        await anyio.sleep(0.001)
            tg.cancel_scope.cancel()


@pytest.mark.loop_methods("create_datagram_endpoint")
@pytest.mark.parametrize("kind", ["stream", "datagram", "connected-datagram"])
async def test_closing_a_unix_socket_while_a_receive_waits(tmp_path: Path, kind: str) -> None:
    """anyio closes the socket, then its done callback removes the reader by
    the (now closed) socket object: no error reaches the loop's handler, and
    the waiting receive ends with ClosedResourceError."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    path = tmp_path / "peer.sock"
    with anyio.fail_after(5):
        if kind == "stream":
            listener = await anyio.create_unix_listener(path)
            peer: Any = listener
            sock: Any = await anyio.connect_unix(path)
        elif kind == "datagram":
            peer = None
            sock = await anyio.create_unix_datagram_socket(local_path=path)
        else:
            peer = await anyio.create_unix_datagram_socket(local_path=path)
            sock = await anyio.create_connected_unix_datagram_socket(path)
        try:
            async with anyio.create_task_group() as tg:
                outcome: list[BaseException] = []

                async def receive() -> None:
                    try:
                        await sock.receive()
                    except BaseException as exc:
                        outcome.append(exc)

                tg.start_soon(receive)
                await anyio.sleep(0.02)
                await sock.aclose()
            await anyio.sleep(0.02)  # the done callbacks run
        finally:
            if peer is not None:
                await peer.aclose()
    assert [type(exc) for exc in outcome] == [anyio.ClosedResourceError]
    assert errors == []
