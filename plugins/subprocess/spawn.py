"""Starting a child without blocking the loop: ``Popen`` runs in a helper thread.

``subprocess.Popen`` waits for the child to exec: it reads the exec-status
pipe with a blocking ``os.read`` (and may run a ``preexec_fn``, or search a
slow disk for the program). asyncio makes that call in the loop thread, so
tools that flag blocking calls there (blockbuster) have to excuse it by
name. loopkit runs the whole ``Popen`` in one of the loop's helper threads
(``services(loop).settled_off_loop``), as trio does;
``subprocess_exec`` and ``subprocess_shell`` are coroutines, so nothing
changes for the caller. Everything ``Popen`` takes works the same there:
``pass_fds``, the parent's copies of the child's pipe ends (closed by
``Popen`` itself), ``preexec_fn`` (allowed in any thread of the main
interpreter; refused in a subinterpreter, as it is in asyncio), and the
signal mask, which the helper thread inherits from the loop thread.

Cancellation: a spawn that has not begun is dropped. One that has begun
cannot be stopped; the caller waits for it (a fraction of a millisecond to
a few) and gets the ``Popen`` back with a flag that the start-up was
cancelled, so that it kills and reaps the child before raising: no child
outlives a cancelled call.
"""

from __future__ import annotations

import subprocess
from typing import Any

from loopkit.plugin import services
from loopkit.plugins.subprocess.transport import ChildSpec


def _popen(spec: ChildSpec) -> subprocess.Popen[bytes]:
    kwargs = dict(spec.popen_kwargs)
    kwargs.pop("extra", None)
    return subprocess.Popen(
        spec.args,
        shell=spec.shell,
        stdin=spec.stdin,
        stdout=spec.stdout,
        stderr=spec.stderr,
        universal_newlines=False,
        bufsize=spec.bufsize,
        **kwargs,
    )


async def spawn(loop: Any, spec: ChildSpec) -> tuple[subprocess.Popen[bytes], bool]:
    """Start the child in a helper thread: ``(popen, cancelled)``.

    ``cancelled`` is True when the awaiting task was cancelled while
    ``Popen`` ran: the child exists and the caller must get rid of it, then
    raise CancelledError. Errors of ``Popen`` (FileNotFoundError, ...) are
    raised as they are; a cancellation before the spawn began is raised too.
    """
    return await services(loop).settled_off_loop(_popen, spec)
