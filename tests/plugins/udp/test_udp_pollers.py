"""Datagrams and ICMP errors reach the protocol under every poller backend."""

from __future__ import annotations

import asyncio
from typing import Any


def test_echo_and_refusal_under_each_poller(
    poller_loop: asyncio.AbstractEventLoop,
    recorder: Any,
    echo: Any,
    closed_udp_port: tuple[str, int],
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, _ = await loop.create_datagram_endpoint(echo, local_addr=("127.0.0.1", 0))
        client, cproto = await loop.create_datagram_endpoint(
            recorder, remote_addr=server.get_extra_info("sockname")
        )
        doomed, dproto = await loop.create_datagram_endpoint(recorder, remote_addr=closed_udp_port)
        try:
            for number in range(50):
                client.sendto(b"%d" % number)
            for number in range(50):
                assert (await cproto.next_datagram())[0] == b"%d" % number
            doomed.sendto(b"x")
            assert isinstance(await dproto.next_error(), ConnectionRefusedError)
        finally:
            for transport in (server, client, doomed):
                transport.close()
        await cproto.lost
        await dproto.lost

    poller_loop.run_until_complete(asyncio.wait_for(main(), 10))
