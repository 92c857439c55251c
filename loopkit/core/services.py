"""The kernel services a plugin may use, on one object per loop.

Plugins never touch a loop's private attributes: what they need from the
kernel is here, behind names that are documented and kept stable
(:mod:`loopkit.plugin` is the public face). :func:`services` gives the
:class:`LoopServices` of a loop, made on first use and kept for the loop's
life.

Why an object rather than loop methods: the loop API is asyncio's, and a
plugin-only method on it would be one more public name for users to trip
over. Why its attributes are *bound methods of the kernel* rather than
wrappers: a transport fetches the services once, binds what it calls per
event to its own attributes or locals, and then pays exactly what the kernel
pays, with no call in between.

What this module must never do: hold a plugin's import, or keep state of its
own outside the per-loop object (the kernel never imports a plugin).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import operator
from asyncio import events
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from loopkit.core.kernel import KernelLoop

_S = TypeVar("_S")

#: Bits of a file object's fd: an int, or an object with ``fileno()``.
FileLike = Any


class IterationObserver(Protocol):
    """What an observer of a loop's iterations implements.

    Install one with :meth:`LoopServices.observe`. While a loop has an
    observer it runs every iteration through the kernel's per-iteration
    path and calls these methods; a loop without one pays nothing. The
    methods run on the loop's thread and must be quick: they are called on
    every iteration.
    """

    def iteration_started(self) -> None:
        """A new iteration begins (before its poll)."""

    def poll_started(self) -> None:
        """The kernel is about to ask the poller for I/O (it may block)."""

    def poll_finished(self, events: int) -> None:
        """The poller returned ``events`` (fd, mask) results."""

    def iteration_finished(self, handles: int, timers: int) -> None:
        """The iteration ran ``handles`` queued callbacks, of which ``timers``
        were due timers (cancelled ones, skipped without running, included)."""


class LoopServices:
    """The kernel services of one loop. Get it with :func:`services`.

    Attributes that are functions are bound methods of the loop's kernel:
    bind them to a local or to your transport once, then call them freely.
    """

    __slots__ = (
        "_loop",
        "_observer",
        "_off_loop",
        "_states",
        "add_reader",
        "add_writer",
        "check_callback",
        "check_closed",
        "check_fd_free",
        "off_loop",
        "off_loop_pool",
        "remove_reader",
        "remove_writer",
        "schedule",
        "settled_off_loop",
    )

    #: ``add_reader(fd, callback, *args) -> asyncio.Handle``: watch an fd
    #: *without* the transport-ownership check of the public
    #: ``loop.add_reader`` (a transport watches the fd it owns). A second call
    #: for the same fd replaces the first watcher.
    add_reader: Callable[..., events.Handle]
    #: ``add_writer(fd, callback, *args) -> asyncio.Handle``: the same for
    #: writing.
    add_writer: Callable[..., events.Handle]
    #: ``remove_reader(fd) -> bool``: stop watching; True if something was
    #: watched. A closed loop answers False.
    remove_reader: Callable[[FileLike], bool]
    #: ``remove_writer(fd) -> bool``: the same for writing.
    remove_writer: Callable[[FileLike], bool]
    #: ``check_fd_free(fd)``: RuntimeError if a live transport owns ``fd``
    #: (what the public ``add_reader`` checks).
    check_fd_free: Callable[[int], None]
    #: ``check_closed()``: RuntimeError("Event loop is closed") on a closed loop.
    check_closed: Callable[[], None]
    #: ``check_callback(callback, method)``: TypeError for a coroutine or a
    #: non-callable, naming ``method``, as asyncio's debug mode checks.
    check_callback: Callable[[Any, str], None]
    #: ``schedule(handle)``: queue an existing :class:`asyncio.Handle` to run
    #: on the next iteration (for callbacks a plugin keeps and fires again and
    #: again, such as signal handlers). Not thread-safe.
    schedule: Callable[[events.Handle], None]
    #: ``off_loop(func, *args) -> asyncio.Future``: ``func(*args)`` in one of
    #: the loop's helper threads, for a call that may block on the disk or on
    #: a child. The pool is the loop's own (not its default executor), made on
    #: first use and shut down without waiting when the loop closes.
    off_loop: Callable[..., asyncio.Future[Any]]
    #: ``settled_off_loop(func, *args)`` (a coroutine): like :attr:`off_loop`,
    #: for a call whose result must not be lost if the caller is cancelled.
    settled_off_loop: Callable[..., Coroutine[Any, Any, tuple[Any, bool]]]
    #: ``off_loop_pool()``: the pool of the loop's helper threads itself.
    off_loop_pool: Callable[[], concurrent.futures.ThreadPoolExecutor]

    def __init__(self, loop: KernelLoop) -> None:
        self._loop = loop
        self._states: dict[str, Any] = loop._plugin_states
        self._observer: IterationObserver | None = None
        self.add_reader = loop._add_reader
        self.add_writer = loop._add_writer
        self.remove_reader = loop._remove_reader
        self.remove_writer = loop._remove_writer
        self.check_fd_free = loop._ensure_fd_free
        self.check_closed = loop._check_closed
        self.check_callback = loop._check_callback
        self.schedule = loop._ready.append
        # Imported here: a loop's services are made when a plugin first asks,
        # and a trimmed loop that never does skips the module's import.
        from loopkit.core.offloop import OffLoop

        helpers = self._off_loop = OffLoop(loop)
        self.off_loop = helpers.run
        self.settled_off_loop = helpers.settled
        self.off_loop_pool = helpers.pool

    def __repr__(self) -> str:
        return f"<LoopServices of {self._loop!r}>"

    def _loop_closed(self) -> None:
        """Called by the kernel's ``close()``, after the plugins' closing hooks."""
        self._off_loop.close()

    # ------------------------------------------------------------------
    # File-descriptor ownership
    # ------------------------------------------------------------------

    def claim_fd(self, fd: int, transport: Any) -> None:
        """Record that ``transport`` owns ``fd``.

        From then on the public ``add_reader`` / ``add_writer`` /
        ``remove_*`` and the ``sock_*`` calls refuse the fd with
        RuntimeError while the transport is not closing, as asyncio does.
        The record is weak: a transport that is garbage-collected gives the
        fd up by itself. ``transport`` must have ``is_closing()``.
        """
        self._loop._fd_owners[fd] = transport

    def release_fd(self, fd: int, transport: Any) -> None:
        """Forget that ``transport`` owns ``fd`` (if it still does: a newer
        owner of a reused fd number is left alone)."""
        owners = self._loop._fd_owners
        if owners.get(fd) is transport:
            del owners[fd]

    def fd_owner(self, fd: int) -> Any:
        """The transport that owns ``fd``, or None."""
        return self._loop._fd_owners.get(fd)

    def fd_owners(self) -> list[Any]:
        """Every transport that owns an fd now (a snapshot, in no particular order)."""
        return list(self._loop._fd_owners.values())

    # ------------------------------------------------------------------
    # Debug mode
    # ------------------------------------------------------------------

    @property
    def debug(self) -> bool:
        """Whether the loop is in debug mode now (it can change at any time)."""
        return self._loop._debug

    # ------------------------------------------------------------------
    # Per-plugin, per-loop state
    # ------------------------------------------------------------------

    def state(self, key: str, factory: Callable[[], _S]) -> _S:
        """The state object ``key`` of this loop, made by ``factory()`` on first use.

        Use your plugin's name as ``key``. The object lives as long as the
        loop; fetch it once per transport (or per call, for calls that are not
        hot) and keep it in a local. Release what it holds in your
        ``loopkit_loop_closing`` hook.
        """
        states = self._states
        value = states.get(key)
        if value is None:
            value = states[key] = factory()
        return value  # type: ignore[no-any-return]

    def peek_state(self, key: str) -> Any:
        """The state object ``key``, or None if it was never made."""
        return self._states.get(key)

    # ------------------------------------------------------------------
    # Shared buffers
    # ------------------------------------------------------------------

    def buffer(self, name: str, size: int) -> memoryview:
        """This loop's scratch buffer ``name``, of at least ``size`` bytes.

        A loop runs one callback at a time, so a transport that reads into
        the buffer and copies out what it read before returning can share it
        with every other transport of the loop. Made on first use; a later
        request for more bytes replaces it with a larger one.
        """
        key = "buffer:" + name
        view: memoryview | None = self._states.get(key)
        if view is None or view.nbytes < size:
            view = self._states[key] = memoryview(bytearray(size))
        return view

    # ------------------------------------------------------------------
    # Observation
    # ------------------------------------------------------------------

    def observe(self, observer: IterationObserver | None) -> None:
        """Install ``observer`` on this loop's iterations (None removes it).

        One observer per loop; installing a second one is refused with
        RuntimeError so that two plugins cannot silently take turns. Takes
        effect at the next ``run_forever()``, or at once when called before
        the loop runs.
        """
        if observer is not None and self._observer is not None and observer is not self._observer:
            raise RuntimeError(f"the loop is already observed by {self._observer!r}")
        self._observer = observer
        self._loop._set_observer(observer)

    @property
    def observer(self) -> IterationObserver | None:
        """The installed iteration observer, or None."""
        return self._observer


#: ``loop_states(loop)``: the dict of per-plugin, per-loop state objects of a
#: loopkit loop, by key (a plugin's name). The same store as
#: :meth:`LoopServices.state`, reached with one C call instead of two Python
#: ones, for loop methods that read their plugin's state on every call: put
#: the state object there in ``loopkit_loop_created``, then read
#: ``loop_states(self)[KEY]``.
loop_states: Callable[[Any], dict[str, Any]] = operator.attrgetter("_plugin_states")


def services(loop: Any) -> LoopServices:
    """The :class:`LoopServices` of ``loop``, a loopkit loop.

    TypeError for a loop that is not loopkit's: its kernel services are not
    these.
    """
    try:
        found: LoopServices | None = loop._plugin_services
    except AttributeError:
        raise TypeError(
            f"{loop!r} is not a loopkit loop; kernel services exist only on loops "
            f"made by loopkit.new_event_loop()"
        ) from None
    if found is None:
        found = loop._plugin_services = LoopServices(loop)
    return found


def existing_services(loop: Any) -> LoopServices | None:
    """The :class:`LoopServices` of ``loop`` if something already made it, else None.

    For a ``loopkit_loop_closing`` hook that releases per-loop state: a loop
    that never used the plugin is left without a services object it would
    otherwise get only to be asked for nothing.
    """
    found: LoopServices | None = getattr(loop, "_plugin_services", None)
    return found


def executor_factory(loop: Any) -> Callable[[], concurrent.futures.ThreadPoolExecutor]:
    """The ``create`` of the executor backend chosen for ``loop``'s class.

    See :class:`~loopkit.ExecutorInfo`. The executor plugin calls it once per
    loop, on the first ``run_in_executor(None, ...)``. A loop assembled with
    no executor backend gets a plain
    :class:`~concurrent.futures.ThreadPoolExecutor`. A function of the loop's
    class rather than a :class:`LoopServices` attribute: the choice is made
    per assembly, and asking costs no per-loop object.
    """
    factory: Callable[[], concurrent.futures.ThreadPoolExecutor] | None = getattr(
        type(loop), "_loopkit_executor_factory", None
    )
    return factory or concurrent.futures.ThreadPoolExecutor


def observed_poll(
    poll: Callable[[float | None], list[tuple[int, int]]], observer: IterationObserver
) -> Callable[[float | None], list[tuple[int, int]]]:
    """``poll`` that tells ``observer`` when it starts and what it found."""
    started = observer.poll_started
    finished = observer.poll_finished

    def poll_observed(timeout: float | None) -> list[tuple[int, int]]:
        started()
        result = poll(timeout)
        finished(len(result))
        return result

    return poll_observed
