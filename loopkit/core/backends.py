"""Resolver and executor backends, as plugins offer them (like :class:`PollerInfo`).

A plugin answers ``loopkit_resolvers()`` / ``loopkit_executors()`` with
these records; assembly picks one of each by name (``resolver=`` /
``executor=``, ``LOOPKIT_RESOLVER`` / ``LOOPKIT_EXECUTOR``) or, when none is
named, the available one with the highest priority. The choice is made once
per assembled loop class, so it costs nothing per call: the chosen
resolver's two functions *are* the loop's ``getaddrinfo`` and
``getnameinfo``, and the chosen executor's ``create`` is called once per
loop, on the first ``run_in_executor(None, ...)``.

What this module must never do: import a backend's library. A backend that
needs one says so through ``is_available`` and ``install_hint``.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any

from loopkit.core.records import FrozenRecord, always


class ResolverInfo(FrozenRecord):
    """A name-resolution backend.

    ``getaddrinfo(loop, host, port, *, family=0, type=0, proto=0, flags=0)``
    and ``getnameinfo(loop, sockaddr, flags=0)`` are coroutine functions
    with the parameters of asyncio's loop methods (the loop comes first, as
    ``self``): assembly installs them as the loop's methods. They must
    answer like :func:`socket.getaddrinfo` / :func:`socket.getnameinfo`
    (same tuples, :class:`socket.gaierror` with the same errno) and never
    block the loop. ``is_available`` is asked before the backend is used;
    ``install_hint`` tells a user who chose an unavailable backend how to get
    it (for example ``pip install 'loopkit-asyncio[aiodns]'``).
    """

    # Field order, not sorted: it is the order of construction and of the repr.
    __slots__ = (  # noqa: RUF023
        "name",
        "getaddrinfo",
        "getnameinfo",
        "priority",
        "is_available",
        "description",
        "install_hint",
    )

    name: str
    getaddrinfo: Callable[..., Awaitable[list[tuple[Any, ...]]]]
    getnameinfo: Callable[..., Awaitable[tuple[str, str]]]
    priority: int
    is_available: Callable[[], bool]
    description: str
    install_hint: str

    def __init__(
        self,
        name: str,
        getaddrinfo: Callable[..., Awaitable[list[tuple[Any, ...]]]],
        getnameinfo: Callable[..., Awaitable[tuple[str, str]]],
        priority: int = 0,
        is_available: Callable[[], bool] = always,
        description: str = "",
        install_hint: str = "",
    ) -> None:
        self._set(name, getaddrinfo, getnameinfo, priority, is_available, description, install_hint)


class ExecutorInfo(FrozenRecord):
    """A default-executor backend.

    ``create()`` makes the pool behind ``run_in_executor(None, ...)``. It is
    called lazily, once per loop, on the first such call. It must return a
    :class:`concurrent.futures.ThreadPoolExecutor` (asyncio's
    ``set_default_executor`` accepts nothing else, and code written for
    asyncio may rely on it), typically a subclass.
    """

    # Field order, not sorted: it is the order of construction and of the repr.
    __slots__ = (  # noqa: RUF023
        "name",
        "create",
        "priority",
        "is_available",
        "description",
        "install_hint",
    )

    name: str
    create: Callable[[], concurrent.futures.ThreadPoolExecutor]
    priority: int
    is_available: Callable[[], bool]
    description: str
    install_hint: str

    def __init__(
        self,
        name: str,
        create: Callable[[], concurrent.futures.ThreadPoolExecutor],
        priority: int = 0,
        is_available: Callable[[], bool] = always,
        description: str = "",
        install_hint: str = "",
    ) -> None:
        self._set(name, create, priority, is_available, description, install_hint)
