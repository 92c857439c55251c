"""How the kernel makes asyncio's Handle and TimerHandle without their constructors.

Handles are asyncio's own classes (so everything that inspects them keeps
working). Outside debug mode the kernel fills their slots directly instead
of calling their constructors: that saves a Python frame and a get_debug()
call per callback, the largest single cost of call_soon. It is done only
when the slots are exactly the ones the constructors are known to set (true
on 3.11-3.13); any other layout falls back to the constructors. This module
only names what the fast path needs; it must never create a handle itself
(a helper function here would cost the very frame the fast path saves).
"""

from __future__ import annotations

import contextvars
from asyncio import events
from typing import Any

_Handle: Any = events.Handle
_TimerHandle: Any = events.TimerHandle
_new_object = object.__new__
_copy_context = contextvars.copy_context
_FAST_HANDLES = tuple(events.Handle.__slots__) == (
    "_callback",
    "_args",
    "_cancelled",
    "_loop",
    "_source_traceback",
    "_repr",
    "__weakref__",
    "_context",
) and tuple(events.TimerHandle.__slots__) == ("_scheduled", "_when")
