"""Every loopkit transport class has the public methods of asyncio's counterpart.

Code written for asyncio calls transport methods it has no reason to doubt:
a write pipe is a full ``Transport`` in asyncio, so ``pause_reading()`` on it
raises NotImplementedError, which a caller may catch; an AttributeError
would escape. So, for each kind of transport, one real instance is made on
asyncio's loop and one on loopkit's (over real sockets, pipes and a real
child process), and:

* the public methods of the two classes are the same names;
* loopkit's is an instance of at least the asyncio ABCs asyncio's is;
* every method asyncio leaves abstract (its implementation is the one in
  ``asyncio.transports``) behaves alike: NotImplementedError on both, or on
  neither.

A transport class added under ``plugins/`` without a case here fails
:func:`test_every_plugin_transport_class_is_compared`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import pkgutil
import socket
import ssl
import subprocess
import sys
from asyncio import base_subprocess, selector_events, sslproto, transports, unix_events
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

import loopkit.plugins
import loopkit.transports

T = TypeVar("T")

#: Arguments for the abstract methods that take some; the others take none.
CALL_ARGS: dict[str, tuple[Any, ...]] = {
    "write": (b"x",),
    "writelines": ([b"x"],),
    "get_extra_info": ("sockname",),
    "send_signal": (0,),
    "get_pipe_transport": (0,),
    "set_protocol": (asyncio.Protocol(),),
    "sendto": (b"x",),
}

#: The asyncio ABCs a transport may be an instance of.
ABCS = (
    transports.BaseTransport,
    transports.ReadTransport,
    transports.WriteTransport,
    transports.Transport,
    transports.DatagramTransport,
    transports.SubprocessTransport,
)

#: The asyncio class each kind's instance must be, on asyncio's loop.
COUNTERPARTS: dict[str, type] = {
    "stream": selector_events._SelectorSocketTransport,
    "tls": sslproto._SSLProtocolTransport,
    "datagram": selector_events._SelectorDatagramTransport,
    "read pipe": unix_events._UnixReadPipeTransport,
    "write pipe": unix_events._UnixWritePipeTransport,
    "subprocess": base_subprocess.BaseSubprocessTransport,
    "subprocess stdin": unix_events._UnixWritePipeTransport,
    "subprocess stdout": unix_events._UnixReadPipeTransport,
}


def public_methods(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_") and callable(getattr(cls, name))}


def abstract_in_asyncio(cls: type) -> list[str]:
    """Public methods whose implementation on ``cls`` is the one of asyncio's ABCs."""
    names = []
    for name in sorted(public_methods(cls)):
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        if owner.__module__ == transports.__name__:
            names.append(name)
    return names


def raises_not_implemented(transport: Any, name: str) -> bool:
    try:
        getattr(transport, name)(*CALL_ARGS.get(name, ()))
    except NotImplementedError:
        return True
    return False


# -- one real transport of each kind, on whatever loop runs ------------------


@asynccontextmanager
async def stream() -> AsyncIterator[Any]:
    loop = asyncio.get_running_loop()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        transport, _ = await loop.create_connection(asyncio.Protocol, *listener.getsockname()[:2])
        peer, _ = listener.accept()
        with peer:
            yield transport
            transport.close()
            await asyncio.sleep(0.01)


@asynccontextmanager
async def tls(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> AsyncIterator[Any]:
    loop = asyncio.get_running_loop()
    served: list[asyncio.BaseTransport] = []

    class Served(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            served.append(transport)

    server = await loop.create_server(Served, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(
        asyncio.Protocol, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
    )
    yield transport
    transport.abort()
    for other in served:
        other.abort()
    server.close()
    await server.wait_closed()


@asynccontextmanager
async def datagram() -> AsyncIterator[Any]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    yield transport
    transport.close()
    await asyncio.sleep(0.01)


@asynccontextmanager
async def pipe(direction: str) -> AsyncIterator[Any]:
    """A ``direction`` ("read" or "write") pipe transport on one end of a new
    pipe; the other end stays open meanwhile."""
    loop = asyncio.get_running_loop()
    rfd, wfd = os.pipe()
    read_end, write_end = os.fdopen(rfd, "rb", 0), os.fdopen(wfd, "wb", 0)
    mine, other = (read_end, write_end) if direction == "read" else (write_end, read_end)
    connect = loop.connect_read_pipe if direction == "read" else loop.connect_write_pipe
    with other:
        transport, _ = await connect(asyncio.Protocol, mine)  # and closes ``mine``
        yield transport
        transport.close()
        await asyncio.sleep(0.01)


@asynccontextmanager
async def child() -> AsyncIterator[Any]:
    loop = asyncio.get_running_loop()
    exited = loop.create_future()

    class Child(asyncio.SubprocessProtocol):
        def process_exited(self) -> None:
            exited.set_result(None)

    transport, _ = await loop.subprocess_exec(
        Child,
        sys.executable,
        "-c",
        "import sys; sys.stdin.read()",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield transport
    finally:
        transport.get_pipe_transport(0).close()  # EOF: the child ends
        await asyncio.wait_for(exited, 10)
        transport.close()
        await asyncio.sleep(0.01)


@asynccontextmanager
async def child_pipe(fd: int) -> AsyncIterator[Any]:
    async with child() as process:
        yield process.get_pipe_transport(fd)


def maker(kind: str, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> Callable[[], Any]:
    return {
        "stream": stream,
        "tls": lambda: tls(server_ctx, client_ctx),
        "datagram": datagram,
        "read pipe": lambda: pipe("read"),
        "write pipe": lambda: pipe("write"),
        "subprocess": child,
        "subprocess stdin": lambda: child_pipe(0),
        "subprocess stdout": lambda: child_pipe(1),
    }[kind]


async def probe(make: Callable[[], Any], names: list[str]) -> tuple[type, dict[str, bool]]:
    """The transport's class, and for each of ``names`` (the methods asyncio's
    class leaves abstract) whether calling it raises NotImplementedError."""
    async with make() as transport:
        return type(transport), {name: raises_not_implemented(transport, name) for name in names}


def run_on(new_loop: Callable[[], asyncio.AbstractEventLoop], coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a new loop of that kind (failing after 30 s); close the loop."""
    loop = new_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, 30))
    finally:
        loop.close()


@pytest.mark.parametrize("kind", list(COUNTERPARTS))
def test_transport_matches_asyncio(
    kind: str, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    make = maker(kind, server_ctx, client_ctx)
    counterpart = COUNTERPARTS[kind]
    names = abstract_in_asyncio(counterpart)
    asyncio_class, asyncio_raises = run_on(asyncio.new_event_loop, probe(make, names))
    loopkit_class, loopkit_raises = run_on(loopkit.new_event_loop, probe(make, names))
    assert issubclass(asyncio_class, counterpart)
    assert loopkit_class.__module__.startswith(("loopkit.plugins.", "loopkit.transports."))
    assert public_methods(loopkit_class) == public_methods(asyncio_class)
    assert {abc for abc in ABCS if issubclass(asyncio_class, abc)} <= {
        abc for abc in ABCS if issubclass(loopkit_class, abc)
    }
    assert loopkit_raises == asyncio_raises


def plugin_transport_classes() -> set[type]:
    """Every concrete transport class of the built-in plugins and the shared bases."""
    found = set()
    packages = [(loopkit.plugins, "loopkit.plugins."), (loopkit.transports, "loopkit.transports.")]
    for package, prefix in packages:
        found |= _transport_classes_in(package.__path__, prefix)
    return found


def _transport_classes_in(path: Any, prefix: str) -> set[type]:
    found = set()
    for info in pkgutil.walk_packages(path, prefix):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if value.__module__ == module.__name__ and issubclass(value, asyncio.BaseTransport):
                found.add(value)
    return found


def test_every_plugin_transport_class_is_compared(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def classes() -> set[type]:
        found = set()
        for kind in COUNTERPARTS:
            async with maker(kind, server_ctx, client_ctx)() as transport:
                found.add(type(transport))
        return found

    compared = run_on(loopkit.new_event_loop, classes())
    assert plugin_transport_classes() == compared
