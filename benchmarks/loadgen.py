"""The load generator of the echo benchmarks: a separate process, plain sockets.

Usage (a transport scenario starts it; run it by hand to try a server)::

    python benchmarks/loadgen.py KIND ADDRESS --size BYTES --clients N
                                 --warmup N --requests N [--cafile PEM]

KIND is ``tcp``, ``tls``, ``unix``, ``udp`` or ``ws``; ADDRESS is
``host:port`` or a socket path. Each client is a thread with its own blocking
socket that sends one message of ``--size`` bytes and waits for the whole
echo before sending the next. ``ws`` is a websocket client (RFC 6455) over
TCP: each connection first makes the HTTP upgrade handshake to ``/``, then
sends every message as one masked text frame and reads the unmasked echo
frame back; the frame is built once (same mask every time: a server never
checks that masks vary), so a request costs this process two system calls,
as for ``tcp``. All clients first make ``--warmup`` requests between them, then the
generator prints ``start`` on stdout, makes ``--requests`` requests, and prints
``done``. The server under test times its own process between the two lines.

This program is the same for every loop under test, and it never imports an
event loop: the load must not depend on what is measured. Any failure is
printed as ``error: ...`` and the process exits with status 2.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import ssl
import sys
import threading
from collections.abc import Sequence
from typing import Any

#: Kernel buffers asked for on each client socket, so that a 100 KiB message
#: and its echo always fit in flight while the client is still sending.
_SOCKET_BUFFER = 1 << 20

#: A UDP echo that has not come back after this long is lost: give up.
_UDP_TIMEOUT = 5.0


def _fail(message: str) -> None:
    """Report a failure on the control channel and end the process at once."""
    sys.stdout.write(f"error: {message}\n")
    sys.stdout.flush()
    os._exit(2)


def _connect(kind: str, address: str, cafile: str | None) -> Any:
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: Any = address
    else:
        host, _, port = address.rpartition(":")
        udp = kind == "udp"
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        target = (host, int(port))
        if udp:
            sock.settimeout(_UDP_TIMEOUT)
        else:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if kind != "udp":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCKET_BUFFER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_BUFFER)
    sock.connect(target)
    if kind == "tls":
        context = ssl.create_default_context(cafile=cafile)
        sock = context.wrap_socket(sock, server_hostname="localhost")
    elif kind == "ws":
        _websocket_handshake(sock, address)
    return sock


def _websocket_handshake(sock: socket.socket, address: str) -> None:
    """Upgrade a fresh connection to a websocket; raise ConnectionError if refused."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET / HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the server closed the connection during the handshake")
        response += chunk
    status = response.split(b"\r\n", 1)[0]
    if b" 101 " not in status + b" ":
        raise ConnectionError(f"websocket upgrade refused: {status.decode(errors='replace')}")


def websocket_frames(size: int) -> tuple[bytes, int]:
    """(one masked text frame of ``size`` bytes, the size of its echo frame)."""
    payload = bytes(ord("a") + i % 26 for i in range(size))
    if size < 126:
        header, echo_header = bytes((0x81, 0x80 | size)), 2
    elif size < 65536:
        header, echo_header = bytes((0x81, 0x80 | 126)) + size.to_bytes(2, "big"), 4
    else:
        header, echo_header = bytes((0x81, 0x80 | 127)) + size.to_bytes(8, "big"), 10
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return header + mask + masked, echo_header + size


def _exactly(sock: Any, view: memoryview, size: int) -> None:
    received = 0
    while received < size:
        got = sock.recv_into(view[received:size])
        if not got:
            raise ConnectionError("the server closed the connection mid-echo")
        received += got


def _stream_requests(sock: Any, message: bytes, count: int, reply: int) -> None:
    view = memoryview(bytearray(reply))
    for _ in range(count):
        sock.sendall(message)
        _exactly(sock, view, reply)


def _datagram_requests(sock: socket.socket, message: bytes, count: int, reply: int) -> None:
    size = len(message)
    for _ in range(count):
        sock.send(message)
        if len(sock.recv(size + 1)) != size:
            raise ConnectionError("the echoed datagram has the wrong size")


def _share(total: int, clients: int, index: int) -> int:
    """Client ``index``'s part of ``total`` requests (the parts add up to it)."""
    return total // clients + (1 if index < total % clients else 0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("tcp", "tls", "unix", "udp", "ws"))
    parser.add_argument("address")
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--cafile", default=None)
    args = parser.parse_args(argv)

    if args.kind == "ws":
        message, reply = websocket_frames(args.size)
    else:
        message = os.urandom(args.size)
        reply = args.size
    run = _datagram_requests if args.kind == "udp" else _stream_requests
    try:
        sockets = [_connect(args.kind, args.address, args.cafile) for _ in range(args.clients)]
    except OSError as exc:
        _fail(f"cannot connect to {args.address}: {exc!r}")
    # Every client and the main thread meet twice: after the warm-up (the
    # main thread then prints "start") and once "start" is out.
    gate = threading.Barrier(args.clients + 1)

    def client(index: int) -> None:
        sock = sockets[index]
        try:
            run(sock, message, _share(args.warmup, args.clients, index), reply)
            gate.wait()
            gate.wait()
            run(sock, message, _share(args.requests, args.clients, index), reply)
        except Exception as exc:  # any failure ends the run
            _fail(f"client {index}: {exc!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    gate.wait()
    sys.stdout.write("start\n")
    sys.stdout.flush()
    gate.wait()
    for thread in threads:
        thread.join()
    sys.stdout.write("done\n")
    sys.stdout.flush()
    for sock in sockets:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
