"""A sock_* call whose socket is closed while it waits (loopkit.plugins' watchers).

Libraries cancel a pending sock_recv (or sendall, accept, ...) and close the
socket, or close it first and cancel after. Each case runs on asyncio's loop
and on loopkit's, over TCP, UDP and Unix stream and datagram sockets: the
waiter is cancelled as on asyncio (or, woken before the
cancel, gets the closed socket's EBADF, as on asyncio), and no watcher or fd owner is left.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import tempfile
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

Pair = tuple[socket.socket, socket.socket]


def _stream(family: int) -> Pair:
    if family == socket.AF_UNIX:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            a = socket.create_connection(listener.getsockname())
            b, _ = listener.accept()
    return a, b


def _datagram(family: int, connected: bool) -> Pair:
    if family == socket.AF_UNIX and connected:
        return socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a = socket.socket(family, socket.SOCK_DGRAM)
    b = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_UNIX:
        where = tempfile.mkdtemp()
        a.bind(os.path.join(where, "a"))
        b.bind(os.path.join(where, "b"))
    else:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
    if connected:
        a.connect(b.getsockname())
    return a, b


def _listener(family: int) -> Pair:
    a = socket.socket(family, socket.SOCK_STREAM)
    a.bind(os.path.join(tempfile.mkdtemp(), "s") if family == socket.AF_UNIX else ("127.0.0.1", 0))
    a.listen()
    return a, socket.socket()


def _fill(a: socket.socket, b: socket.socket) -> None:
    """Fill a's send path until the kernel says "try again"."""
    try:
        while True:
            if a.type == socket.SOCK_DGRAM:
                a.sendto(b"x" * 100, b.getsockname())
            else:
                a.send(b"x" * 65536)
    except BlockingIOError:
        pass


Call = Callable[[Any, socket.socket, socket.socket], Coroutine[Any, Any, Any]]
UNIX, INET = socket.AF_UNIX, socket.AF_INET

#: (id, make the pair, the call that waits)
CASES: list[tuple[str, Callable[[], Pair], Call]] = []
for _name, _family in (("unix", UNIX), ("tcp", INET)):
    CASES += [
        (f"{_name}-recv", lambda f=_family: _stream(f), lambda lp, a, b: lp.sock_recv(a, 10)),
        (
            f"{_name}-recv_into",
            lambda f=_family: _stream(f),
            lambda lp, a, b: lp.sock_recv_into(a, bytearray(10)),
        ),
        (
            f"{_name}-sendall",
            lambda f=_family: _stream(f),
            lambda lp, a, b: (_fill(a, b), lp.sock_sendall(a, b"y" * 1_000_000))[1],
        ),
        (f"{_name}-accept", lambda f=_family: _listener(f), lambda lp, a, b: lp.sock_accept(a)),
    ]
for _name, _family, _connected in (
    ("unix-dgram", UNIX, True),
    ("unix-dgram-unconnected", UNIX, False),
    ("udp", INET, True),
    ("udp-unconnected", INET, False),
):
    CASES += [
        (
            f"{_name}-recvfrom",
            lambda f=_family, c=_connected: _datagram(f, c),
            lambda lp, a, b: lp.sock_recvfrom(a, 10),
        ),
        (
            f"{_name}-recvfrom_into",
            lambda f=_family, c=_connected: _datagram(f, c),
            lambda lp, a, b: lp.sock_recvfrom_into(a, bytearray(10)),
        ),
    ]
CASES.append(
    (
        "unix-dgram-unconnected-sendto",
        lambda: _datagram(UNIX, False),
        lambda lp, a, b: (_fill(a, b), lp.sock_sendto(a, b"y" * 100, b.getsockname()))[1],
    )
)


def _left_behind(loop: Any, fd: int) -> list[str]:
    """What ``loop`` still keeps for ``fd``: watchers, poller keys, an owner."""
    selector = getattr(loop, "_selector", None)
    if selector is not None:  # asyncio
        return [f"selector key {key!r}" for key in selector.get_map().values() if key.fd == fd]
    left = [f"{name} watcher" for name in ("_readers", "_writers") if fd in getattr(loop, name)]
    if loop._fd_owners.get(fd) is not None:
        left.append("fd owner")
    return left


@pytest.mark.parametrize("order", ["cancel-then-close", "close-then-cancel"])
@pytest.mark.parametrize(("make", "call"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_closing_the_socket_of_a_waiting_call(
    any_loop: Any, run_any: Any, make: Callable[[], Pair], call: Call, order: str
) -> None:
    async def main() -> None:
        a, b = make()
        a.setblocking(False)
        fd = a.fileno()
        try:
            waiting = asyncio.ensure_future(call(any_loop, a, b))
            await asyncio.sleep(0.01)
            assert not waiting.done()
            if order == "cancel-then-close":
                waiting.cancel()
                a.close()
            else:
                a.close()
                await asyncio.sleep(0.01)  # epoll has dropped the fd by itself
                waiting.cancel()
            try:
                await waiting
            except asyncio.CancelledError:
                pass
            except OSError as exc:
                # Woken between the close and the cancel (a datagram sender,
                # once its queue drains): the retry meets the closed socket.
                assert exc.errno == errno.EBADF and order == "close-then-cancel"
            else:  # pragma: no cover - a bug
                pytest.fail("the call ended normally on a closed socket")
            await asyncio.sleep(0)
            assert _left_behind(any_loop, fd) == []
        finally:
            a.close()
            b.close()

    run_any(main())
