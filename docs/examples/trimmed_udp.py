"""A loop with only the UDP family: an echo round trip, and what it cannot do.

The loop is made with ``plugins=["udp"]``: it has the kernel, the pollers,
the executor (always there), the resolver (which udp requires) and the udp
plugin. The other transport families are not imported to make or run it,
and a method of theirs raises PluginNotEnabledError, which says how to
enable it (to find which plugin provides the method, that error path reads
the ``loopkit_provides`` hook of the installed plugins the loop lacks, so it
imports their top-level modules; the loop itself never does).
"""

import asyncio
import sys

import loopkit


class Echo(asyncio.DatagramProtocol):
    """Send every datagram back where it came from."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)


class Client(asyncio.DatagramProtocol):
    """Hand the first reply to a future."""

    def __init__(self, reply: asyncio.Future[bytes]) -> None:
        self.reply = reply

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.reply.done():
            self.reply.set_result(data)


async def main() -> None:
    loop = asyncio.get_running_loop()
    server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    reply: asyncio.Future[bytes] = loop.create_future()
    client, _ = await loop.create_datagram_endpoint(
        lambda: Client(reply), remote_addr=server.get_extra_info("sockname")
    )
    try:
        client.sendto(b"ping")
        print("echoed:", (await asyncio.wait_for(reply, 5)).decode())
    finally:
        client.close()
        server.close()
    imported = families_imported()
    try:
        await asyncio.open_connection("127.0.0.1", 9)  # needs the tcp plugin
    except loopkit.PluginNotEnabledError as exc:
        print("open_connection:", exc)
    print("transport families imported:", ", ".join(imported))


FAMILIES = {"tcp", "udp", "unix", "pipes", "signals", "subprocess"}


def families_imported() -> list[str]:
    """The transport-family plugins imported so far."""
    return sorted(
        {
            name.split(".")[2]
            for name in sys.modules
            if name.startswith("loopkit.plugins.") and name.split(".")[2] in FAMILIES
        }
    )


def udp_only_loop() -> asyncio.AbstractEventLoop:
    return loopkit.new_event_loop(plugins=["udp"])


with asyncio.Runner(loop_factory=udp_only_loop) as runner:
    runner.run(main())
