"""Write the intersphinx inventories that docs/conf.py reads from docs/_inventories/.

The docs link to the standard library's and pytest's documentation. Sphinx
finds those targets through an inventory (``objects.inv``) that intersphinx
normally downloads; the build machines have no network, so a small inventory
holding only the names our docs use is generated here and committed. Every URI
is the object's real address on docs.python.org/3 or docs.pytest.org, so the
links work for a reader.

Regenerate (from the repository root)::

    python docs/make_inventories.py

and commit docs/_inventories/*.inv with this file. To find what is missing
when ``python -m sphinx -n -W -b html docs /tmp/html`` reports ``reference
target not found`` for a standard-library or pytest name::

    python -m sphinx -n --keep-going -q -b html docs /tmp/html 2> /tmp/warnings.txt
    python docs/make_inventories.py --missing /tmp/warnings.txt

which lists the unresolved names that look like the standard library's or
pytest's and are not below yet; add each one to ``OBJECTS`` (its page and
role as docs.python.org has them) or, when Sphinx writes an object under the
private module it is defined in (``asyncio.events.AbstractEventLoop``,
``_asyncio.Future``), to ``ALIASES``. tests/test_docs_reference.py checks
that the committed files are what this script writes.
"""

from __future__ import annotations

import argparse
import builtins
import re
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "_inventories"

#: project -> (display name, version, {page: [(role, name), ...]}). The anchor
#: of an object is its name, of a module ``module-<name>``, as Sphinx writes them.
OBJECTS: dict[str, tuple[str, str, dict[str, list[tuple[str, str]]]]] = {
    "python": (
        "Python",
        "3",
        {
            "library/asyncio-eventloop.html": [
                ("py:class", "asyncio.AbstractEventLoop"),
                ("py:class", "asyncio.Handle"),
                ("py:class", "asyncio.TimerHandle"),
                ("py:class", "asyncio.Server"),
                ("py:method", "asyncio.loop.create_connection"),
                ("py:method", "asyncio.loop.create_server"),
                ("py:method", "asyncio.loop.start_tls"),
                ("py:method", "asyncio.loop.run_in_executor"),
            ],
            "library/asyncio-future.html": [("py:class", "asyncio.Future")],
            "library/asyncio-task.html": [("py:class", "asyncio.Task")],
            "library/asyncio-runner.html": [
                ("py:function", "asyncio.run"),
                ("py:class", "asyncio.Runner"),
            ],
            "library/asyncio-policy.html": [("py:class", "asyncio.AbstractEventLoopPolicy")],
            "library/asyncio-protocol.html": [
                ("py:class", "asyncio.BaseTransport"),
                ("py:class", "asyncio.Transport"),
                ("py:class", "asyncio.DatagramTransport"),
                ("py:class", "asyncio.BaseProtocol"),
                ("py:class", "asyncio.Protocol"),
                ("py:class", "asyncio.BufferedProtocol"),
                ("py:class", "asyncio.DatagramProtocol"),
            ],
            "library/collections.html": [("py:class", "collections.Counter")],
            "library/collections.abc.html": [
                ("py:class", f"collections.abc.{name}")
                for name in (
                    "AsyncIterator",
                    "Awaitable",
                    "Callable",
                    "Coroutine",
                    "Generator",
                    "Iterable",
                    "Iterator",
                    "Mapping",
                    "Set",
                    "Sequence",
                )
            ],
            "library/concurrent.futures.html": [
                ("py:class", "concurrent.futures.ThreadPoolExecutor"),
            ],
            "library/contextlib.html": [("py:class", "contextlib.AbstractAsyncContextManager")],
            "library/contextvars.html": [("py:class", "contextvars.Context")],
            "library/dataclasses.html": [("py:module", "dataclasses")],
            "library/copy.html": [("py:module", "copy")],
            "library/difflib.html": [("py:module", "difflib")],
            "library/queue.html": [("py:module", "queue")],
            "library/inspect.html": [("py:function", "inspect.getattr_static")],
            "library/importlib.metadata.html": [("py:module", "importlib.metadata")],
            "library/os.html": [("py:function", "os.fork")],
            "library/signal.html": [
                ("py:function", "signal.default_int_handler"),
                ("py:function", "signal.set_wakeup_fd"),
                ("py:function", "signal.signal"),
            ],
            "library/socket.html": [
                ("py:module", "socket"),
                ("py:class", "socket.socket"),
                ("py:exception", "socket.gaierror"),
                ("py:function", "socket.getaddrinfo"),
                ("py:function", "socket.getnameinfo"),
            ],
            "library/ssl.html": [
                ("py:module", "ssl"),
                ("py:class", "ssl.SSLContext"),
                ("py:class", "ssl.SSLSocket"),
                ("py:function", "ssl.create_default_context"),
            ],
            "library/subprocess.html": [("py:module", "subprocess")],
            "library/threading.html": [("py:class", "threading.Thread")],
            "library/time.html": [("py:function", "time.monotonic")],
            "library/exceptions.html": [
                ("py:exception", name)
                for name in (
                    "AttributeError",
                    "ConnectionError",
                    "Exception",
                    "NotImplementedError",
                    "OSError",
                    "ResourceWarning",
                    "RuntimeError",
                    "TypeError",
                    "ValueError",
                    "Warning",
                )
            ],
            "library/functions.html": [
                ("py:class", "bool"),
                ("py:class", "float"),
                ("py:class", "int"),
                ("py:class", "object"),
            ],
            "library/stdtypes.html": [
                ("py:class", "bytearray"),
                ("py:class", "bytes"),
                ("py:class", "dict"),
                ("py:class", "list"),
                ("py:class", "memoryview"),
                ("py:class", "str"),
                ("py:class", "tuple"),
            ],
            "library/constants.html": [("py:data", "None")],
        },
    ),
    "pytest": (
        "pytest",
        "stable",
        {
            "reference/reference.html": [
                ("py:class", "pytest.FixtureRequest"),
                ("py:class", "pytest.Item"),
            ],
        },
    ),
}

#: Names under which Sphinx writes an object (the module its class says it is
#: defined in) -> the documented name whose page and anchor it links to.
ALIASES: dict[str, dict[str, str]] = {
    "python": {
        "_asyncio.Future": "asyncio.Future",
        "_asyncio.Task": "asyncio.Task",
        "asyncio.events.AbstractEventLoop": "asyncio.AbstractEventLoop",
        "asyncio.events.Handle": "asyncio.Handle",
        "asyncio.events.TimerHandle": "asyncio.TimerHandle",
        "asyncio.futures.Future": "asyncio.Future",
        "asyncio.protocols.BaseProtocol": "asyncio.BaseProtocol",
        "asyncio.protocols.Protocol": "asyncio.Protocol",
        "asyncio.transports.Transport": "asyncio.Transport",
        "concurrent.futures.thread.ThreadPoolExecutor": "concurrent.futures.ThreadPoolExecutor",
    },
    "pytest": {
        "_pytest.fixtures.FixtureRequest": "pytest.FixtureRequest",
        "_pytest.nodes.Item": "pytest.Item",
    },
}


def entries(project: str) -> list[str]:
    """The inventory lines of ``project``: ``name domain:role priority uri dispname``."""
    _, _, pages = OBJECTS[project]
    where: dict[str, tuple[str, str]] = {}
    for page, objects in pages.items():
        for role, name in objects:
            anchor = f"module-{name}" if role == "py:module" else name
            where[name] = (role, f"{page}#{anchor}")
    for alias, name in ALIASES[project].items():
        where[alias] = where[name]
    # Priority 1: the object's own description (what Sphinx itself writes).
    return sorted(f"{name} {role} 1 {uri} -" for name, (role, uri) in where.items())


def inventory(project: str) -> bytes:
    """The whole inventory file of ``project``, in Sphinx's version 2 format."""
    title, version, _ = OBJECTS[project]
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {title}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(line + "\n" for line in entries(project))
    return header.encode() + zlib.compress(body.encode(), 9)


def missing(warnings: str) -> list[str]:
    """Unresolved names in a Sphinx warnings log that belong to the stdlib or pytest."""
    known = {line.split()[0] for project in OBJECTS for line in entries(project)}
    found = set(re.findall(r"reference target not found: (\S+)", warnings))
    foreign = set(sys.stdlib_module_names) | {"pytest", "_pytest"}
    return sorted(
        name for name in found - known if name.split(".")[0] in foreign or hasattr(builtins, name)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--missing", metavar="WARNINGS", help="list what a warnings log lacks")
    args = parser.parse_args()
    if args.missing:
        for name in missing(Path(args.missing).read_text()):
            print(name)
        return
    OUT.mkdir(exist_ok=True)
    for project in OBJECTS:
        (OUT / f"{project}.inv").write_bytes(inventory(project))
        print(f"wrote {OUT / f'{project}.inv'}: {len(entries(project))} objects")


if __name__ == "__main__":
    main()
