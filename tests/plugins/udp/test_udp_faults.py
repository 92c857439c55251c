"""Faults: refused peers, oversized datagrams; the endpoint, the loop and the others go on.

An ICMP "port unreachable" for a datagram sent by a *connected* endpoint is
reported by the kernel on the socket's next receive or send, as
ConnectionRefusedError; asyncio hands it to ``error_received`` and so does
loopkit. Nothing of it closes the endpoint.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from typing import Any

import pytest
from noblocking import own_blocking_call

#: The largest UDP payload over IPv4 (65535 - 8 byte UDP header - 20 byte IP header).
MAX_UDP_PAYLOAD = 65507


def test_a_refused_peer_is_reported_and_the_endpoint_keeps_working(
    run_any: Any, recorder: Any, closed_udp_port: tuple[str, int]
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            recorder, remote_addr=closed_udp_port
        )
        try:
            transport.sendto(b"anyone?")
            assert isinstance(await proto.next_error(), ConnectionRefusedError)
            assert not transport.is_closing()
            # Someone starts listening on that port: the same endpoint reaches it.
            try:
                listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                listener.bind(closed_udp_port)
            except OSError:  # pragma: no cover - another process took the port
                listener.close()
                pytest.skip("the closed port was taken in the meantime")
            with listener:
                listener.setblocking(False)
                transport.sendto(b"now?")  # may be queued a moment (EAGAIN): await it
                data, sender = await asyncio.wait_for(loop.sock_recvfrom(listener, 100), 5)
                assert data == b"now?"
                listener.sendto(b"yes", sender)
                assert (await proto.next_datagram())[0] == b"yes"
        finally:
            transport.close()
        assert await proto.lost is None
        assert proto.lost_calls == 1

    run_any(main())


def test_each_refusal_is_reported_once(
    run_any: Any, recorder: Any, closed_udp_port: tuple[str, int]
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            recorder, remote_addr=closed_udp_port
        )
        try:
            for _ in range(3):
                transport.sendto(b"x")
                assert isinstance(await proto.next_error(), ConnectionRefusedError)
            await asyncio.sleep(0.02)
            assert proto.errors.empty()
        finally:
            transport.close()

    run_any(main())


@pytest.mark.no_fault_injection(
    reason="expects the second sendto to reach the kernel at once; an injected EAGAIN "
    "queues it and the pending error surfaces later"
)
def test_a_refusal_pending_while_not_reading_comes_from_the_next_send(
    run_any: Any, recorder: Any, closed_udp_port: tuple[str, int]
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            recorder, remote_addr=closed_udp_port
        )
        try:
            transport.pause_reading()
            transport.sendto(b"first")
            await asyncio.sleep(0.05)  # the ICMP error arrives; nobody reads it
            assert proto.errors.empty()
            transport.sendto(b"second")  # this send reports it
            assert isinstance(proto.errors.get_nowait(), ConnectionRefusedError)
            assert not transport.is_closing()
        finally:
            transport.close()

    run_any(main())


def test_an_oversized_udp_datagram_goes_to_error_received(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, sproto = await loop.create_datagram_endpoint(recorder, local_addr=("127.0.0.1", 0))
        client, cproto = await loop.create_datagram_endpoint(
            recorder, remote_addr=server.get_extra_info("sockname")
        )
        try:
            client.sendto(b"x" * (MAX_UDP_PAYLOAD + 1))
            error = await cproto.next_error()
            assert isinstance(error, OSError) and error.errno == errno.EMSGSIZE
            client.sendto(b"y" * MAX_UDP_PAYLOAD)  # the largest that fits
            assert (await sproto.next_datagram())[0] == b"y" * MAX_UDP_PAYLOAD
            assert not client.is_closing()
        finally:
            client.close()
            server.close()

    run_any(main())


@pytest.mark.no_fault_injection(
    reason="reads the peer with a blocking recv right after sendto(), which may have been queued"
)
def test_a_datagram_larger_than_the_socket_buffer_goes_to_error_received(
    run_any: Any, recorder: Any, tmp_path: Any
) -> None:
    """An AF_UNIX datagram must fit the sender's buffer whole: EMSGSIZE otherwise."""
    peer_path = str(tmp_path / "peer.sock")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            recorder, remote_addr=peer_path, family=socket.AF_UNIX
        )
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        sndbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        try:
            transport.sendto(b"z" * (sndbuf + 1))
            error = await proto.next_error()
            assert isinstance(error, OSError) and error.errno == errno.EMSGSIZE
            transport.sendto(b"fits")
            assert own_blocking_call(peer.recv, 100) == b"fits"
            assert not transport.is_closing()
        finally:
            transport.close()
        await proto.lost

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as peer:
        peer.bind(peer_path)
        run_any(main())


def test_a_failing_endpoint_disturbs_neither_the_loop_nor_other_endpoints(
    run_any: Any, recorder: Any, echo: Any, closed_udp_port: tuple[str, int]
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ticks = 0

        def tick() -> None:
            nonlocal ticks
            ticks += 1
            handle[0] = loop.call_later(0.001, tick)

        handle = [loop.call_soon(tick)]
        doomed, dproto = await loop.create_datagram_endpoint(recorder, remote_addr=closed_udp_port)
        server, _ = await loop.create_datagram_endpoint(echo, local_addr=("127.0.0.1", 0))
        client, cproto = await loop.create_datagram_endpoint(
            recorder, remote_addr=server.get_extra_info("sockname")
        )
        try:
            for number in range(20):
                doomed.sendto(b"x" * (MAX_UDP_PAYLOAD + number % 2))  # refused or too big
                client.sendto(b"%d" % number)
                assert (await cproto.next_datagram())[0] == b"%d" % number
                assert isinstance(await dproto.next_error(), OSError)
            assert ticks > 0
            assert not any(t.is_closing() for t in (doomed, server, client))
        finally:
            handle[0].cancel()
            for transport in (doomed, server, client):
                transport.close()
        assert cproto.errors.empty()

    run_any(main())


def test_failed_and_successful_endpoints_leave_no_fd_open(
    run_any: Any, recorder: Any, closed_udp_port: tuple[str, int], tmp_path: Any
) -> None:
    def open_fds() -> int:
        return len(own_blocking_call(os.listdir, "/proc/self/fd"))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        before = open_fds()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind(("127.0.0.1", 0))
            for _ in range(10):
                with pytest.raises(OSError):
                    await loop.create_datagram_endpoint(recorder, local_addr=taken.getsockname())
                with pytest.raises(FileNotFoundError):
                    await loop.create_datagram_endpoint(
                        recorder, remote_addr=str(tmp_path / "missing"), family=socket.AF_UNIX
                    )
                transport, proto = await loop.create_datagram_endpoint(
                    recorder, remote_addr=closed_udp_port
                )
                transport.sendto(b"x")
                await proto.next_error()
                transport.close()
                await proto.lost
        assert open_fds() == before

    run_any(main())
