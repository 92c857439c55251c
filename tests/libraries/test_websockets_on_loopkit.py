"""The ``websockets`` library (its asyncio implementation) on loopkit: server and client.

websockets builds on asyncio's streams-level API: create_server and
create_connection with its own protocol, flow control through
pause_reading/resume_reading and the write buffer limits, write_eof and
abort at close, and (for ``wss://``) the loop's TLS. Every test runs on
asyncio's loop and on loopkit's, over loopback.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from libraryhelpers import HAS_TLS_LAYER, LoopFactory, expected_loop_module

websockets = pytest.importorskip("websockets")
trustme = pytest.importorskip("trustme")
from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import Server, ServerConnection, serve  # noqa: E402
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK  # noqa: E402

_T = TypeVar("_T")
MiB = 1024 * 1024


@pytest.fixture
def run(loop_factory: LoopFactory) -> Callable[[Coroutine[Any, Any, _T]], _T]:
    """Run a coroutine on a fresh loop of the kind under test, failing after 10 s."""

    def runner(coro: Coroutine[Any, Any, _T]) -> _T:
        with asyncio.Runner(loop_factory=loop_factory) as asyncio_runner:
            return asyncio_runner.run(asyncio.wait_for(coro, 10))

    return runner


async def echo(websocket: ServerConnection) -> None:
    """Send every message back as it came: text as text, bytes as bytes."""
    async for message in websocket:
        await websocket.send(message)


def url_of(server: Server, scheme: str = "ws") -> str:
    port = next(iter(server.sockets)).getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}/"


def test_text_and_binary_echo_keep_their_types(run: Any, loop_name: str) -> None:
    async def main() -> list[Any]:
        assert type(asyncio.get_running_loop()).__module__ == expected_loop_module(loop_name)
        async with serve(echo, "127.0.0.1", 0) as server, connect(url_of(server)) as client:
            answers = []
            for message in ["hello", b"\x00\x01binary\xff", "unicodé ✓", b""]:
                await client.send(message)
                answers.append(await client.recv())
            return answers

    assert run(main()) == ["hello", b"\x00\x01binary\xff", "unicodé ✓", b""]


def test_large_and_fragmented_messages(run: Any) -> None:
    """A 4 MiB frame crosses many socket writes and reads; fragments reassemble."""
    big = os.urandom(4 * MiB)

    async def main() -> tuple[bytes, str]:
        async with (
            serve(echo, "127.0.0.1", 0, max_size=None) as server,
            connect(url_of(server), max_size=None) as client,
        ):
            await client.send(big)
            echoed_big = await client.recv()
            await client.send(["frag", "ment", "ed"])
            echoed_fragments = await client.recv()
            return echoed_big, echoed_fragments

    echoed_big, echoed_fragments = run(main())
    assert echoed_big == big
    assert echoed_fragments == "fragmented"


def test_many_clients_at_once(run: Any) -> None:
    async def one_client(url: str, number: int) -> str:
        async with connect(url) as client:
            await client.send(f"client {number}")
            return str(await client.recv())

    async def main() -> list[str]:
        async with serve(echo, "127.0.0.1", 0) as server:
            return await asyncio.gather(*(one_client(url_of(server), n) for n in range(20)))

    assert run(main()) == [f"client {n}" for n in range(20)]


def test_server_close_code_and_reason_reach_the_client(run: Any) -> None:
    async def goodbye(websocket: ServerConnection) -> None:
        await websocket.recv()
        await websocket.close(4001, "bye now")

    async def main() -> tuple[int | None, str | None, type[BaseException]]:
        async with serve(goodbye, "127.0.0.1", 0) as server, connect(url_of(server)) as client:
            await client.send("please leave")
            with pytest.raises(ConnectionClosed) as closed:
                await client.recv()
            await client.wait_closed()
            return client.close_code, client.close_reason, type(closed.value)

    code, reason, error = run(main())
    assert (code, reason) == (4001, "bye now")
    # 4001 is not a normal closure, so recv() raises the "error" flavour.
    assert error is not ConnectionClosedOK


def test_client_normal_close_is_seen_by_the_server_handler(run: Any) -> None:
    async def main() -> tuple[int | None, str]:
        seen: asyncio.Future[tuple[int | None, str]] = asyncio.get_running_loop().create_future()

        async def watch(websocket: ServerConnection) -> None:
            try:
                await websocket.recv()
            except ConnectionClosedOK as closed:
                assert closed.rcvd is not None
                seen.set_result((closed.rcvd.code, closed.rcvd.reason))

        async with serve(watch, "127.0.0.1", 0) as server:
            async with connect(url_of(server)) as client:
                await client.close(1000, "done")
            return await seen

    assert run(main()) == (1000, "done")


def test_client_vanishing_without_a_close_frame_is_abnormal_closure(run: Any) -> None:
    """The server sees code 1006 and keeps serving the next client."""

    async def main() -> tuple[int | None, str]:
        seen: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

        async def watch(websocket: ServerConnection) -> None:
            try:
                async for message in websocket:
                    await websocket.send(message)
            finally:
                if not seen.done():
                    seen.set_result(websocket.close_code)

        async with serve(watch, "127.0.0.1", 0) as server:
            rude = await connect(url_of(server))
            await rude.send("hi")
            await rude.recv()
            rude.transport.abort()
            code = await seen
            async with connect(url_of(server)) as polite:
                await polite.send("still serving")
                return code, str(await polite.recv())

    assert run(main()) == (1006, "still serving")


def test_server_shutdown_closes_clients_with_going_away(run: Any) -> None:
    async def main() -> int | None:
        server = await serve(echo, "127.0.0.1", 0)
        client = await connect(url_of(server))
        server.close()
        await server.wait_closed()
        await client.wait_closed()
        return client.close_code

    assert run(main()) == 1001


def test_ping_is_answered_with_a_pong(run: Any) -> None:
    async def main() -> float:
        async with serve(echo, "127.0.0.1", 0) as server, connect(url_of(server)) as client:
            pong_waiter = await client.ping(b"are you there")
            latency: float = await pong_waiter
            return latency

    assert run(main()) >= 0.0


@pytest.fixture(scope="module")
def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def skip_without_tls_layer(loop_name: str) -> None:
    if loop_name == "loopkit" and not HAS_TLS_LAYER:
        pytest.skip("loopkit's TLS layer (loopkit.transports.tls.layer) is not in the tree yet")


def test_wss_echo_over_tls(
    run: Any, loop_name: str, tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    skip_without_tls_layer(loop_name)
    server_context, client_context = tls_contexts
    big = os.urandom(MiB // 2)

    async def main() -> tuple[str, bytes, str]:
        async with (
            serve(echo, "127.0.0.1", 0, ssl=server_context) as server,
            connect(url_of(server, "wss"), ssl=client_context) as client,
        ):
            cipher = client.transport.get_extra_info("cipher")
            await client.send("secret")
            text = await client.recv()
            await client.send(big)
            data = await client.recv()
            return str(text), bytes(data), str(cipher)

    text, data, cipher = run(main())
    assert (text, data) == ("secret", big)
    assert cipher != "None"


def test_wss_client_refuses_an_untrusted_server(
    run: Any, loop_name: str, tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    skip_without_tls_layer(loop_name)
    server_context, _ = tls_contexts

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, ssl=server_context) as server:
            with pytest.raises(ssl.SSLCertVerificationError):
                await connect(url_of(server, "wss"), ssl=ssl.create_default_context())

    run(main())


def test_echo_over_a_unix_socket(run: Any, tmp_path: Any) -> None:
    from websockets.asyncio.client import unix_connect
    from websockets.asyncio.server import unix_serve

    path = str(tmp_path / "ws.sock")

    async def main() -> Any:
        async with (
            unix_serve(echo, path),
            unix_connect(path, uri="ws://localhost/") as client,
        ):
            await client.send("through a file")
            return await client.recv()

    assert run(main()) == "through a file"


def test_handshake_rejected_with_an_http_response(run: Any) -> None:
    """process_request answers 403 instead of upgrading; the client sees the status."""
    from http import HTTPStatus

    from websockets.exceptions import InvalidStatus

    def refuse(connection: ServerConnection, request: Any) -> Any:
        return connection.respond(HTTPStatus.FORBIDDEN, "not for you\n")

    async def main() -> tuple[int, bytes]:
        async with serve(echo, "127.0.0.1", 0, process_request=refuse) as server:
            with pytest.raises(InvalidStatus) as refused:
                await connect(url_of(server))
            return refused.value.response.status_code, refused.value.response.body

    assert run(main()) == (403, b"not for you\n")


#: 400 messages of 64 KiB (25 MiB): more than loopback's socket buffers hold.
FLOOD_COUNT = 400


async def flood_a_client_that_stops_reading(
    server_ssl: ssl.SSLContext | None = None, client_ssl: ssl.SSLContext | None = None
) -> tuple[bool, list[int]]:
    """The server sends FLOOD_COUNT messages; the client reads none for 0.1 s, then all.

    Returns whether the server was still sending after that pause (its sends
    were held back) and the message numbers the client received.
    """
    sent_all = asyncio.Event()

    async def flood(websocket: ServerConnection) -> None:
        for number in range(FLOOD_COUNT):
            await websocket.send(b"%05d" % number + b"." * 65536)
        sent_all.set()
        await websocket.wait_closed()

    limits: dict[str, Any] = {"compression": None}
    async with (
        serve(flood, "127.0.0.1", 0, write_limit=65536, ssl=server_ssl, **limits) as server,
        connect(
            url_of(server, "wss" if client_ssl else "ws"),
            max_queue=4,
            max_size=None,
            ssl=client_ssl,
            **limits,
        ) as client,
    ):
        await asyncio.sleep(0.1)
        held_back = not sent_all.is_set()
        numbers = [int((await client.recv())[:5]) for _ in range(FLOOD_COUNT)]
        await asyncio.wait_for(sent_all.wait(), 5)
        return held_back, numbers


def test_a_client_that_stops_reading_holds_back_the_server(run: Any) -> None:
    """With small limits, the server's sends wait while the client reads nothing,
    and every message arrives, in order, once it reads again."""
    held_back, numbers = run(flood_a_client_that_stops_reading())
    assert held_back
    assert numbers == list(range(FLOOD_COUNT))


def test_flow_control_over_tls(
    run: Any, loop_name: str, tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    """The same through the TLS layer: pause/resume must cross it both ways."""
    skip_without_tls_layer(loop_name)
    held_back, numbers = run(flood_a_client_that_stops_reading(*tls_contexts))
    assert held_back
    assert numbers == list(range(FLOOD_COUNT))
