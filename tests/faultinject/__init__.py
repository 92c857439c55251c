"""A test-only loopkit plugin that makes the operating system misbehave on purpose.

:class:`FaultInjector` is an ordinary plugin object, registered the way any
third-party plugin is (``loopkit.new_event_loop(plugins=[...])`` or
``enable=[...]``). A loop built with it

* polls through a :class:`~faultinject.poller.FaultyPoller` wrapping the best
  real poller, which sometimes wakes up early with nothing, holds back real
  readiness for a round, or reports a transport's fd ready when it is not;
* hands every transport, listening socket and ``sock_*`` socket a faulty
  system-call layer (:mod:`faultinject.wrappers`) that sometimes answers
  EINTR, EAGAIN, writes only one byte, or, where a test asks for it,
  ECONNRESET, EPIPE or EMFILE.

Every decision comes from a seeded random generator (one per loop, derived
from the seed and the running test), so a failure is reproduced by running
the same test with the same seed. :mod:`faultinject.suite_mode` runs whole
test suites this way (``pytest --inject-faults[=SEED]`` or
``LOOPKIT_TEST_FAULTS=SEED``).

It must never be registered in production code, and never injects a fault
into a system call that loopkit's own code did not make.
"""

from faultinject.plan import (
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
from faultinject.plugin import FaultInjector, faults_of

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
    "LoopFaults",
    "faults_of",
]
