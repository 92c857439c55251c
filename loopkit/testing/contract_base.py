"""What the transport-family contracts share: their loop, faults, and async tests.

A contract's tests are ``async def`` methods taking the loop; :func:`on_loop`
turns each into a pytest test that runs it on the ``contract_loop`` fixture
with a timeout. ``contract_loop`` is made with the class's
:attr:`FamilyContract.loop_options` and, when :attr:`FamilyContract.inject_faults`
is true, once more with the benign fault injector, so a family proves it hides
EINTR, EAGAIN, short writes and spurious wake-ups.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ClassVar, TypeVar

import pytest

import loopkit
import loopkit.core.assembly
from loopkit.core.kernel import KernelLoop
from loopkit.testing.faults import FaultInjector, FaultPlan

_C = TypeVar("_C", bound="FamilyContract")

#: The seed of the contracts' fault-injected runs (fixed: a failure reproduces).
CONTRACT_FAULT_SEED = 15


def on_loop(
    test: Callable[[_C, asyncio.AbstractEventLoop], Awaitable[None]],
) -> Callable[[_C, KernelLoop], None]:
    """Run the async contract test ``test(self, loop)`` on ``contract_loop``."""

    def run(self: _C, contract_loop: KernelLoop) -> None:
        contract_loop.run_until_complete(
            asyncio.wait_for(test(self, contract_loop), self.test_timeout)
        )

    run.__name__ = test.__name__
    run.__qualname__ = test.__qualname__
    run.__doc__ = test.__doc__
    return run


class FamilyContract:
    """The base of :class:`StreamContract` and :class:`DatagramContract`."""

    #: Keyword arguments of :func:`loopkit.new_event_loop` for the loop the
    #: tests run on, e.g. ``{"enable": [my_plugin]}`` or ``{"plugins": ["unix"]}``.
    loop_options: ClassVar[dict[str, Any]] = {}
    #: Run every test a second time on a loop with the benign fault injector.
    inject_faults: ClassVar[bool] = True
    #: Packages (besides ``loopkit``) whose socket calls faults may hit.
    fault_modules: ClassVar[tuple[str, ...]] = ()
    #: Seconds each test may take.
    test_timeout: ClassVar[float] = 10.0

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrize ``contract_faults``: a real run, and one with faults."""
        if "contract_faults" in metafunc.fixturenames:
            params: list[Any] = [None]
            ids = ["real"]
            if self.inject_faults:
                modules = ("loopkit", *self.fault_modules)
                params.append(FaultPlan.benign(CONTRACT_FAULT_SEED, modules=modules))
                ids.append("faults")
            metafunc.parametrize("contract_faults", params, ids=ids)

    @pytest.fixture
    def contract_loop(
        self, no_leaks: None, contract_faults: FaultPlan | None
    ) -> Iterator[KernelLoop]:
        """The loop a contract test runs on (after the leak check's snapshot)."""
        options = dict(self.loop_options)
        # Suite mode (--inject-faults) replaces new_event_loop; the contracts
        # choose their own faults, so they always use the unpatched one.
        factory = getattr(loopkit.core.assembly, "_unpatched_new_event_loop", None)
        factory = factory or loopkit.new_event_loop
        if contract_faults is not None:
            options["enable"] = [*options.get("enable", ()), FaultInjector(contract_faults)]
        new_loop: KernelLoop = factory(**options)
        try:
            yield new_loop
        finally:
            if not new_loop.is_running():
                new_loop.close()


async def eventually(check: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Wait until ``check()`` is true, polling; fail the test after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() >= deadline:
            pytest.fail(f"timed out waiting for {what or check!r}")
        await asyncio.sleep(0.005)
