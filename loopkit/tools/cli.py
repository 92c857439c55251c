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
    ENV_ENABLE,
    ENV_EXCLUDE,
    ENV_EXECUTOR,
    ENV_PLUGINS,
    ENV_POLLER,
    ENV_RESOLVER,
    Assembly,
    assemble,
    diagnose,
    discover,
    expected_provider,
)
from loopkit.core.discovery import OWN_DISTRIBUTION
from loopkit.core.errors import AssemblyError, LoopkitError, UnknownNameError
from loopkit.tools import apicompare

#: The options that take a value, for splitting ``run``'s options from the program's.
_VALUED = ("--poller", "--resolver", "--executor", "--plugins", "--exclude", "--enable")


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def render(assembly: Assembly, poller: str | None) -> str:
    """The human-readable description of an assembly, as ``show`` prints it."""
    import loopkit

    lines = [
        f"loopkit {loopkit.__version__} (distribution {OWN_DISTRIBUTION}) "
        f"on Python {sys.version.split()[0]} ({sys.platform})",
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
    lines += _not_enabled_lines(assembly)
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


def _not_enabled_lines(assembly: Assembly) -> list[str]:
    """Installed plugins this loop leaves out (opt-in, excluded, not named), and how to add them."""
    enabled = {record.name for record in assembly.plugins}
    enabled.update(name for name, _ in assembly.skipped)
    lines = []
    for name, entry_point in sorted(discover().items()):
        if name in enabled:
            continue
        dist = entry_point.dist
        origin = "{} {}".format(*dist.name_version()) if dist is not None else "unknown"
        if name in assembly.excluded:
            how = f"excluded; drop it from --exclude / {ENV_EXCLUDE}"
        elif name in catalog.FOREIGN_POLLERS:
            how = f"a poller {sys.platform} does not have; never loaded here"
        elif name in catalog.OPT_IN_PLUGINS:
            how = (
                f"opt-in; enable with --enable {name}, {ENV_ENABLE}={name} "
                f"or new_event_loop(enable=[{name!r}])"
            )
        else:
            how = f"not selected; add it to --plugins / {ENV_PLUGINS} or use --enable {name}"
        lines.append(f"  {name:<12} [{origin}] installed, not enabled ({how})")
    return lines


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


def _signature_lines(assembly: Assembly, methods: Sequence[str]) -> list[str]:
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
    for value, variable in (
        (args.poller, ENV_POLLER),
        (args.plugins, ENV_PLUGINS),
        (args.exclude, ENV_EXCLUDE),
        (args.enable, ENV_ENABLE),
        (args.resolver, ENV_RESOLVER),
        (args.executor, ENV_EXECUTOR),
    ):
        if value:
            os.environ[variable] = value


def _version() -> str:
    import loopkit

    return f"loopkit {loopkit.__version__} ({OWN_DISTRIBUTION}, Python {sys.version.split()[0]})"


def _option_parser(prog: str, *, run: bool = False) -> argparse.ArgumentParser:
    if run:
        parser = argparse.ArgumentParser(
            prog=f"{prog} run",
            usage="%(prog)s [options] (script.py | -m module) [args ...]",
            description="Run an unchanged asyncio program on loopkit, as python would run "
            "it: asyncio.run() and asyncio.new_event_loop() inside it make loopkit loops. "
            "The options are checked before the program's first line runs.",
            epilog="Everything after the script (or -m module) is the program's own argv. "
            "The options set the LOOPKIT_* environment variables, so child processes "
            "that use loopkit make the same choice.",
        )
    else:
        parser = argparse.ArgumentParser(
            prog=prog,
            usage=f"%(prog)s [show] [options]\n       {prog} run [options] "
            "(script.py | -m module) [args ...]",
            description="Show the loop loopkit assembles here: each plugin with its "
            "distribution and version, the installed plugins it leaves out, the pollers, "
            "resolvers and executors, and which plugin provides each asyncio loop method.",
            epilog=f"'{prog} run --help' explains running a program on loopkit.",
        )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("--poller", help="poller backend (default: the best available)")
    parser.add_argument("--resolver", help="resolver backend (default: the best available)")
    parser.add_argument("--executor", help="executor backend (default: the best available)")
    parser.add_argument(
        "--plugins", metavar="A,B", help="the only plugins to enable (default: all but opt-in)"
    )
    parser.add_argument("--exclude", metavar="A,B", help="plugins to leave out")
    parser.add_argument(
        "--enable", metavar="A,B", help="plugins to add, such as opt-in ones (instruments)"
    )
    return parser


def show(argv: Sequence[str], prog: str = "python -m loopkit") -> int:
    """``python -m loopkit [show]``."""
    args = _option_parser(prog).parse_args(list(argv))
    selection = (_names(args.plugins), _names(args.exclude), _names(args.enable))
    choice = {"resolver": args.resolver, "executor": args.executor}
    try:
        assembly = assemble(*selection, **choice)
    except UnknownNameError:
        raise
    except AssemblyError:
        # A clash between plugins: show everything else, and the clash.
        assembly = diagnose(*selection, **choice)
        if not assembly.problems:
            raise
    print(render(assembly, args.poller or os.environ.get(ENV_POLLER) or None))
    return 1 if assembly.problems else 0


def _split_run_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """``run``'s own options, and the program with its arguments (as python splits them)."""
    options: list[str] = []
    while argv and argv[0].startswith("-") and argv[0] not in ("-", "--", "-m"):
        option = argv.pop(0)
        options.append(option)
        if option in _VALUED and argv:
            options.append(argv.pop(0))
    if argv and argv[0] == "--":
        argv.pop(0)
    return options, argv


def _check_selection() -> None:
    """Assemble the loop the program will get, so that bad settings fail first.

    The program's loops are made from the same ``LOOPKIT_*`` variables, so
    they reuse this (cached) assembly rather than pay for it twice.
    """
    assemble().poller_info(os.environ.get(ENV_POLLER) or None)


def run_program(argv: Sequence[str], prog: str = "python -m loopkit") -> int:
    """``python -m loopkit run [options] (script | -m module) [args...]``."""
    parser = _option_parser(prog, run=True)
    options, argv = _split_run_arguments(list(argv))
    args = parser.parse_args(options)
    if not argv or argv == ["-m"]:
        what = "-m needs a module name" if argv else "a script or -m module is required"
        parser.error(what)
    _apply_options(args)
    _check_selection()
    import loopkit

    loopkit.install()
    if argv[0] == "-m":
        module = argv[1]
        missing = _missing_module(module)
        if missing:
            print(f"{prog}: {missing}", file=sys.stderr)
            return 1
        sys.argv = [module, *argv[2:]]
        sys.path.insert(0, os.getcwd())
        return _run_as_main(runpy.run_module, module, run_name="__main__", alter_sys=True)
    script = argv[0]
    if not os.path.isdir(script):
        try:
            open(script, "rb").close()
        except OSError as exc:
            print(
                f"{prog}: can't open file {os.path.abspath(script)!r}: "
                f"[Errno {exc.errno}] {exc.strerror}",
                file=sys.stderr,
            )
            return 2
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    return _run_as_main(runpy.run_path, script, run_name="__main__")


def _missing_module(name: str) -> str:
    """Why ``python -m name`` would not start, in python's words, or "" when it would."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
        if spec is None:
            return f"No module named {name}"
        if spec.submodule_search_locations is None:
            return ""
        if importlib.util.find_spec(f"{name}.__main__") is not None:
            return ""
    except (ImportError, ValueError) as exc:
        return (
            f"Error while finding module specification for {name!r} ({type(exc).__name__}: {exc})"
        )
    return f"No module named {name}.__main__; {name!r} is a package and cannot be directly executed"


def _run_as_main(runner: Any, target: str, **how: Any) -> int:
    """Run the program; an exception it lets out is printed as python prints it.

    The traceback starts at the program's own code: the frames of this module
    and of runpy, which python's own ``python script.py`` does not have, are
    cut off. ``SystemExit`` passes through, as under python.
    """
    try:
        runner(target, **how)
    except SystemExit:
        raise
    except BaseException as exc:
        traceback = exc.__traceback__
        while traceback is not None and traceback.tb_frame.f_globals.get("__name__") in (
            __name__,
            "runpy",
        ):
            traceback = traceback.tb_next
        sys.excepthook(type(exc), exc.with_traceback(traceback), traceback)
        # Python exits with 1 after an uncaught exception; 130 is what a
        # shell reports for a Ctrl-C (python kills itself with SIGINT there).
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    return 0


def _prog() -> str:
    """How the user called us: ``python -m loopkit``, or the ``loopkit`` script's name."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not name or name in ("__main__.py", "-c") or name.startswith("python"):
        return "python -m loopkit"
    return name


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m loopkit`` and of the ``loopkit`` script."""
    prog = _prog()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "run":
            return run_program(argv[1:], prog)
        if argv and argv[0] == "show":
            argv = argv[1:]
        return show(argv, prog)
    except LoopkitError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``python -m loopkit | head``): not an error.
        # Point stdout at devnull so the interpreter's final flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
