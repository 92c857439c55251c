"""A test-only loopkit plugin that makes the operating system misbehave on purpose.

:class:`FaultInjector` is an ordinary plugin object, registered the way any
third-party plugin is (``loopkit.new_event_loop(plugins=[...])`` or
``enable=[...]``). A loop built with it

* polls through a :class:`FaultyPoller` wrapping the best real poller (or the
  one you give it), which sometimes wakes up early with nothing, holds back real
  readiness for a round, or reports a transport's fd ready when it is not;
* hands every transport, listening socket and ``sock_*`` socket a faulty
  system-call layer (:class:`FaultySocket` and the pipe calls) that sometimes answers
  EINTR, EAGAIN, writes only one byte, or, where a test asks for it,
  ECONNRESET, EPIPE or EMFILE.

Every decision comes from a seeded random generator (one per loop, derived
from the seed and the running test), so a failure is reproduced by running
the same test with the same seed. The pytest plugin :mod:`loopkit.testing`
runs whole test suites this way (``pytest --inject-faults[=SEED]`` or
``LOOPKIT_TEST_FAULTS=SEED``; see :mod:`loopkit.testing.faults.suite`).

What it reaches: the fd -> transport map of the kernel and, on each adopted
transport, its ``_sock`` or its ``_os_read`` / ``_os_readv`` / ``_os_write``
attributes: the names the transport base classes use. A transport family
built on those bases (built in or third party) is covered; faults strike only
system calls made from modules whose names start with one of
``FaultPlan.modules`` (``("loopkit",)`` by default: add your plugin's
package to cover its own calls).

It must never be registered in production code, and never injects a fault
into a system call that loopkit's own code did not make.
"""

from loopkit.testing.faults.plan import (
    BENIGN,
    EAGAIN,
    ECONNRESET,
    EINTR,
    EMFILE,
    EPIPE,
    SHORT,
    FaultPlan,
    LoopFaults,
)
from loopkit.testing.faults.plugin import FaultInjector, faults_of, label_from_pytest
from loopkit.testing.faults.poller import FaultyPoller
from loopkit.testing.faults.wrappers import FaultySocket

__all__ = [
    "BENIGN",
    "EAGAIN",
    "ECONNRESET",
    "EINTR",
    "EMFILE",
    "EPIPE",
    "SHORT",
    "FaultInjector",
    "FaultPlan",
    "FaultyPoller",
    "FaultySocket",
    "LoopFaults",
    "faults_of",
    "label_from_pytest",
]
