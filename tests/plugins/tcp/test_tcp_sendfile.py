"""loop.sendfile and loop.sock_sendfile, native and fallback."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from noblocking import own_blocking_call
from tcphelpers import Recorder, fill_kernel_buffers, socket_pair

from loopkit.plugins.tcp import sendfile as sendfile_module

DATA = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    return path


class NoFileno(io.BytesIO):
    """A binary file object with no OS-level file behind it."""

    mode = "rb"


async def receive_all(peer: Any, nbytes: int) -> bytes:
    loop = asyncio.get_running_loop()
    data = bytearray()
    while len(data) < nbytes:
        chunk = await loop.sock_recv(peer, 1 << 20)
        if not chunk:
            break
        data += chunk
    return bytes(data)


@pytest.fixture(params=["page-cache", "helper-thread"])
def native_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a native-path test both ways: cached data sent from the loop thread
    (``preadv(RWF_NOWAIT)`` + ``send``), and every block through
    ``os.sendfile`` in a helper thread (as for data not in the page cache)."""
    if request.param == "helper-thread":
        monkeypatch.setattr(sendfile_module, "_RWF_NOWAIT", None)
    elif sendfile_module._RWF_NOWAIT is None:
        pytest.skip("preadv(RWF_NOWAIT) is not available on this platform")
    return str(request.param)


def test_cached_data_is_sent_without_a_thread_hop_and_the_rest_by_os_sendfile(
    run: Any, loop: Any, data_file: Path, native_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page-cache path never calls os.sendfile; the helper path does."""
    calls: list[int] = []
    real_sendfile = os.sendfile

    def counting_sendfile(*args: Any) -> int:
        calls.append(args[3])
        return real_sendfile(*args)

    monkeypatch.setattr(sendfile_module.os, "sendfile", counting_sendfile)

    async def main() -> None:
        a, b = socket_pair()
        with data_file.open("rb") as f:
            sending = loop.create_task(loop.sock_sendfile(a, f))
            assert await receive_all(b, len(DATA)) == DATA
            assert await sending == len(DATA)
            assert f.tell() == len(DATA)
        a.close()
        b.close()

    run(main())
    assert (calls == []) == (native_path == "page-cache")


def test_sock_sendfile_native_whole_file(
    run: Any, loop: Any, data_file: Path, native_path: str
) -> None:
    async def main() -> None:
        a, b = socket_pair()
        with data_file.open("rb") as f:
            sending = loop.create_task(loop.sock_sendfile(a, f))
            assert await receive_all(b, len(DATA)) == DATA
            assert await sending == len(DATA)
            assert f.tell() == len(DATA)
        a.close()
        b.close()

    run(main())


def test_sock_sendfile_offset_and_count(
    run: Any, loop: Any, data_file: Path, native_path: str
) -> None:
    async def main() -> None:
        a, b = socket_pair()
        with data_file.open("rb") as f:
            assert await loop.sock_sendfile(a, f, 1000, 2000) == 2000
            assert f.tell() == 3000
            assert await receive_all(b, 2000) == DATA[1000:3000]
        a.close()
        b.close()

    run(main())


def test_sock_sendfile_falls_back_without_a_real_file(run: Any, loop: Any) -> None:
    async def main() -> None:
        a, b = socket_pair()
        f = NoFileno(DATA)
        sending = loop.create_task(loop.sock_sendfile(a, f, 10))
        assert await receive_all(b, len(DATA) - 10) == DATA[10:]
        assert await sending == len(DATA) - 10
        assert f.tell() == len(DATA)
        with pytest.raises(asyncio.SendfileNotAvailableError):
            await loop.sock_sendfile(a, NoFileno(DATA), fallback=False)
        a.close()
        b.close()

    run(main())


def test_sock_sendfile_falls_back_without_os_sendfile(
    run: Any, loop: Any, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sendfile_module, "_HAS_SENDFILE", False)

    async def main() -> None:
        a, b = socket_pair()
        with data_file.open("rb") as f:
            with pytest.raises(asyncio.SendfileNotAvailableError, match="not available"):
                await loop.sock_sendfile(a, f, fallback=False)
            sending = loop.create_task(loop.sock_sendfile(a, f, 0, 5000))
            assert await receive_all(b, 5000) == DATA[:5000]
            assert await sending == 5000
        a.close()
        b.close()

    run(main())


def test_sock_sendfile_argument_checks(run: Any, loop: Any, data_file: Path) -> None:
    async def main() -> None:
        a, b = socket_pair()
        with data_file.open("r") as text, pytest.raises(ValueError, match="binary mode"):
            await loop.sock_sendfile(a, text)
        with data_file.open("rb") as f:
            with pytest.raises(ValueError, match="count must be a positive integer"):
                await loop.sock_sendfile(a, f, 0, 0)
            with pytest.raises(TypeError, match="count must be a positive integer"):
                await loop.sock_sendfile(a, f, 0, "1")
            with pytest.raises(ValueError, match="offset must be a non-negative integer"):
                await loop.sock_sendfile(a, f, -1)
            with pytest.raises(TypeError, match="offset must be a non-negative integer"):
                await loop.sock_sendfile(a, f, "0")
        a.close()
        b.close()

    run(main())


def test_sock_sendfile_empty_file(run: Any, loop: Any, tmp_path: Path) -> None:
    async def main() -> None:
        empty = tmp_path / "empty"
        own_blocking_call(empty.write_bytes, b"")
        a, b = socket_pair()
        with empty.open("rb") as f:
            assert await loop.sock_sendfile(a, f) == 0
        a.close()
        b.close()

    run(main())


async def transport_and_peer() -> tuple[Any, Recorder, Any]:
    loop = asyncio.get_running_loop()
    ours, peer = socket_pair()
    transport, proto = await loop.create_connection(Recorder, sock=ours)
    return transport, proto, peer


def test_sendfile_over_a_transport(run: Any, loop: Any, data_file: Path, native_path: str) -> None:
    async def main() -> None:
        transport, proto, peer = await transport_and_peer()
        transport.write(b"header:")
        with data_file.open("rb") as f:
            sending = loop.create_task(loop.sendfile(transport, f, 100, 100_000))
            assert await receive_all(peer, 7 + 100_000) == b"header:" + DATA[100:100_100]
            assert await sending == 100_000
            assert f.tell() == 100_100
        transport.write(b":trailer")  # writes work again afterwards
        assert await receive_all(peer, 8) == b":trailer"
        assert transport.is_reading()
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_sendfile_waits_for_queued_writes_first(run: Any, loop: Any, data_file: Path) -> None:
    async def main() -> None:
        transport, proto, peer = await transport_and_peer()
        in_kernel = fill_kernel_buffers(transport.get_extra_info("socket")._sock)
        transport.write(b"queued")
        with data_file.open("rb") as f:
            sending = loop.create_task(loop.sendfile(transport, f, 0, 1000))
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="sendfile is in progress"):
                transport.write(b"not now")
            with pytest.raises(RuntimeError, match="sendfile is in progress"):
                transport.writelines([b"not now"])
            received = await receive_all(peer, in_kernel + 6 + 1000)
            assert received[in_kernel:] == b"queued" + DATA[:1000]
            assert await sending == 1000
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_sendfile_fallback_over_a_transport(run: Any, loop: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await transport_and_peer()
        transport.set_write_buffer_limits(high=16384)  # the fallback must follow it
        f = NoFileno(DATA)
        sending = loop.create_task(loop.sendfile(transport, f))
        assert await receive_all(peer, len(DATA)) == DATA
        assert await sending == len(DATA)
        assert transport.get_protocol() is proto  # the real protocol is back
        assert transport.is_reading()
        with pytest.raises(asyncio.SendfileNotAvailableError):
            await loop.sendfile(transport, NoFileno(DATA), fallback=False)
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_sendfile_on_a_closing_transport(run: Any, loop: Any, data_file: Path) -> None:
    async def main() -> None:
        transport, proto, peer = await transport_and_peer()
        transport.close()
        with data_file.open("rb") as f, pytest.raises(RuntimeError, match="Transport is closing"):
            await loop.sendfile(transport, f)
        await proto.lost
        peer.close()

    run(main())


def test_sendfile_to_a_peer_that_resets(run: Any, loop: Any, tmp_path: Path) -> None:
    async def main() -> None:
        big = tmp_path / "big"
        own_blocking_call(
            big.write_bytes, os.urandom(1 << 20) * 16
        )  # 16 MiB: more than the kernel holds
        transport, proto, peer = await transport_and_peer()
        with big.open("rb") as f:
            sending = loop.create_task(loop.sendfile(transport, f))
            await asyncio.sleep(0.02)
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            peer.close()
            with pytest.raises((ConnectionError, OSError)):
                await sending
            assert 0 < f.tell() < 16 << 20  # positioned after what was sent
        transport.abort()
        await proto.lost

    run(main())


def test_sock_sendfile_refuses_a_blocking_socket_in_debug_mode(
    run: Any, loop: Any, data_file: Path
) -> None:
    loop.set_debug(True)

    async def main() -> None:
        a, b = socket_pair()
        a.setblocking(True)
        expected = pytest.raises(ValueError, match="the socket must be non-blocking")
        with data_file.open("rb") as f, expected:
            await loop.sock_sendfile(a, f)
        a.close()
        b.close()

    run(main())
