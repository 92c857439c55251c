"""The sample third-party plugin (loopkit-seqpacket) passes the kit's stream contract.

The sample is built and put on ``sys.path`` (tests/kit/conftest.py); the
loops are made with the default options, so the family comes in through its
entry point, discovered as any installed plugin is. Each test also runs on a
loop with the benign fault injector (EINTR, EAGAIN, spurious wake-ups).

SOCK_SEQPACKET is a stream with message boundaries: the contract's rules of
a stream transport (order, half-close, flow control, close and abort) all
hold. Two things differ and are declared: a write is one message, with a
maximum size (``max_write_size``: the contract writes large payloads in
pieces), and the message semantics themselves are tested in
test_sample_plugin.py, since the stream contract only checks the bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from loopkit.testing import StreamContract
from loopkit.testing.stream_contract import ProtocolFactory

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SOCK_SEQPACKET") or not hasattr(socket, "AF_UNIX"),
    reason="needs AF_UNIX SOCK_SEQPACKET sockets",
)


class TestSeqpacketStreams(StreamContract):
    """loopkit-seqpacket's connections, through the stream contract."""

    fault_modules: ClassVar[tuple[str, ...]] = ("loopkit_seqpacket",)
    # Linux's default SO_SNDBUF (208 KiB) less its overhead, with room to spare.
    max_write_size: ClassVar[int | None] = 128 * 1024

    @pytest.fixture(autouse=True)
    def _installed(self, sample_on_path: Path) -> Iterator[None]:
        yield

    @contextlib.asynccontextmanager
    async def open_pair(
        self,
        loop: asyncio.AbstractEventLoop,
        client_factory: ProtocolFactory,
        server_factory: ProtocolFactory,
    ) -> AsyncIterator[None]:
        sample: Any = loop  # the methods come from the plugin, not from asyncio's stubs
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "s")
            server = await sample.create_seqpacket_server(server_factory, path)
            try:
                await sample.create_seqpacket_connection(client_factory, path)
                yield
            finally:
                server.close()
                await server.wait_closed()
