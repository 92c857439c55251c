"""The datagram transport: sendto, flow control, closing, reading, extra info.

Flow control needs a send path that can fill up. UDP over loopback never
does (the kernel drops what the receiver has no room for), an AF_UNIX
datagram socket does (the sender waits until the receiver reads), so those
tests use a connected pair of AF_UNIX datagram sockets bound to paths.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from noblocking import own_blocking_call

import loopkit


@pytest.fixture
def unix_peer(tmp_path: Any) -> Iterator[tuple[socket.socket, str, str]]:
    """A plain AF_UNIX datagram socket nobody reads from, and a free path to connect from.

    Returns ``(peer, peer_path, local_path)``.
    """
    peer_path = str(tmp_path / "peer.sock")
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    peer.bind(peer_path)
    peer.setblocking(False)
    with peer:
        yield peer, peer_path, str(tmp_path / "local.sock")


async def _unix_endpoint(factory: Any, peer: tuple[socket.socket, str, str]) -> tuple[Any, Any]:
    loop = asyncio.get_running_loop()
    _, peer_path, local_path = peer
    return await loop.create_datagram_endpoint(
        factory, local_addr=local_path, remote_addr=peer_path, family=socket.AF_UNIX
    )


async def _fill_until_paused(transport: Any, proto: Any, size: int = 1000) -> list[bytes]:
    """Send numbered datagrams until the protocol is told to pause; return them."""
    sent = []
    for number in range(100_000):
        datagram = number.to_bytes(4, "big") * (size // 4)
        transport.sendto(datagram)
        sent.append(datagram)
        if proto.paused:
            return sent
    raise AssertionError("the kernel buffer never filled")


async def _drain(peer: socket.socket, count: int) -> list[bytes]:
    """Read ``count`` datagrams from ``peer``, letting the loop run in between."""
    got: list[bytes] = []
    while len(got) < count:
        try:
            got.append(peer.recv(65536))
        except BlockingIOError:
            await asyncio.sleep(0.001)
    return got


async def _udp_pair(factory: Any) -> tuple[Any, Any, Any, Any]:
    """A receiving endpoint and an endpoint connected to it."""
    loop = asyncio.get_running_loop()
    server, sproto = await loop.create_datagram_endpoint(factory, local_addr=("127.0.0.1", 0))
    client, cproto = await loop.create_datagram_endpoint(
        factory, remote_addr=server.get_extra_info("sockname")
    )
    return server, sproto, client, cproto


# ----------------------------------------------------------------------
# sendto
# ----------------------------------------------------------------------


def test_connected_endpoint_may_omit_the_address_or_repeat_it(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        server, sproto, client, _ = await _udp_pair(recorder)
        address = server.get_extra_info("sockname")
        try:
            client.sendto(b"one")
            client.sendto(b"two", address)
            assert (await sproto.next_datagram())[0] == b"one"
            assert (await sproto.next_datagram())[0] == b"two"
            with pytest.raises(ValueError, match=r"Invalid address: must be None or \("):
                client.sendto(b"three", ("127.0.0.1", address[1] + 1))
            assert not client.is_closing()
        finally:
            client.close()
            server.close()

    run_any(main())


def test_data_must_be_bytes_like(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        server, sproto, client, _ = await _udp_pair(recorder)
        try:
            with pytest.raises(
                TypeError, match="data argument must be a bytes-like object, not 'str'"
            ):
                client.sendto("text")
            client.sendto(bytearray(b"array"))
            client.sendto(memoryview(b"view"))
            assert (await sproto.next_datagram())[0] == b"array"
            assert (await sproto.next_datagram())[0] == b"view"
        finally:
            client.close()
            server.close()

    run_any(main())


def test_empty_datagrams_are_sent(run: Any, recorder: Any) -> None:
    """On every Python version (asyncio sends them from 3.13 on, drops them before)."""

    async def main() -> None:
        server, sproto, client, _ = await _udp_pair(recorder)
        try:
            client.sendto(b"")
            client.sendto(b"after")
            assert (await sproto.next_datagram())[0] == b""
            assert (await sproto.next_datagram())[0] == b"after"
        finally:
            client.close()
            server.close()

    run(main())


@pytest.mark.no_fault_injection(
    reason="reads the peer with a blocking recv right after sendto(), which may have been queued"
)
def test_an_unnamed_connected_peer_needs_no_address(run: Any, recorder: Any) -> None:
    """A socketpair's peer address is '': still connected, so send() is used.

    (asyncio takes the empty name for "not connected" and fails the send.)
    """
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(recorder, sock=mine)
        try:
            transport.sendto(b"to the pair")
            assert own_blocking_call(theirs.recv, 100) == b"to the pair"
            own_blocking_call(theirs.send, b"back")
            assert (await proto.next_datagram())[0] == b"back"
        finally:
            transport.close()
        assert await proto.lost is None

    with theirs:
        run(main())


def test_many_datagrams_arrive_whole_and_in_order(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        server, sproto, client, _ = await _udp_pair(recorder)
        try:
            for number in range(200):
                client.sendto(b"%d" % number * (number % 7 + 1))
            for number in range(200):
                data, _ = await sproto.next_datagram()
                assert data == b"%d" % number * (number % 7 + 1)
        finally:
            client.close()
            server.close()

    run_any(main())


# ----------------------------------------------------------------------
# Flow control and the write queue
# ----------------------------------------------------------------------


def test_a_full_kernel_buffer_pauses_and_a_drained_one_resumes(
    run_any: Any, recorder: Any, unix_peer: Any
) -> None:
    peer = unix_peer[0]

    async def main() -> None:
        transport, proto = await _unix_endpoint(recorder, unix_peer)
        transport.set_write_buffer_limits(high=8192)
        try:
            sent = await _fill_until_paused(transport, proto)
            assert transport.get_write_buffer_size() > 8192
            assert proto.resumed == 0
            received = await _drain(peer, len(sent))
            assert received == sent  # nothing lost, nothing reordered
            for _ in range(100):
                if proto.resumed:
                    break
                await asyncio.sleep(0.001)
            assert (proto.paused, proto.resumed) == (1, 1)
        finally:
            transport.close()
        await proto.lost

    run_any(main())


def test_a_queued_datagram_counts_its_length_plus_a_header(
    run: Any, recorder: Any, unix_peer: Any
) -> None:
    """The 3.13 accounting, on every version; sent datagrams stop counting.

    (asyncio 3.13.0 adds 8 per datagram but subtracts only the payload when
    it is sent, so its count never returns to zero.)
    """
    peer = unix_peer[0]

    async def main() -> None:
        transport, proto = await _unix_endpoint(recorder, unix_peer)
        try:
            sent = await _fill_until_paused(transport, proto, size=100)
            before = transport.get_write_buffer_size()
            transport.sendto(b"x" * 10)
            transport.sendto(b"")
            assert transport.get_write_buffer_size() == before + (10 + 8) + (0 + 8)
            await _drain(peer, len(sent) + 2)
            for _ in range(100):
                if transport.get_write_buffer_size() == 0:
                    break
                await asyncio.sleep(0.001)
            assert transport.get_write_buffer_size() == 0
        finally:
            transport.close()
        await proto.lost


def test_abort_forgets_the_queued_bytes(run: Any, recorder: Any, unix_peer: Any) -> None:
    """(asyncio clears its queue on abort but keeps counting it.)"""

    async def main() -> None:
        transport, proto = await _unix_endpoint(recorder, unix_peer)
        await _fill_until_paused(transport, proto)
        transport.abort()
        assert transport.get_write_buffer_size() == 0
        await proto.lost

    run(main())


def test_a_queued_datagram_is_a_copy(run_any: Any, recorder: Any, unix_peer: Any) -> None:
    peer = unix_peer[0]

    async def main() -> None:
        transport, proto = await _unix_endpoint(recorder, unix_peer)
        try:
            sent = await _fill_until_paused(transport, proto)
            reused = bytearray(b"before")
            transport.sendto(reused)
            reused[:] = b"AFTER!"
            received = await _drain(peer, len(sent) + 1)
            assert received[-1] == b"before"
        finally:
            transport.close()
        await proto.lost

    run_any(main())


def test_write_buffer_limits(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(recorder, local_addr=("127.0.0.1", 0))
        try:
            assert transport.get_write_buffer_limits() == (16384, 65536)
            transport.set_write_buffer_limits(high=1000)
            assert transport.get_write_buffer_limits() == (250, 1000)
            transport.set_write_buffer_limits(low=100)
            assert transport.get_write_buffer_limits() == (100, 400)
            with pytest.raises(ValueError, match="must be >="):
                transport.set_write_buffer_limits(high=10, low=20)
        finally:
            transport.close()

    run_any(main())


# ----------------------------------------------------------------------
# Closing
# ----------------------------------------------------------------------


def test_close_sends_queued_datagrams_before_connection_lost(
    run_any: Any, recorder: Any, unix_peer: Any
) -> None:
    peer = unix_peer[0]

    async def main() -> None:
        transport, proto = await _unix_endpoint(recorder, unix_peer)
        sent = await _fill_until_paused(transport, proto)
        transport.close()
        assert transport.is_closing()
        await asyncio.sleep(0.01)
        assert not proto.lost.done()  # still flushing
        assert await _drain(peer, len(sent)) == sent
        assert await asyncio.wait_for(proto.lost, 5) is None
        assert proto.lost_calls == 1

    run_any(main())


def test_abort_drops_queued_datagrams(run_any: Any, recorder: Any, unix_peer: Any) -> None:
    peer = unix_peer[0]

    async def main() -> None:
        transport, proto = await _unix_endpoint(recorder, unix_peer)
        sent = await _fill_until_paused(transport, proto)
        queued = transport.get_write_buffer_size()
        assert queued > 0
        transport.abort()
        assert await proto.lost is None
        delivered = 0
        while True:
            try:
                peer.recv(65536)
            except BlockingIOError:
                break
            delivered += 1
        # What the kernel took before abort() arrives (none of it when every
        # send met EAGAIN, as under fault injection); the queued rest never does.
        assert delivered < len(sent)

    run_any(main())


def test_connection_lost_is_called_exactly_once(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            recorder, local_addr=("127.0.0.1", 0)
        )
        transport.close()
        transport.close()
        transport.abort()
        await proto.lost
        transport.abort()
        transport.close()
        for _ in range(5):
            await asyncio.sleep(0)
        assert proto.lost_calls == 1
        assert proto.events == ["made", "lost"]
        assert transport.get_extra_info("socket").fileno() == -1

    run_any(main())


def test_sendto_after_close_is_dropped_and_eventually_logged(
    run_any: Any, recorder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        server, _, client, cproto = await _udp_pair(recorder)
        server.close()
        client.close()
        await cproto.lost
        with caplog.at_level(logging.WARNING, logger="asyncio"):
            for _ in range(10):
                client.sendto(b"into the void")
        assert "socket.send() raised exception." in caplog.text
        assert cproto.errors.empty()

    run_any(main())


# ----------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------


def test_pause_reading_leaves_datagrams_in_the_kernel(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        server, sproto, client, _ = await _udp_pair(recorder)
        try:
            server.pause_reading()
            assert not server.is_reading()
            client.sendto(b"waiting")
            await asyncio.sleep(0.02)
            assert sproto.received.empty()
            server.resume_reading()
            assert server.is_reading()
            assert (await sproto.next_datagram())[0] == b"waiting"
        finally:
            client.close()
            server.close()

    run_any(main())


def test_pausing_inside_datagram_received_takes_effect_at_once(run_any: Any, recorder: Any) -> None:
    class PausesAfterOne(recorder):  # type: ignore[misc, valid-type]
        def datagram_received(self, data: bytes, addr: Any) -> None:
            super().datagram_received(data, addr)
            self.transport.pause_reading()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, sproto = await loop.create_datagram_endpoint(
            PausesAfterOne, local_addr=("127.0.0.1", 0)
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for number in range(5):
                own_blocking_call(sender.sendto, b"%d" % number, server.get_extra_info("sockname"))
            try:
                assert (await sproto.next_datagram())[0] == b"0"
                await asyncio.sleep(0.02)
                assert sproto.received.qsize() == 0
                server.resume_reading()
                assert (await sproto.next_datagram())[0] == b"1"
            finally:
                server.close()

    run_any(main())


def test_received_datagrams_do_not_share_memory(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        server, sproto, client, _ = await _udp_pair(recorder)
        try:
            client.sendto(b"first datagram")
            client.sendto(b"SECOND")
            first, _ = await sproto.next_datagram()
            second, _ = await sproto.next_datagram()
            assert (first, second) == (b"first datagram", b"SECOND")
            assert type(first) is bytes
        finally:
            client.close()
            server.close()

    run_any(main())


def test_an_exception_in_datagram_received_is_reported_and_reading_goes_on(
    run_any: Any, any_loop: Any, recorder: Any
) -> None:
    reported: list[dict[str, Any]] = []
    any_loop.set_exception_handler(lambda loop, context: reported.append(context))

    class FailsOnBoom(recorder):  # type: ignore[misc, valid-type]
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if data == b"boom":
                raise RuntimeError("protocol bug")
            super().datagram_received(data, addr)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, sproto = await loop.create_datagram_endpoint(
            FailsOnBoom, local_addr=("127.0.0.1", 0)
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            own_blocking_call(sender.sendto, b"boom", server.get_extra_info("sockname"))
            own_blocking_call(sender.sendto, b"fine", server.get_extra_info("sockname"))
            try:
                assert (await sproto.next_datagram())[0] == b"fine"
                assert not server.is_closing()
            finally:
                server.close()

    run_any(main())
    assert [type(context["exception"]) for context in reported] == [RuntimeError]


# ----------------------------------------------------------------------
# Identity and extra info
# ----------------------------------------------------------------------


def test_extra_info_and_identity(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        server, _, client, cproto = await _udp_pair(recorder)
        try:
            assert isinstance(client, asyncio.Transport)  # as asyncio's own
            sock = client.get_extra_info("socket")
            assert sock.type == socket.SOCK_DGRAM
            assert client.get_extra_info("sockname") == sock.getsockname()
            assert client.get_extra_info("peername") == server.get_extra_info("sockname")
            assert server.get_extra_info("peername") is None
            assert client.get_extra_info("nothing", "default") == "default"
            assert client.get_protocol() is cproto
        finally:
            client.close()
            server.close()

    run_any(main())


def test_is_a_datagram_transport(run: Any, recorder: Any) -> None:
    async def main() -> None:
        server, _, client, _ = await _udp_pair(recorder)
        try:
            assert isinstance(client, asyncio.DatagramTransport)
            assert "fd=" in repr(client) and "read=polling" in repr(client)
        finally:
            client.close()
            server.close()

    run(main())


def test_the_transport_owns_its_fd(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            recorder, local_addr=("127.0.0.1", 0)
        )
        fd = transport.get_extra_info("socket").fileno()
        with pytest.raises(RuntimeError, match="is used by transport"):
            loop.add_reader(fd, print)
        with pytest.raises(RuntimeError, match="is used by transport"):
            loop.remove_writer(fd)
        transport.close()
        await proto.lost

    run_any(main())


# The socket object, garbage too, may be finalized first and warn on its own.
@pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
def test_an_unclosed_transport_warns_and_closes_its_socket(recorder: Any) -> None:
    loop = loopkit.new_event_loop()
    try:

        async def main() -> None:
            await asyncio.get_running_loop().create_datagram_endpoint(
                recorder, local_addr=("127.0.0.1", 0)
            )

        loop.run_until_complete(main())
    finally:
        loop.close()  # drops the reader handle, the last reference
    del loop
    with pytest.warns(ResourceWarning, match="unclosed transport"):
        gc.collect()
    # The suite's leak check sees that the socket was closed.
