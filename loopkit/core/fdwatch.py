"""Watching file descriptors: ``add_reader`` / ``add_writer`` and their removal.

The kernel keeps one reader and one writer Handle per fd and tells the poller
the union of what is watched. The poller never sees callbacks; the kernel's
run loop turns (fd, mask) results into ready handles.

Rules: registering in the poller happens *before* the handle is stored, so a
bad fd raises (ValueError or OSError, as asyncio) and leaves nothing behind;
replacing a watcher cancels the old handle; ``remove_*`` answer whether
something was removed, and succeed even when the fd was closed first.
"""

from __future__ import annotations

from asyncio import events
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVarTuple, Unpack

from loopkit.core.poller import EVENT_READ, EVENT_WRITE, Poller

FileLike = Any  # an int fd or an object with fileno()

_Ts = TypeVarTuple("_Ts")


def fd_number(fileobj: FileLike) -> int:
    """The number of an int or an object with ``fileno()``, not range-checked.

    ValueError for anything else. The public methods check this much before
    anything else (even on a closed loop), as asyncio does.
    """
    if isinstance(fileobj, int):
        return fileobj
    try:
        return int(fileobj.fileno())
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"Invalid file object: {fileobj!r}") from None


def fileobj_to_fd(fileobj: FileLike) -> int:
    """Return the fd of an int or an object with ``fileno()``; ValueError otherwise."""
    fd = fd_number(fileobj)
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class FdWatchMixin:
    """The fd-watching part of the loop API."""

    _readers: dict[int, events.Handle]
    _writers: dict[int, events.Handle]
    #: (fd, writing) -> (file object, Handle) for watchers that a public
    #: ``add_*`` was given an object for (see :meth:`_closed_file_fd`).
    #: A class-level None until first needed: most loops never need it, and
    #: the loop keeps few instance attributes (tests/core/test_kernel_layout).
    _watched_files: dict[tuple[int, bool], tuple[Any, events.Handle]] | None = None
    _poller: Poller

    _closed: bool
    _fd_owners: Any

    if TYPE_CHECKING:

        def _check_closed(self) -> None: ...

    def _ensure_fd_free(self, fd: int) -> None:
        """Hook for transport plugins: refuse fds owned by a transport."""
        owners = self._fd_owners
        if owners:
            owner = owners.get(fd)
            if owner is not None and not owner.is_closing():
                raise RuntimeError(f"File descriptor {fd!r} is used by transport {owner!r}")

    def _watch(
        self,
        fd: int,
        table: dict[int, events.Handle],
        other: dict[int, events.Handle],
        bit: int,
        callback: Callable[..., object],
        args: tuple[Any, ...],
    ) -> events.Handle:
        handle = events.Handle(callback, args, self, None)  # type: ignore[arg-type]
        old = table.get(fd)
        mask = bit | ((EVENT_READ | EVENT_WRITE) ^ bit if fd in other else 0)
        if old is None and fd not in other:
            self._poller.register(fd, mask)
        else:
            self._poller.modify(fd, mask)
        table[fd] = handle
        if old is not None:
            old.cancel()
        return handle

    def _unwatch(
        self,
        fd: int,
        table: dict[int, events.Handle],
        other: dict[int, events.Handle],
        other_bit: int,
    ) -> bool:
        handle = table.pop(fd, None)
        if handle is None:
            return False
        handle.cancel()
        try:
            if fd in other:
                self._poller.modify(fd, other_bit)
            else:
                self._poller.unregister(fd)
        except OSError:
            # The fd was closed while watched, and the OS dropped it from the
            # poller already: the removal has happened, there is nothing to
            # report. (Pollers' unregister() ignores such fds by contract.)
            self._poller.unregister(fd)
        return True

    def _add_reader(
        self, fd: FileLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> events.Handle:
        """add_reader for plugins: no transport check, returns the Handle."""
        self._check_closed()
        return self._watch(
            fileobj_to_fd(fd), self._readers, self._writers, EVENT_READ, callback, args
        )

    def _add_writer(
        self, fd: FileLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> events.Handle:
        """add_writer for plugins: no transport check, returns the Handle."""
        self._check_closed()
        return self._watch(
            fileobj_to_fd(fd), self._writers, self._readers, EVENT_WRITE, callback, args
        )

    def _remove_reader(self, fd: FileLike) -> bool:
        if self._closed:
            return False
        return self._unwatch(fileobj_to_fd(fd), self._readers, self._writers, EVENT_WRITE)

    def _remove_writer(self, fd: FileLike) -> bool:
        if self._closed:
            return False
        return self._unwatch(fileobj_to_fd(fd), self._writers, self._readers, EVENT_READ)

    def _closed_file_fd(self, fileobj: FileLike) -> int:
        """The fd that a now-closed ``fileobj`` was watched on; ValueError if none.

        A closed socket answers ``fileno()`` with -1, yet code that watched
        the socket object removes its watcher with that same object after
        closing it (anyio's Unix sockets do, from a done callback). asyncio
        finds the watcher by identity (selectors keep the object), so loopkit
        remembers the object a public ``add_*`` was given, with the Handle
        it made. The entry counts only while that Handle is still the fd's
        watcher: once a newer watcher took the fd (its number reused by a
        new socket, say), the old object no longer reaches it.
        """
        for (fd, writing), (obj, handle) in (self._watched_files or {}).items():
            if obj is fileobj and (self._writers if writing else self._readers).get(fd) is handle:
                return fd
        return fileobj_to_fd(fileobj)  # raises asyncio's ValueError

    def _watch_file(self, fd: FileLike, key: tuple[int, bool], handle: events.Handle) -> None:
        """Remember the object a public ``add_*`` watched (see _closed_file_fd)."""
        files = self._watched_files
        if isinstance(fd, int):
            if files:
                files.pop(key, None)
            return
        if files is None:
            files = self._watched_files = {}
        files[key] = (fd, handle)

    def _unwatch_file(self, fd: FileLike, writing: bool) -> bool:
        """The public ``remove_*``: by fd number, or by the object if it is closed."""
        fdno = fd_number(fd)
        self._ensure_fd_free(fdno)
        if fdno < 0 and not self._closed:
            fdno = self._closed_file_fd(fd)
        if self._watched_files:
            self._watched_files.pop((fdno, writing), None)
        return self._remove_writer(fdno) if writing else self._remove_reader(fdno)

    def add_reader(self, fd: FileLike, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is readable.

        ``fd`` is an int or an object with ``fileno()``. A second call for the
        same fd replaces (and cancels) the first watcher.
        """
        fdno = fd_number(fd)
        self._ensure_fd_free(fdno)
        handle = self._add_reader(fdno, callback, *args)
        self._watch_file(fd, (fdno, False), handle)

    def remove_reader(self, fd: FileLike) -> bool:
        """Stop watching ``fd`` for reading; True if it was watched.

        A socket object closed since it was watched (``fileno()`` -1) still
        finds its watcher, as in asyncio.
        """
        return self._unwatch_file(fd, False)

    def add_writer(self, fd: FileLike, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is writable (replacing any watcher)."""
        fdno = fd_number(fd)
        self._ensure_fd_free(fdno)
        handle = self._add_writer(fdno, callback, *args)
        self._watch_file(fd, (fdno, True), handle)

    def remove_writer(self, fd: FileLike) -> bool:
        """Stop watching ``fd`` for writing; True if it was watched (closed
        socket objects as in :meth:`remove_reader`)."""
        return self._unwatch_file(fd, True)
