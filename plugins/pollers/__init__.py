"""Built-in poller plugins: thin, direct wrappers of the :mod:`select` module.

Each module is a plugin of its own (entry points ``epoll``, ``kqueue``,
``poll``, ``select``) offering one :class:`loopkit.core.poller.PollerInfo`.
Without a choice from the user, the available backend with the highest
priority is used: epoll on Linux, kqueue on the BSDs and macOS, then poll,
then select.
"""
