"""Socket files of Unix-domain servers: making room for one, and removing it.

A filesystem address leaves a socket file behind when its socket closes; a
Linux abstract address (one starting with a NUL byte) is no file at all.
This module decides which is which, removes a stale socket file before a new
server binds to the same path, and, when the server closes (Python 3.13+,
unless ``cleanup_socket=False``), removes the file it bound, but only while
that path still holds the very same file (same device and inode): a file
another process has bound there since is left alone.

What it must never do: remove anything but a socket, or a socket file that is
not the one this server made.
"""

from __future__ import annotations

import os
import stat
from asyncio.log import logger
from typing import Any, NamedTuple

#: What ``os.fspath`` gives for a Unix-socket address.
UnixPath = str | bytes


class SocketFile(NamedTuple):
    """A bound socket file, identified well enough to tell it from a newer one."""

    path: UnixPath
    device: int
    inode: int


def is_abstract(path: UnixPath) -> bool:
    """True for a Linux abstract-namespace address (no file in the filesystem)."""
    return len(path) > 0 and path[0] in (0, "\0")


def remove_stale_socket(path: UnixPath) -> None:
    """Remove a socket file at ``path`` so that a new server can bind there.

    Only a socket is removed: any other file stays, and binding then fails
    with EADDRINUSE as it does in asyncio. An error looking at the path
    (a directory we may create in but not search, say) is logged, not
    raised: the bind that follows reports the real problem.
    """
    if is_abstract(path):
        return
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        logger.error("Unable to check or remove stale UNIX socket %r: %r", path, err)


def bound_file(sock: Any) -> SocketFile | None:
    """The socket file ``sock`` is bound to, or None (abstract, unbound, gone).

    A relative path is made absolute now, so that the right file is removed
    later even if the working directory changes in between.
    """
    name = sock.getsockname()
    if not isinstance(name, str | bytes) or not name or is_abstract(name):
        return None
    path = os.path.abspath(name)
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISSOCK(info.st_mode):
        return None
    return SocketFile(path, info.st_dev, info.st_ino)


def remove_socket_file(file: SocketFile) -> None:
    """Remove ``file`` if its path still holds that same socket file."""
    try:
        info = os.stat(file.path)
        if (info.st_dev, info.st_ino) == (file.device, file.inode):
            os.unlink(file.path)
    except FileNotFoundError:
        pass
    except OSError as err:
        logger.error("Unable to clean up listening UNIX socket %r: %r", file.path, err)
