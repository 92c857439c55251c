"""A third-party plugin distribution, built and installed for real, end to end.

The module fixture writes three small distributions to a temporary folder
and pip-installs them into the test environment (uninstalling them after):

* ``loopkit-hello-plugin`` adds a loop method, adds a poller and overrides a
  built-in method (``getnameinfo``);
* ``loopkit-rival-plugin`` claims the same method as the first, to prove the
  conflict error names both;
* ``loopkit-broken-plugin`` fails to import.

Every check runs in a fresh interpreter, so discovery is the real thing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

HELLO_MODULE = '''
"""A third-party loopkit plugin used by loopkit's own tests."""
import select
from loopkit import PollerInfo, hookimpl

def hello(self, name):
    return f"hello {name}"

async def getnameinfo(self, sockaddr, flags=0):
    return ("overridden.example", str(sockaddr[1]))

class CountingPoller:
    """poll(2), counting its calls: a poller a third party might ship."""
    name = "counting"

    def __init__(self):
        self._poll = select.poll()
        self.calls = 0

    def register(self, fd, events):
        self._poll.register(fd, events)

    def modify(self, fd, events):
        self._poll.modify(fd, events)

    def unregister(self, fd):
        self._poll.unregister(fd)

    def poll(self, timeout):
        self.calls += 1
        ms = None if timeout is None else int(timeout * 1000 + 0.999)
        return self._poll.poll(ms)

    def close(self):
        pass

@hookimpl
def loopkit_loop_methods():
    return {"hello": hello}

@hookimpl
def loopkit_loop_overrides():
    return {"getnameinfo": getnameinfo}

@hookimpl
def loopkit_pollers():
    return [PollerInfo(name="counting", create=CountingPoller, priority=1)]
'''

RIVAL_MODULE = """
from loopkit import hookimpl

@hookimpl
def loopkit_loop_methods():
    return {"hello": lambda self, name: "rival"}
"""

BROKEN_MODULE = 'raise ImportError("needs the libfrobnicate C library")\n'

DISTRIBUTIONS = {
    "loopkit-hello-plugin": ("loopkit_hello", "hello", HELLO_MODULE),
    "loopkit-rival-plugin": ("loopkit_rival", "rival", RIVAL_MODULE),
    "loopkit-broken-plugin": ("loopkit_broken", "broken", BROKEN_MODULE),
}


def write_distribution(folder: Path, dist: str, module: str, entry: str, code: str) -> Path:
    project = folder / dist
    project.mkdir()
    (project / f"{module}.py").write_text(code)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist}"
            version = "2.0.1"
            dependencies = ["loopkit"]

            [project.entry-points.loopkit]
            {entry} = "{module}"

            [tool.setuptools]
            py-modules = ["{module}"]
            """
        )
    )
    return project


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        capture_output=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def installed_plugins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    pytest.importorskip("setuptools", reason="building the sample plugin needs setuptools")
    folder = tmp_path_factory.mktemp("third_party")
    projects = [
        write_distribution(folder, dist, module, entry, code)
        for dist, (module, entry, code) in DISTRIBUTIONS.items()
    ]
    pip("install", "--no-deps", "--no-build-isolation", *map(str, projects))
    try:
        yield
    finally:
        pip("uninstall", "-y", *DISTRIBUTIONS)


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LOOPKIT_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )


USE_HELLO = """
    import asyncio, loopkit
    loop = loopkit.new_event_loop(exclude=["rival"])
    try:
        print(loop.hello("world"))
        print(loop.run_until_complete(loop.getnameinfo(("127.0.0.1", 8080))))
        print(loop._poller.name)
    finally:
        loop.close()
"""


def test_the_plugin_is_discovered_and_adds_a_method(installed_plugins: None) -> None:
    result = python(USE_HELLO)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "hello world"


def test_its_override_wins_over_the_builtin_resolver(installed_plugins: None) -> None:
    result = python(USE_HELLO)
    assert result.stdout.splitlines()[1] == "('overridden.example', '8080')"


def test_its_poller_is_chosen_by_name_only(installed_plugins: None) -> None:
    result = python(USE_HELLO)
    assert result.stdout.splitlines()[2] in ("epoll", "kqueue")  # priority 1: not the default
    result = python(USE_HELLO, LOOPKIT_POLLER="counting")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2] == "counting"


def test_the_cli_lists_it_with_its_distribution(installed_plugins: None) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LOOPKIT_")}
    environment["LOOPKIT_EXCLUDE"] = "rival"
    result = subprocess.run(
        [sys.executable, "-m", "loopkit"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "hello        [loopkit-hello-plugin 2.0.1] adds hello; overrides getnameinfo" in out
    assert "poller counting" in out
    assert "getnameinfo                  hello" in out
    assert "broken       SKIPPED: ImportError: needs the libfrobnicate C library" in out


def test_two_plugins_claiming_one_method_name_both(installed_plugins: None) -> None:
    result = python("import loopkit; loopkit.new_event_loop()")
    assert result.returncode != 0
    assert "plugins 'hello' and 'rival' both add 'hello'" in result.stderr


def test_blocking_by_name_does_not_import_it(installed_plugins: None) -> None:
    result = python(
        """
        import sys, loopkit
        loop = loopkit.new_event_loop(exclude=["hello", "rival"])
        loop.close()
        print("loopkit_hello" in sys.modules, hasattr(loop, "hello"))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False"


def test_environment_switches(installed_plugins: None) -> None:
    code = "import loopkit; loop = loopkit.new_event_loop(); print(hasattr(loop, 'hello'))"
    result = python(code, LOOPKIT_EXCLUDE="rival")
    assert result.stdout.strip() == "True"
    result = python(code, LOOPKIT_EXCLUDE="rival,hello")
    assert result.stdout.strip() == "False"
    result = python(code, LOOPKIT_DISABLE_PLUGIN_AUTOLOAD="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    result = python(code, LOOPKIT_DISABLE_PLUGIN_AUTOLOAD="1", LOOPKIT_ENABLE="hello")
    assert result.stdout.strip() == "True"


def test_a_plugin_that_fails_to_import_is_skipped_with_its_reason(installed_plugins: None) -> None:
    result = python(USE_HELLO)
    assert "PluginLoadWarning" in result.stderr
    assert "'broken' failed to import" in result.stderr
    assert "needs the libfrobnicate C library" in result.stderr


def test_asking_for_the_broken_plugin_by_name_fails_the_build(installed_plugins: None) -> None:
    result = python("import loopkit; loopkit.new_event_loop(plugins=['broken'])")
    assert result.returncode != 0
    assert "'broken' was requested but failed to import" in result.stderr
    assert "needs the libfrobnicate C library" in result.stderr
