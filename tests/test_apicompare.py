"""loopkit's methods take exactly asyncio's parameters on the running Python,
and the version-specific API exists exactly where asyncio has it."""

from __future__ import annotations

import sys
from typing import Any

import loopkit
from loopkit.core import catalog
from loopkit.tools import apicompare


def full_loop_class() -> type:
    return loopkit.assemble().loop_class


def test_every_method_takes_asyncios_parameters() -> None:
    methods = catalog.abstract_loop_methods()
    assert apicompare.signature_differences(full_loop_class(), methods) == []


def test_a_changed_signature_is_reported() -> None:
    class Changed(full_loop_class()):  # type: ignore[misc]
        def call_soon(self, callback: Any, *args: Any) -> Any:  # no context=
            raise AssertionError("never called")

    differences = apicompare.signature_differences(Changed, ["call_soon", "call_later"])
    assert [d.method for d in differences] == ["call_soon"]
    assert "context=None" in differences[0].asyncio_parameters
    assert "context" not in differences[0].loopkit_parameters


def test_versioned_api_is_present_exactly_from_its_version() -> None:
    from loopkit.transports.server import Server

    rows = apicompare.versioned_api_present(full_loop_class(), Server)
    assert len(rows) == len(apicompare.VERSIONED_API)
    for label, since, found in rows:
        assert found is (sys.version_info[:2] >= since), label


def test_a_trimmed_loop_reports_disabled_plugins_not_differences() -> None:
    loop_class = loopkit.assemble(plugins=["executor"]).loop_class
    rows = dict(
        (label, found)
        for label, _since, found in apicompare.versioned_api_present(loop_class, None)
    )
    assert rows["create_connection(all_errors=)"] is None
    assert rows["Server.close_clients()"] is None
    assert rows["shutdown_default_executor(timeout=)"] is (sys.version_info >= (3, 12))
