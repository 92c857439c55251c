"""A trimmed loop imports only the plugins it enables.

Each case runs in a fresh interpreter, because the test process itself has
long since imported every plugin: only a new process shows what making one
particular loop pulls into ``sys.modules``. The full loop is checked the
same way, so that a broken probe (one that never sees plugin modules at
all) fails instead of passing every "not imported" assertion.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FAMILIES = ("pipes", "signals", "subprocess", "tcp", "udp", "unix")

PROBE = """\
import json, sys
import loopkit
after_import = sorted(m for m in sys.modules if m.startswith('loopkit'))
loop = {make}
try:
    print(json.dumps({{
        'after_import': after_import,
        'after_loop': sorted(m for m in sys.modules if m.startswith('loopkit')),
        'plugins': [p.name for p in type(loop)._loopkit_assembly.plugins],
    }}))
finally:
    loop.close()
"""


def _probe(make: str, **env: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = _fresh(PROBE.format(make=make), **env)
    return result


def _fresh(code: str, **env: str) -> Any:
    """What ``code`` prints as JSON, run in a fresh interpreter without LOOPKIT_*."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOOPKIT_")}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env=environ,
    )
    return json.loads(done.stdout)


def _families(modules: list[str]) -> set[str]:
    """The transport families among ``modules`` (any of their submodules counts)."""
    return {
        name.split(".")[2]
        for name in modules
        if name.startswith("loopkit.plugins.") and name.split(".")[2] in FAMILIES
    }


def test_importing_loopkit_imports_no_plugin() -> None:
    seen = _probe("loopkit.new_event_loop(plugins=[])")
    assert _families(seen["after_import"]) == set()
    for module in (
        "loopkit.plugins.resolver",
        "loopkit.plugins.executor",
        "loopkit.plugins.instruments",
    ):
        assert module not in seen["after_import"]
    assert not any(name.startswith("loopkit.plugins.pollers") for name in seen["after_import"])


def test_the_full_loop_imports_every_family_so_the_probe_can_see_them() -> None:
    seen = _probe("loopkit.new_event_loop()")
    assert _families(seen["after_loop"]) == set(FAMILIES)
    assert "loopkit.plugins.instruments" not in seen["after_loop"]  # opt-in


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        ("loopkit.new_event_loop(plugins=['udp'])", {"udp"}),
        ("loopkit.new_event_loop(plugins=['tcp'])", {"tcp"}),
        ("loopkit.new_event_loop(plugins=['unix'])", {"unix"}),  # shared streams, no tcp
        ("loopkit.new_event_loop(exclude=['tcp'])", set(FAMILIES) - {"tcp"}),
        ("loopkit.new_event_loop(plugins=[])", set()),
    ],
)
def test_a_trimmed_loop_imports_only_its_families(make: str, expected: set[str]) -> None:
    seen = _probe(make)
    assert _families(seen["after_loop"]) == expected
    assert "loopkit.plugins.instruments" not in seen["after_loop"]
    assert set(seen["plugins"]) & set(FAMILIES) == expected


def test_a_trimmed_loop_still_has_the_essential_plugin_and_the_pollers() -> None:
    seen = _probe("loopkit.new_event_loop(plugins=['udp'])")
    assert "loopkit.plugins.executor" in seen["after_loop"]
    assert "loopkit.plugins.resolver" in seen["after_loop"]  # required by udp
    assert {"executor", "resolver", "epoll", "poll", "select"} <= set(seen["plugins"])


def test_the_environment_variable_trims_a_loop_made_without_arguments() -> None:
    seen = _probe("loopkit.new_event_loop()", LOOPKIT_PLUGINS="udp")
    assert _families(seen["after_loop"]) == {"udp"}


def test_excluding_families_keeps_them_unimported() -> None:
    seen = _probe("loopkit.new_event_loop(exclude=['subprocess', 'signals', 'pipes'])")
    assert _families(seen["after_loop"]) == {"tcp", "udp", "unix"}


STARTUP = Path(__file__).resolve().parent.parent / "benchmarks" / "startup.py"


def test_the_startup_benchmark_prints_one_row_per_variant() -> None:
    done = subprocess.run(
        [sys.executable, str(STARTUP), "--smoke", "--variants", "asyncio,loopkit[udp]"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = [line for line in done.stdout.splitlines() if line.startswith("| `")]
    assert [row.split("|")[1].strip() for row in rows] == ["`asyncio`", "`loopkit[udp]`"]
    assert all(len(row.split("|")) == 13 for row in rows)  # loop + 8 columns + 2 vs asyncio
    assert "plugin packages imported: executor, pollers, resolver, udp\n" in done.stdout


EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "trimmed_udp.py"


def test_the_trimming_example_echoes_refuses_tcp_and_imports_only_udp() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "echoed: ping"
    assert lines[1].startswith("open_connection: loop.create_connection() is provided by the 'tcp'")
    assert lines[2] == "transport families imported: udp"
    assert done.stderr == ""


@pytest.mark.parametrize(
    "make",
    [
        "loopkit.new_event_loop(plugins=[])",
        "loopkit.new_event_loop(plugins=['tcp'])",
        "loopkit.new_event_loop()",
    ],
)
def test_making_a_loop_never_imports_importlib_metadata(make: str, tmp_path: Path) -> None:
    """importlib.metadata (email, zipfile, csv, ...) costs more than an asyncio loop.

    Built-in plugins are known without reading the disk; the full loop reads
    the entry points by hand (twice here: once scanning, once from the index).
    """
    code = (
        "import sys, json\n"
        "before = 'importlib.metadata' in sys.modules\n"
        "import loopkit\n"
        f"{make}.close()\n"
        "from loopkit.core import discovery\n"
        "print(json.dumps([before, 'importlib.metadata' in sys.modules]))\n"
    )
    for _ in range(2):
        before, after = _fresh(code, LOOPKIT_CACHE_DIR=str(tmp_path))
        if before:
            pytest.skip("this environment's start-up already imports importlib.metadata")
        assert after is False


#: Stdlib modules that asyncio does not import and that making a loop must
#: not import either: each costs start-up time that only an error message
#: (difflib), a development convenience (dataclasses), the first
#: ``run_in_executor`` (queue, the thread pool's module) or the first burst
#: of due timers (bisect) needs.
NOT_ON_THE_START_PATH = (
    "dataclasses",
    "difflib",
    "queue",
    "concurrent.futures.thread",
    "bisect",
)


@pytest.mark.parametrize(
    "make",
    ["loopkit.new_event_loop(plugins=[])", "loopkit.new_event_loop(plugins=['tcp'])"],
)
def test_making_a_trimmed_loop_imports_no_start_up_weight(make: str) -> None:
    code = (
        "import sys, json\n"
        f"names = {NOT_ON_THE_START_PATH!r}\n"
        "before = [n for n in names if n in sys.modules]\n"
        "import loopkit\n"
        f"{make}.close()\n"
        "print(json.dumps([before, [n for n in names if n in sys.modules]]))\n"
    )
    before, after = _fresh(code)
    assert [name for name in after if name not in before] == []


@pytest.mark.parametrize(
    "make",
    [
        "loopkit.new_event_loop(plugins=[])",
        "loopkit.new_event_loop(plugins=['tcp'])",
        f"loopkit.new_event_loop(plugins={list(FAMILIES)!r})",
    ],
)
def test_a_loop_of_builtin_plugins_is_assembled_without_importing_pluggy(make: str) -> None:
    """Importing pluggy is a third of a trimmed loop's start-up over asyncio's.

    loopkit's own plugins are read straight from their modules (the test
    suite holds that reading to pluggy's); pluggy is imported for plugins
    from elsewhere, and then validates them.
    """
    code = (
        "import sys, json, types\n"
        "before = 'pluggy' in sys.modules\n"
        "import loopkit\n"
        f"{make}.close()\n"
        "ours = 'pluggy' in sys.modules\n"
        "extra = types.ModuleType('extra')\n"
        "extra.loopkit_requires = loopkit.hookimpl(lambda: [])\n"
        "loopkit.new_event_loop(plugins=[extra]).close()\n"
        "print(json.dumps([before, ours, 'pluggy' in sys.modules]))\n"
    )
    before, ours, with_a_foreign_plugin = _fresh(code)
    if before:
        pytest.skip("this environment's start-up already imports pluggy")
    assert ours is False
    assert with_a_foreign_plugin is True


#: loopkit modules that making a trimmed loop must not import: the transport
#: bases (a trimmed loop's plugins import them on first use), the policy and
#: the runner (only ``install``/``EventLoopPolicy``/``run`` need them), the
#: helper threads (the first blocking call), pluggy's manager (plugins from
#: elsewhere), the executor backends (the first pool), and a poller whose
#: call this platform's ``select`` lacks (kqueue on Linux).
NOT_FOR_A_TRIMMED_LOOP = (
    "loopkit.transports",
    "loopkit.policy",
    "loopkit.runner",
    "loopkit.core.offloop",
    "loopkit.core.manager",
    "loopkit.plugins.executor.threads",
    "loopkit.plugins.executor.elastic",
    *(
        f"loopkit.plugins.pollers.{name}"
        for name in ("epoll", "kqueue", "poll", "select")
        if not hasattr(select, name)
    ),
)


@pytest.mark.parametrize(
    "make",
    [
        "loopkit.new_event_loop(plugins=[])",
        "loopkit.new_event_loop(plugins=['udp'])",
        "loopkit.new_event_loop()",
    ],
)
def test_making_a_loop_imports_no_unused_loopkit_module(make: str) -> None:
    code = (
        "import sys, json\n"
        "import loopkit\n"
        f"{make}.close()\n"
        f"names = {NOT_FOR_A_TRIMMED_LOOP!r}\n"
        "print(json.dumps([n for n in names if n in sys.modules]))\n"
    )
    imported = _fresh(code)
    if make != "loopkit.new_event_loop(plugins=[])":  # transport families use the bases
        imported = [name for name in imported if name != "loopkit.transports"]
    assert imported == []


@pytest.mark.skipif(hasattr(select, "kqueue"), reason="this platform has kqueue")
def test_the_kqueue_module_is_not_imported_where_select_has_no_kqueue() -> None:
    code = (
        "import sys, json, loopkit\n"
        "loopkit.new_event_loop().close()\n"
        "loopkit.new_event_loop(plugins=['tcp']).close()\n"
        "print(json.dumps('loopkit.plugins.pollers.kqueue' in sys.modules))\n"
    )
    assert _fresh(code) is False


def test_the_lazy_names_of_the_package_are_the_real_ones() -> None:
    code = (
        "import sys, json, loopkit\n"
        "lazy = 'loopkit.policy' in sys.modules or 'loopkit.runner' in sys.modules\n"
        "from loopkit import EventLoopPolicy, install, run\n"
        "import loopkit.policy, loopkit.runner\n"
        "same = (EventLoopPolicy is loopkit.policy.EventLoopPolicy\n"
        "        and install is loopkit.policy.install and run is loopkit.runner.run)\n"
        "missing = sorted({'run', 'install', 'EventLoopPolicy'} - set(dir(loopkit)))\n"
        "print(json.dumps([lazy, same, missing]))\n"
    )
    assert _fresh(code) == [False, True, []]


def test_a_tcp_loop_loads_the_stream_transport_on_its_first_connection() -> None:
    code = (
        "import asyncio, sys, json, loopkit\n"
        "names = ['loopkit.transports.' + m for m in\n"
        "         ('base', 'flowcontrol', 'server', 'stream', 'wiring')]\n"
        "eyeballs = 'loopkit.plugins.tcp.eyeballs'\n"
        "loop = loopkit.new_event_loop(plugins=['tcp'])\n"
        "made = [n for n in names if n in sys.modules] + [eyeballs] * (eyeballs in sys.modules)\n"
        "async def main():\n"
        "    server = await loop.create_server(asyncio.Protocol, '127.0.0.1', 0)\n"
        "    port = server.sockets[0].getsockname()[1]\n"
        "    transport, _ = await loop.create_connection(asyncio.Protocol, '127.0.0.1', port)\n"
        "    transport.close()\n"
        "    server.close()\n"
        "    await server.wait_closed()\n"
        "loop.run_until_complete(main())\n"
        "loop.close()\n"
        "print(json.dumps([made, [n for n in names if n in sys.modules],\n"
        "                  eyeballs in sys.modules]))\n"
    )
    made, used, raced = _fresh(code)
    assert made == []
    assert raced is False  # the Happy Eyeballs race only for happy_eyeballs_delay=
    assert used == [
        f"loopkit.transports.{m}" for m in ("base", "flowcontrol", "server", "stream", "wiring")
    ]
