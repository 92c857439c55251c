"""The faulty system-call layer given to transports, listening sockets and pipes.

Sockets are not wrapped in a proxy (which would change their identity and
break ``isinstance`` checks and ``get_extra_info('socket')``): a socket's
class is switched, in place, to a subclass of :class:`socket.socket` whose
I/O methods may fail before calling the real one. The subclass adds no
state (``__slots__ = ()``), so the switch is allowed and the fd, the object
and everything else stay the same. One subclass is made per loop; it carries
that loop's :class:`~loopkit.testing.faults.LoopFaults` as a class attribute.

Pipe transports call ``self._os_read`` or ``self._os_readv`` and
``self._os_write``; faulty ones are set on the transport instance.

Faults strike only calls made by plugin code (the calling frame's module is
below one of the plan's ``modules``, ``loopkit`` by default, and not
``loopkit.testing``): a test that reads a socket directly sees the real
system call.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterable
from typing import Any

from loopkit.testing.faults.plan import SHORT, LoopFaults, error_for


def _from_plugin_code(modules: tuple[str, ...], depth: int) -> bool:
    name = str(sys._getframe(depth).f_globals.get("__name__", ""))
    return name.startswith(modules) and not name.startswith("loopkit.testing")


def _one_byte(data: Any) -> memoryview:
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view[:1]


class FaultySocket(socket.socket):
    """A socket whose I/O methods consult the loop's fault plan first."""

    __slots__ = ()
    _faults: LoopFaults  # set on the per-loop subclass

    def _fault(self, op: str) -> str | None:
        if not _from_plugin_code(self._faults.plan.modules, 3):
            return None
        fault = self._faults.decide(op, self.fileno())
        if fault is not None and fault != SHORT:
            raise error_for(fault)
        return fault

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._fault("recv" if self.type == socket.SOCK_STREAM else "recvfrom")
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._fault("recv_into")
        return super().recv_into(buffer, nbytes, flags)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        self._fault("recvfrom")
        return super().recvfrom(bufsize, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        self._fault("recvfrom_into")
        return super().recvfrom_into(buffer, nbytes, flags)

    def send(self, data: Any, flags: int = 0) -> int:
        # A datagram is sent whole or not at all: no short writes.
        op = "send" if self.type == socket.SOCK_STREAM else "sendto"
        if self._fault(op) == SHORT and len(data):
            return super().send(_one_byte(data), flags)
        return super().send(data, flags)

    def sendmsg(self, buffers: Iterable[Any], *args: Any) -> int:
        if self._fault("sendmsg") == SHORT:
            buffers = list(buffers)
            for buffer in buffers:
                if len(buffer):
                    return super().sendmsg([_one_byte(buffer)], *args)
        return super().sendmsg(buffers, *args)

    def sendto(self, data: Any, *args: Any) -> int:
        self._fault("sendto")
        return super().sendto(data, *args)

    def accept(self) -> tuple[socket.socket, Any]:
        self._fault("accept")
        return super().accept()


def socket_class_for(faults: LoopFaults) -> type[FaultySocket]:
    """The FaultySocket subclass bound to one loop's faults."""
    return type("FaultySocket", (FaultySocket,), {"__slots__": (), "_faults": faults})


def adopt_socket(sock: Any, klass: type[FaultySocket]) -> bool:
    """Switch a plain (or another loop's faulty) socket to ``klass``; True if done."""
    if type(sock) is socket.socket or isinstance(sock, FaultySocket):
        sock.__class__ = klass
        return True
    return False


def faulty_read(faults: LoopFaults, real: Callable[[int, int], bytes] = os.read) -> Any:
    """An ``os.read`` for one pipe transport: EINTR or EAGAIN now and then."""

    def read(fd: int, size: int) -> bytes:
        fault = faults.decide("read", fd)
        if fault is not None:
            raise error_for(fault)
        return real(fd, size)

    return read


def faulty_readv(faults: LoopFaults, real: Callable[[int, Any], int] = os.readv) -> Any:
    """An ``os.readv`` for one pipe transport: EINTR or EAGAIN now and then."""

    def readv(fd: int, buffers: Any) -> int:
        fault = faults.decide("read", fd)
        if fault is not None:
            raise error_for(fault)
        return real(fd, buffers)

    return readv


def faulty_write(faults: LoopFaults, real: Callable[[int, Any], int] = os.write) -> Any:
    """An ``os.write`` for one pipe transport: EINTR, EAGAIN, one byte or EPIPE."""

    def write(fd: int, data: Any) -> int:
        fault = faults.decide("write", fd)
        if fault == SHORT and len(data):
            return real(fd, _one_byte(data))
        if fault is not None and fault != SHORT:
            raise error_for(fault)
        return real(fd, data)

    return write
