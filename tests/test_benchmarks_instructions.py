"""benchmarks/instructions.py: the arithmetic and parsing (valgrind itself is not needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.instructions import collected, per_function, per_unit, work_units

WORKER = Path(__file__).resolve().parent.parent / "benchmarks" / "worker.py"

ANNOTATED = """\
--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
708,009,546 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                   file:function
--------------------------------------------------------------------------------
68,179,544 ( 9.63%)  Python/ceval.c:_PyEval_EvalFrameDefault [/usr/lib/libpython3.11.so.1.0]
31,849,281 ( 4.50%)  Objects/dictobject.c:unicodekeys_lookup_unicode [/usr/lib/libpython3.11.so]
 1,000,000 ( 0.14%)  Python/ceval.c:_PyEval_EvalFrameDefault'2 [/usr/lib/libpython3.11.so.1.0]
"""


def test_work_counts_the_warm_up_tenth() -> None:
    assert work_units(6000) == 6600
    assert work_units(5) == 6  # the warm-up is never less than one unit


def test_per_unit_divides_the_difference_by_the_extra_work() -> None:
    assert per_unit(1_000_000, 1_440_000, work_units(2000), work_units(6000)) == pytest.approx(
        100.0
    )


def test_the_total_is_read_from_callgrinds_last_report() -> None:
    assert collected("==1== Events : Ir\n==1== Collected : 636621831\n") == 636_621_831
    with pytest.raises(RuntimeError, match="no total"):
        collected("valgrind: command failed")


def test_functions_are_summed_by_name_without_file_or_library() -> None:
    functions = per_function(ANNOTATED)

    assert functions["unicodekeys_lookup_unicode"] == 31_849_281
    assert functions["_PyEval_EvalFrameDefault"] == 68_179_544
    assert functions["_PyEval_EvalFrameDefault'2"] == 1_000_000
    assert "PROGRAM TOTALS" not in " ".join(functions)


def test_the_worker_runs_a_scenario_at_a_given_size() -> None:
    command = [sys.executable, str(WORKER), "call_soon", "asyncio", "--size", "500"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)

    assert json.loads(done.stdout)["ops"] == 500
