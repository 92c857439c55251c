"""Every built-in poller passes the kit's poller contract (loopkit.testing.PollerContract).

kqueue is listed too: on Linux its PollerInfo says it is not available, and the
contract skips it with that reason.
"""

from __future__ import annotations

from typing import ClassVar

from loopkit.plugin import PollerInfo
from loopkit.plugins.pollers import epoll, kqueue, poll
from loopkit.plugins.pollers import select as select_backend
from loopkit.testing import PollerContract


def _info(module: object) -> PollerInfo:
    infos: list[PollerInfo] = module.loopkit_pollers()  # type: ignore[attr-defined]
    return infos[0]


class TestEpoll(PollerContract):
    poller_info = _info(epoll)


class TestPoll(PollerContract):
    poller_info = _info(poll)


class TestSelect(PollerContract):
    poller_info = _info(select_backend)
    #: select(2) takes fds below FD_SETSIZE only.
    fd_limit: ClassVar[int | None] = 1023


class TestKqueue(PollerContract):
    poller_info = _info(kqueue)
