"""Exceptions raised while choosing and assembling plugins.

Every error here names what went wrong *and* what the user can do about it:
the plugins involved, the valid names, or the argument / environment variable
that changes the outcome.
"""

from __future__ import annotations


class LoopkitError(Exception):
    """Base class of loopkit's own errors."""


class AssemblyError(LoopkitError):
    """The chosen plugins cannot be combined into a loop.

    Raised for two plugins claiming one method without a declared override,
    an unknown plugin or poller name, a plugin asked for by name that fails
    to import, or an essential plugin that was excluded.
    """


class UnknownNameError(AssemblyError, ValueError):
    """A plugin, poller, resolver or executor name that nobody registered.

    It is also a :class:`ValueError`, the class asyncio raises for bad
    argument values.
    """


class PluginNotEnabledError(NotImplementedError):
    """A loop method whose plugin is not part of this (trimmed) loop.

    It subclasses :class:`NotImplementedError` because that is what
    :class:`asyncio.AbstractEventLoop` raises for a method a loop does not
    implement, and what libraries already catch (for example around
    ``add_signal_handler``).
    """


class PluginAttributeNotEnabledError(PluginNotEnabledError, AttributeError):
    """A loop attribute that only a plugin this loop does not enable provides.

    Raised when a method that is not part of asyncio's loop API (one a
    third-party plugin adds) is looked up on a loop without its plugin. It is
    also an :class:`AttributeError`, so ``hasattr(loop, name)`` and
    ``getattr(loop, name, default)`` keep working for feature detection.
    """


class PluginLoadWarning(UserWarning):
    """A plugin found through entry points could not be imported and was skipped."""
