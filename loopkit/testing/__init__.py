"""loopkit's test kit for plugin authors, and a pytest plugin.

Load it in a project's ``conftest.py`` with ``pytest_plugins =
["loopkit.testing"]`` (or ``pytest -p loopkit.testing``); installing loopkit
never loads it by itself. It gives:

* the leak check: the ``no_leaks`` fixture, or ``loopkit_leak_check = true``
  in the ini file for every test (:mod:`loopkit.testing.leaks`), and the
  ``leaks_allowed(reason)`` marker;
* the fault injector: :mod:`loopkit.testing.faults`, and the suite mode
  ``pytest --inject-faults[=SEED]``;
* loops: the ``loopkit_loop``, ``make_loopkit_loop`` and ``loopkit_run``
  fixtures, :func:`poller_params`;
* the contracts to subclass: :class:`PollerContract`,
  :class:`StreamContract`, :class:`DatagramContract`.

Nothing here is imported by loopkit itself; it needs pytest.
"""

from __future__ import annotations

from loopkit.testing.contract_base import FamilyContract, eventually
from loopkit.testing.datagram_contract import DatagramContract
from loopkit.testing.fixtures import (
    LoopFactory,
    _loopkit_leak_check_every_test,
    available_pollers,
    leak_check,
    loopkit_loop,
    loopkit_run,
    make_loopkit_loop,
    no_leaks,
    poller_params,
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_report_header,
    pytest_runtest_makereport,
    pytest_terminal_summary,
    pytest_unconfigure,
    runner_on,
)
from loopkit.testing.poller_contract import PollerContract
from loopkit.testing.protocols import (
    RecordingBufferedProtocol,
    RecordingDatagramProtocol,
    RecordingProtocol,
)
from loopkit.testing.stream_contract import StreamContract

__all__ = [
    "DatagramContract",
    "FamilyContract",
    "LoopFactory",
    "PollerContract",
    "RecordingBufferedProtocol",
    "RecordingDatagramProtocol",
    "RecordingProtocol",
    "StreamContract",
    "_loopkit_leak_check_every_test",
    "available_pollers",
    "eventually",
    "leak_check",
    "loopkit_loop",
    "loopkit_run",
    "make_loopkit_loop",
    "no_leaks",
    "poller_params",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_report_header",
    "pytest_runtest_makereport",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "runner_on",
]
