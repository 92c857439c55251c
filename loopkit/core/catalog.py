"""Which built-in plugin provides which method of the asyncio loop API.

Used only to write helpful errors: on a trimmed loop, calling
``loop.create_connection()`` should say that the ``tcp`` plugin provides it
and how to enable it, without importing the tcp plugin to find out. Third
party plugins are not listed; for their methods the error says that no
enabled plugin provides the method.
"""

from __future__ import annotations

import asyncio

KERNEL = "kernel"

#: Plugins that every loop has: ``asyncio.run`` and ``asyncio.Runner`` call
#: ``shutdown_default_executor`` on every loop they make.
ESSENTIAL_PLUGINS = ("executor",)

#: Poller plugins shipped with loopkit. They are candidates in every loop
#: (unless excluded by name), even when ``plugins=`` lists only families.
BUILTIN_POLLERS = ("epoll", "kqueue", "poll", "select")

#: Built-in plugins that are installed but not autoloaded: a loop has them
#: only when they are named (``enable=``, ``plugins=``, ``LOOPKIT_ENABLE``).
#: The instruments plugin measures every loop iteration; a loop that did not
#: ask for it must not pay for it.
OPT_IN_PLUGINS = ("instruments",)

BUILTIN_METHOD_OWNERS: dict[str, str] = {
    **dict.fromkeys(
        (
            "run_in_executor",
            "set_default_executor",
            "shutdown_default_executor",
        ),
        "executor",
    ),
    **dict.fromkeys(("getaddrinfo", "getnameinfo"), "resolver"),
    **dict.fromkeys(
        (
            "create_connection",
            "create_server",
            "connect_accepted_socket",
            "sendfile",
            "start_tls",
            "sock_recv",
            "sock_recv_into",
            "sock_sendall",
            "sock_connect",
            "sock_accept",
            "sock_sendfile",
        ),
        "tcp",
    ),
    **dict.fromkeys(
        (
            "create_datagram_endpoint",
            "sock_sendto",
            "sock_recvfrom",
            "sock_recvfrom_into",
        ),
        "udp",
    ),
    **dict.fromkeys(("create_unix_connection", "create_unix_server"), "unix"),
    **dict.fromkeys(("connect_read_pipe", "connect_write_pipe"), "pipes"),
    **dict.fromkeys(("add_signal_handler", "remove_signal_handler"), "signals"),
    **dict.fromkeys(("subprocess_exec", "subprocess_shell"), "subprocess"),
}


def abstract_loop_methods() -> list[str]:
    """The public methods of :class:`asyncio.AbstractEventLoop` on this Python."""
    return sorted(
        name
        for name, value in vars(asyncio.AbstractEventLoop).items()
        if not name.startswith("_") and callable(value)
    )
