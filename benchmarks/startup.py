"""What a loop costs to start: import time, modules, memory, construction.

Usage::

    python benchmarks/startup.py [--repeats N] [--variants NAME[,NAME]]
                                 [--clock wall|cpu] [--markdown FILE] [--json FILE]
                                 [--rst FILE] [--python LABEL=PATH ...] [--smoke]

For each variant (asyncio, uvloop when importable, the full loopkit loop and
trimmed loopkit loops) a **fresh interpreter** imports the library, makes a
first loop and then makes and closes a series of further loops, and reports:

- the time the import took (``import asyncio`` / ``import loopkit``, which
  itself imports asyncio: each row is what an application pays);
- the modules the import and the first loop added to ``sys.modules``;
- the time to construct the first loop (for loopkit this includes plugin
  discovery, importing the selected plugins and assembling the class) and
  the steady-state time per further loop (median of ``STEADY_LOOPS``);
- import and first loop together: what an application waits before its
  loop can run;
- the resident memory (``/proc/self/statm``) after the first loop, and its
  growth since the interpreter started;
- against the ``asyncio`` row: import + first loop as a ratio of asyncio's,
  and the resident memory over asyncio's (issue 16's targets are
  ``loopkit[]`` <= 1.15x and +1.5 MiB, ``loopkit[tcp]`` <= 1.2x and +2 MiB,
  ``loopkit`` <= 1.4x on the CPU clock).

``--python LABEL=PATH`` measures the loopkit variants again with another
interpreter (a virtual environment with a regular ``pip install .``, or one
with an older loopkit), interleaved with the rest of the run: its rows are
labelled ``variant (LABEL)``. ``--smoke`` is one quick round without the
warm-up, for CI.

Processes are interleaved like the main runner's: each repeat measures every
variant once, in an order rotated between repeats. Cells are the median
(min..max) over repeats. The child is a few lines run with ``python -c`` so
that nothing but the measured import is loaded before it is timed; the
``LOOPKIT_*`` environment variables are removed from its environment, and
one unrecorded round first writes the bytecode caches (as installing a wheel
does) and warms the OS file cache. This script never asserts anything about
the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import loops
from benchmarks.report import Summary, summarize

#: Further loops made (and closed) after the first to time steady state.
STEADY_LOOPS = 50

#: Variant name -> (import statement, loop-making expression). The trimmed
#: loopkit variants name their families; the essential executor plugin and
#: the pollers are always part of a loopkit loop.
VARIANTS: dict[str, tuple[str, str]] = {
    "asyncio": ("import asyncio", "asyncio.new_event_loop()"),
    "uvloop": ("import uvloop", "uvloop.new_event_loop()"),
    "loopkit": ("import loopkit", "loopkit.new_event_loop()"),
    "loopkit[tcp]": ("import loopkit", "loopkit.new_event_loop(plugins=['tcp'])"),
    "loopkit[udp]": ("import loopkit", "loopkit.new_event_loop(plugins=['udp'])"),
    "loopkit[]": ("import loopkit", "loopkit.new_event_loop(plugins=[])"),
}

#: The measuring child. It must import nothing before the timed import but
#: what the interpreter's start-up already loaded (sys, time, os are there).
CHILD = """\
import os, sys, time
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
rss0 = rss()
n0 = len(sys.modules)
w0, c0 = time.perf_counter(), time.process_time()
{import_stmt}
w1, c1 = time.perf_counter(), time.process_time()
n1 = len(sys.modules)
loop = {make}
w2, c2 = time.perf_counter(), time.process_time()
n2 = len(sys.modules)
rss2 = rss()
loop.close()
steady_wall, steady_cpu = [], []
for _ in range({steady}):
    a, b = time.perf_counter(), time.process_time()
    other = {make}
    steady_wall.append(time.perf_counter() - a)
    steady_cpu.append(time.process_time() - b)
    other.close()
steady_wall.sort(); steady_cpu.sort()
assembly = getattr(type(loop), '_loopkit_assembly', None)
import json
print(json.dumps({{
    'import_wall': w1 - w0, 'import_cpu': c1 - c0,
    'first_wall': w2 - w1, 'first_cpu': c2 - c1,
    'steady_wall': steady_wall[len(steady_wall) // 2],
    'steady_cpu': steady_cpu[len(steady_cpu) // 2],
    'modules_import': n1 - n0, 'modules_loop': n2 - n0,
    'rss': rss2, 'rss_growth': rss2 - rss0,
    'plugins': None if assembly is None else [p.name for p in assembly.plugins],
    'plugin_modules': sorted(m for m in sys.modules if m.startswith('loopkit.plugins.')
                             and m.count('.') == 2),
}}))
"""

#: Columns of the table: (record key, header, formatter kind).
COLUMNS = (
    ("import", "import (ms)", "ms"),
    ("modules_import", "modules after import", "count"),
    ("modules_loop", "modules after 1st loop", "count"),
    ("first", "1st loop (ms)", "ms"),
    ("steady", "next loops (µs/loop)", "us"),
    ("total", "import + 1st loop (ms)", "ms"),
    ("rss", "RSS (MiB)", "mib"),
    ("rss_growth", "RSS growth (MiB)", "mib"),
)

#: Columns relative to the ``asyncio`` row, when it was measured.
RELATIVE = ("vs asyncio (import + 1st loop)", "RSS over asyncio (MiB)")


def row_name(variant: str, label: str) -> str:
    """The table's name for ``variant`` measured with the interpreter ``label``."""
    return f"{variant} ({label})" if label else variant


def rows_to_measure(
    variants: Sequence[str], pythons: Sequence[tuple[str, str]]
) -> list[tuple[str, str, str | None]]:
    """(row name, variant, interpreter) for every row of the run."""
    rows: list[tuple[str, str, str | None]] = [(v, v, None) for v in variants]
    for label, path in pythons:
        rows.extend((row_name(v, label), v, path) for v in variants if v.startswith("loopkit"))
    return rows


def child_code(variant: str) -> str:
    """The ``python -c`` program that measures ``variant``."""
    import_stmt, make = VARIANTS[variant]
    return CHILD.format(import_stmt=import_stmt, make=make, steady=STEADY_LOOPS)


def _child_env() -> dict[str, str]:
    """The environment without ``LOOPKIT_*`` and without PYTHONDONTWRITEBYTECODE.

    An installed application imports from cached bytecode; with
    PYTHONDONTWRITEBYTECODE set (as on some CI machines) every child would
    compile loopkit's sources again and the import column would measure the
    compiler. The warm-up round writes the caches.
    """
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LOOPKIT_") and key != "PYTHONDONTWRITEBYTECODE"
    }


#: The children run in the root folder: a source tree as the current folder
#: (first on ``sys.path``) would shadow the installed package being measured.
_NEUTRAL_CWD = os.path.abspath(os.sep)


def measure(variant: str, python: str | None = None) -> dict[str, Any]:
    """One fresh interpreter's record for ``variant``; RuntimeError on failure."""
    done = subprocess.run(
        [python or sys.executable, "-c", child_code(variant)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_child_env(),
        cwd=_NEUTRAL_CWD,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise RuntimeError(f"{variant}: {detail[0]}")
    record: dict[str, Any] = json.loads(lines[-1])
    record["variant"] = variant
    return record


def _value(record: dict[str, Any], key: str, clock: str) -> float:
    if key == "total":
        return float(record[f"import_{clock}"] + record[f"first_{clock}"])
    if key in ("import", "first", "steady"):
        return float(record[f"{key}_{clock}"])
    return float(record[key])


def _format(value: float, kind: str) -> str:
    if kind == "ms":
        return f"{value * 1e3:.1f}"
    if kind == "us":
        return f"{value * 1e6:.0f}"
    if kind == "mib":
        return f"{value / 2**20:.1f}"
    return f"{value:.0f}"


def _cell(summary: Summary, kind: str) -> str:
    median = _format(summary.median, kind)
    if summary.count == 1 or summary.low == summary.high:
        return median
    return f"{median} ({_format(summary.low, kind)}..{_format(summary.high, kind)})"


def table_rows(
    records: Sequence[dict[str, Any]], variants: Sequence[str], clock: str
) -> list[list[str]]:
    """Header row, then one row per variant: median (min..max) per column."""
    base = [r for r in records if r["variant"] == "asyncio"]
    relative = bool(base)
    rows = [["loop", *(title for _, title, _ in COLUMNS), *(RELATIVE if relative else ())]]
    for variant in variants:
        mine = [r for r in records if r["variant"] == variant]
        if not mine:
            continue
        cells = [f"`{variant}`"]
        for key, _, kind in COLUMNS:
            cells.append(_cell(summarize([_value(r, key, clock) for r in mine]), kind))
        if relative:
            total = summarize([_value(r, "total", clock) for r in mine]).median
            base_total = summarize([_value(r, "total", clock) for r in base]).median
            rss = summarize([_value(r, "rss", clock) for r in mine]).median
            base_rss = summarize([_value(r, "rss", clock) for r in base]).median
            cells.append(f"{total / base_total:.2f}x")
            cells.append(f"{(rss - base_rss) / 2**20:+.1f}")
        rows.append(cells)
    return rows


def table(records: Sequence[dict[str, Any]], variants: Sequence[str], clock: str) -> list[str]:
    """The Markdown table."""
    header, *body = table_rows(records, variants, clock)
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines.extend("| " + " | ".join(cells) + " |" for cells in body)
    return lines


def rst_table(records: Sequence[dict[str, Any]], variants: Sequence[str], clock: str) -> list[str]:
    """The same table as a reStructuredText list-table, for the documentation."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in table_rows(records, variants, clock):
        first, *rest = cells
        lines.append(f"   * - {first.replace('`', '``')}")
        lines.extend(f"     - {cell}" for cell in rest)
    return lines


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/startup.py",
        description="Start-up cost of asyncio, uvloop, full and trimmed loopkit loops.",
    )
    parser.add_argument("--repeats", type=int, default=7, help="processes per variant (7)")
    parser.add_argument(
        "--variants",
        type=lambda value: [part.strip() for part in value.split(",") if part.strip()],
        default=None,
        help=f"comma-separated, from: {', '.join(VARIANTS)} (default: all importable)",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: elapsed time (default); cpu: the process's CPU time (steadier when "
        "the machine is crowded; leaves out time spent waiting for the disk)",
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write the report here")
    parser.add_argument("--json", type=Path, default=None, help="write every record here")
    parser.add_argument("--rst", type=Path, default=None, help="write the table as RST here")
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="also measure the loopkit variants with this interpreter (repeatable)",
    )
    parser.add_argument("--smoke", action="store_true", help="one quick round, no warm-up (for CI)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    pythons = []
    for item in args.python:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            parser.error(f"--python takes LABEL=PATH, not {item!r}")
        pythons.append((label, path))
    args.python = pythons
    if args.smoke:
        args.repeats = 1
    if args.variants is None:
        args.variants = [
            name for name in VARIANTS if name != "uvloop" or loops.is_available("uvloop")
        ]
    unknown = [name for name in args.variants if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    plan = rows_to_measure(args.variants, args.python)
    variants = [name for name, _, _ in plan]
    records: list[dict[str, Any]] = []
    if not args.smoke:
        for _, variant, python in plan:
            # Unrecorded: writes bytecode caches (and the plugin index), warms
            # the OS file cache.
            measure(variant, python)
    total = args.repeats * len(plan)
    step = 0
    for repeat in range(args.repeats):
        shift = repeat % len(plan)
        for name, variant, python in plan[shift:] + plan[:shift]:
            step += 1
            record = measure(variant, python)
            record["variant"] = name
            record["repeat"] = repeat
            records.append(record)
            print(
                f"[{step}/{total}] {name}: import {record[f'import_{args.clock}'] * 1e3:.1f} ms",
                file=sys.stderr,
            )

    lines = [
        "# loopkit start-up",
        "",
        f"- Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {args.clock} clock; {args.repeats} fresh process(es) per "
        f"variant, interleaved; cells: median (min..max)",
        *(f"- ({label}): {path}" for label, path in args.python),
        "- modules: entries added to sys.modules since interpreter start-up; RSS growth: "
        "since interpreter start-up",
        "",
        *table(records, variants, args.clock),
        "",
        "Plugins assembled per loopkit variant (pollers and the executor are always in):",
        "",
    ]
    for variant in variants:
        first = next(r for r in records if r["variant"] == variant)
        if first["plugins"] is not None:
            imported = ", ".join(m.rsplit(".", 1)[1] for m in first["plugin_modules"]) or "none"
            lines.append(
                f"- `{variant}`: {', '.join(first['plugins'])}; "
                f"plugin packages imported: {imported}"
            )
    report = "\n".join(lines) + "\n"
    sys.stdout.write(report)
    if args.markdown is not None:
        args.markdown.write_text(report)
    if args.rst is not None:
        args.rst.write_text("\n".join(rst_table(records, variants, args.clock)) + "\n")
    if args.json is not None:
        payload = {
            "python": platform.python_version(),
            "clock": args.clock,
            "repeats": args.repeats,
            "steady_loops": STEADY_LOOPS,
            "records": records,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
