"""The command line: ``python -m loopkit`` (show the loop) and ``python -m loopkit run``.

``show`` (the default) prints what a loop assembled here is made of: each
plugin with its distribution, version and contributions, the pollers, the
resolvers and the executors with the one chosen of each, every method of
:class:`asyncio.AbstractEventLoop` on the running Python with the plugin that
provides it, or "missing", and how the methods' signatures and the
version-specific API compare with asyncio's.

``run`` executes an unchanged asyncio program with loopkit installed as the
event loop policy, so ``asyncio.run()`` inside it makes loopkit loops.
``sys.argv`` is what the program would see when started by ``python``.

When two installed plugins clash (both add one method, both offer one
poller name), ``show`` still prints everything else, marks the clash with
both plugins' names and how to resolve it, and exits with status 1.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from loopkit.core import catalog
from loopkit.core.assembly import (
    ENV_EXCLUDE,
    ENV_EXECUTOR,
    ENV_PLUGINS,
    ENV_POLLER,
    ENV_RESOLVER,
    Assembly,
    assemble,
    diagnose,
    expected_provider,
)
from loopkit.core.errors import AssemblyError, LoopkitError, UnknownNameError
from loopkit.tools import apicompare

USAGE = """\
usage: python -m loopkit [show] [--poller NAME] [--resolver NAME] [--executor NAME]
                         [--plugins A,B] [--exclude A,B]
       python -m loopkit run [same options] script.py [args...]
       python -m loopkit run [options] -m module [args...]
"""


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def render(assembly: Assembly, poller: str | None) -> str:
    """The human-readable description of an assembly, as ``show`` prints it."""
    import loopkit

    lines = [
        f"loopkit {loopkit.__version__} on Python {sys.version.split()[0]} ({sys.platform})",
        "",
        "plugins:",
    ]
    for record in assembly.plugins:
        origin = (
            f"{record.distribution} {record.version}"
            if record.distribution
            else "registered in-process"
        )
        parts = []
        public = [name for name in record.adds if not name.startswith("_")]
        if public:
            parts.append("adds " + ", ".join(public))
        if record.overrides:
            parts.append("overrides " + ", ".join(record.overrides))
        if record.pollers:
            parts.append("poller " + ", ".join(record.pollers))
        if record.resolvers:
            parts.append("resolver " + ", ".join(record.resolvers))
        if record.executors:
            parts.append("executor " + ", ".join(record.executors))
        if record.lifecycle:
            parts.append("hooks " + ", ".join(record.lifecycle))
        lines.append(f"  {record.name:<12} [{origin}] {'; '.join(parts) or '-'}")
    for name, reason in assembly.skipped:
        lines.append(f"  {name:<12} SKIPPED: {reason}")
    if assembly.problems:
        lines += ["", "CONFLICTS (a loop cannot be made until they are resolved):"]
        lines += [f"  ! {problem}" for problem in assembly.problems]
    lines += _backend_lines("poller", assembly.pollers, assembly.poller_info(poller).name)
    lines += _backend_lines("resolver", assembly.resolvers, assembly.resolver)
    lines += _backend_lines("executor", assembly.executors, assembly.executor)
    methods = catalog.abstract_loop_methods()
    provided = sum(1 for name in methods if name in assembly.providers)
    lines += [
        "",
        f"asyncio.AbstractEventLoop API on Python "
        f"{sys.version_info.major}.{sys.version_info.minor}: "
        f"{provided}/{len(methods)} methods provided",
    ]
    for name in methods:
        owner = assembly.providers.get(name)
        if owner is None:
            expected = expected_provider(name, assembly)
            owner = "missing" + (f" (plugin {expected!r})" if expected else "")
        lines.append(f"  {name:<28} {owner}")
    lines += _signature_lines(assembly, methods)
    return "\n".join(lines)


def _backend_lines(
    kind: str, table: Mapping[str, tuple[Any, str]], chosen: str | None
) -> list[str]:
    """Every backend of one kind, available or not, the chosen one marked ``*``."""
    lines = ["", f"{kind}: {chosen or 'none (no enabled plugin offers one)'}"]
    for name, (info, plugin_name) in sorted(
        table.items(), key=lambda item: (-item[1][0].priority, item[0])
    ):
        if info.is_available():
            state = "available"
        else:
            state = f"not available ({getattr(info, 'install_hint', '') or 'not on this platform'})"
        mark = "*" if name == chosen else " "
        lines.append(
            f"  {mark} {name:<8} priority {info.priority:<3} {state} "
            f"(plugin {plugin_name}) {info.description}"
        )
    return lines


def _signature_lines(assembly: Assembly, methods: list[str]) -> list[str]:
    """The signature comparison with asyncio's loop, and the versioned API."""
    differences = apicompare.signature_differences(assembly.loop_class, methods)
    compared = sum(1 for name in methods if name in assembly.providers)
    lines = [
        "",
        f"signatures: {compared - len(differences)}/{compared} provided methods take "
        "exactly asyncio's parameters (names, kinds, defaults)",
    ]
    for difference in differences:
        lines.append(f"  DIFFERS {difference.method}")
        lines.append(f"    asyncio: {difference.asyncio_parameters}")
        lines.append(f"    loopkit: {difference.loopkit_parameters}")
    server_class = None
    if assembly.providers.get("create_server") == "tcp":
        from loopkit.transports.server import Server

        server_class = Server
    lines += ["", "version-specific API (present exactly where asyncio has it):"]
    for label, since, found in apicompare.versioned_api_present(assembly.loop_class, server_class):
        if found is None:
            state = "its plugin is not enabled"
        else:
            wanted = apicompare.expected_here(since)
            verdict = "as asyncio" if found == wanted else "DIFFERS from asyncio"
            state = ("present" if found else "absent") + f" here, {verdict}"
        lines.append(f"  {label:<38} new in {since[0]}.{since[1]}: {state}")
    return lines


def _apply_options(args: argparse.Namespace) -> None:
    """Turn command-line choices into the environment variables loops read."""
    if args.poller:
        os.environ[ENV_POLLER] = args.poller
    if args.plugins:
        os.environ[ENV_PLUGINS] = args.plugins
    if args.exclude:
        os.environ[ENV_EXCLUDE] = args.exclude
    if args.resolver:
        os.environ[ENV_RESOLVER] = args.resolver
    if args.executor:
        os.environ[ENV_EXECUTOR] = args.executor


def _option_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, add_help=True, usage=USAGE)
    parser.add_argument("--poller", help="poller backend to use (default: best available)")
    parser.add_argument("--resolver", help="resolver backend to use (default: best available)")
    parser.add_argument("--executor", help="executor backend to use (default: best available)")
    parser.add_argument("--plugins", help="comma-separated plugins to enable (default: all)")
    parser.add_argument("--exclude", help="comma-separated plugins to leave out")
    return parser


def show(argv: Sequence[str]) -> int:
    """``python -m loopkit [show]``."""
    args = _option_parser("python -m loopkit").parse_args(list(argv))
    choice = {"resolver": args.resolver, "executor": args.executor}
    try:
        assembly = assemble(_names(args.plugins), _names(args.exclude), **choice)
    except UnknownNameError:
        raise
    except AssemblyError:
        # A clash between plugins: show everything else, and the clash.
        assembly = diagnose(_names(args.plugins), _names(args.exclude), **choice)
        if not assembly.problems:
            raise
    print(render(assembly, args.poller or os.environ.get(ENV_POLLER) or None))
    return 1 if assembly.problems else 0


def run_program(argv: Sequence[str]) -> int:
    """``python -m loopkit run [options] (script | -m module) [args...]``."""
    argv = list(argv)
    options: list[str] = []
    while argv and argv[0].startswith("--") and argv[0] != "--":
        option = argv.pop(0)
        options.append(option)
        if "=" not in option and argv:
            options.append(argv.pop(0))
    if argv and argv[0] == "--":
        argv.pop(0)
    args = _option_parser("python -m loopkit run").parse_args(options)
    if not argv:
        print(USAGE, file=sys.stderr, end="")
        return 2
    _apply_options(args)
    import loopkit

    loopkit.install()
    if argv[0] == "-m":
        if len(argv) < 2:
            print("python -m loopkit run -m: a module name is required", file=sys.stderr)
            return 2
        module = argv[1]
        sys.argv = [module, *argv[2:]]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        script = argv[0]
        sys.argv = list(argv)
        sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
        runpy.run_path(script, run_name="__main__")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m loopkit`` and of the ``loopkit`` script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "run":
            return run_program(argv[1:])
        if argv and argv[0] == "show":
            argv = argv[1:]
        return show(argv)
    except LoopkitError as exc:
        print(f"loopkit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``python -m loopkit | head``): not an error.
        # Point stdout at devnull so the interpreter's final flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
