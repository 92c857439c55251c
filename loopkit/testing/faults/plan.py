"""What to inject and when: fault names, the plan, and each loop's decisions.

A :class:`FaultPlan` is the user's wish (seed, rates, which faults may strike
at random). A :class:`LoopFaults` is one loop's copy of it: its own random
generator, a queue of scripted faults (``script``) that strike before any
random one, and a count of everything injected, so that a test can prove a
fault really happened.

This module never touches a socket or the loop; it only decides.
"""

from __future__ import annotations

import collections
import errno
import os
import random
from dataclasses import dataclass, field

#: Fault names. EINTR, EAGAIN and SHORT are *benign*: a correct transport
#: hides them completely. The others end a connection (or pause a server).
EINTR = "EINTR"
EAGAIN = "EAGAIN"
SHORT = "SHORT"  # a write that takes exactly one byte
ECONNRESET = "ECONNRESET"
EPIPE = "EPIPE"
EMFILE = "EMFILE"

BENIGN = frozenset({EINTR, EAGAIN, SHORT})

#: Which faults make sense for which operation. "read"/"write" are the pipe
#: system calls os.read / os.write; the rest are socket methods.
_READS = (EINTR, EAGAIN, ECONNRESET)
_WRITES = (EINTR, EAGAIN, SHORT, ECONNRESET, EPIPE)
FAULTS_BY_OP: dict[str, tuple[str, ...]] = {
    "recv": _READS,
    "recv_into": _READS,
    "recvfrom": (EINTR, EAGAIN),
    "recvfrom_into": (EINTR, EAGAIN),
    "read": (EINTR, EAGAIN),
    "send": _WRITES,
    "sendmsg": _WRITES,
    "write": (EINTR, EAGAIN, SHORT, EPIPE),
    "sendto": (EINTR, EAGAIN),
    "accept": (EINTR, EAGAIN, EMFILE),
}

_ERRNO = {
    EINTR: errno.EINTR,
    EAGAIN: errno.EAGAIN,
    ECONNRESET: errno.ECONNRESET,
    EPIPE: errno.EPIPE,
    EMFILE: errno.EMFILE,
}


def error_for(fault: str) -> OSError:
    """The exception the kernel would raise (OSError picks the subclass from errno)."""
    code = _ERRNO[fault]
    return OSError(code, os.strerror(code))


@dataclass(frozen=True)
class FaultPlan:
    """How often and what to inject.

    ``rate`` is the chance that one eligible system call is hit by a random
    fault, chosen among ``random_faults`` that apply to it. The poller rates
    are per poll: a spurious wake-up (return at once with nothing), held-back
    readiness (drop the real events of this round; level-triggered pollers
    report them again next round) and spurious readiness (report a
    transport's fd ready when it may not be: its next system call answers
    EAGAIN).

    ``modules`` names the packages whose socket calls may be hit: a call
    made from any other module (a test reading a socket itself, the kit's
    own contract tests) always reaches the real system call.
    """

    seed: int = 0
    rate: float = 0.0
    random_faults: frozenset[str] = BENIGN
    spurious_wakeup_rate: float = 0.0
    held_back_rate: float = 0.0
    spurious_ready_rate: float = 0.0
    modules: tuple[str, ...] = ("loopkit",)

    @classmethod
    def benign(
        cls, seed: int, rate: float = 0.15, modules: tuple[str, ...] = ("loopkit",)
    ) -> FaultPlan:
        """The plan of suite mode: every fault a correct loop must hide."""
        return cls(
            seed=seed,
            rate=rate,
            random_faults=BENIGN,
            spurious_wakeup_rate=0.1,
            held_back_rate=0.1,
            spurious_ready_rate=0.1,
            modules=modules,
        )


@dataclass
class _Scripted:
    op: str
    fault: str
    fd: int | None
    times: int


@dataclass
class LoopFaults:
    """One loop's fault decisions: scripted first, then random, all counted."""

    plan: FaultPlan
    label: str = ""
    injected: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    _script: list[_Scripted] = field(default_factory=list, init=False, repr=False)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.plan.seed}/{self.label}")

    def script(self, op: str, fault: str, *, fd: int | None = None, times: int = 1) -> None:
        """Make the next ``times`` calls of ``op`` (on ``fd``, if given) fail with ``fault``."""
        if fault not in FAULTS_BY_OP[op]:
            raise ValueError(f"{fault} cannot happen on {op}")
        self._script.append(_Scripted(op, fault, fd, times))

    def decide(self, op: str, fd: int) -> str | None:
        """The fault for this call of ``op`` on ``fd``, or None to let it through."""
        for entry in self._script:
            if entry.op == op and entry.fd in (None, fd):
                entry.times -= 1
                if entry.times <= 0:
                    self._script.remove(entry)
                self.injected[op, entry.fault] += 1
                return entry.fault
        plan = self.plan
        if plan.rate and self.rng.random() < plan.rate:
            choices = [f for f in FAULTS_BY_OP[op] if f in plan.random_faults]
            if choices:
                fault = self.rng.choice(choices)
                self.injected[op, fault] += 1
                return fault
        return None

    def chance(self, rate: float, what: str) -> bool:
        """A poller decision: True (and counted under ``what``) with probability ``rate``."""
        if rate and self.rng.random() < rate:
            self.injected["poll", what] += 1
            return True
        return False

    def total(self) -> int:
        """How many faults this loop injected so far."""
        return sum(self.injected.values())
