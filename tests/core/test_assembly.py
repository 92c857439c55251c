"""How plugins become a loop: selection, precedence, conflicts, trimming, caching.

In-process plugin objects stand in for third-party distributions here; the
entry-point path is exercised with a real distribution found on ``sys.path``
(a ``.dist-info`` folder written to a temporary directory).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import select
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import loopkit
from loopkit.core.assembly import assemble, new_event_loop
from loopkit.core.errors import (
    AssemblyError,
    PluginLoadWarning,
    PluginNotEnabledError,
    UnknownNameError,
)
from loopkit.core.hookspecs import hookimpl
from loopkit.plugins.resolver import threaded as resolver


class MethodPlugin:
    """A plugin object adding the attributes it is given."""

    def __init__(self, name: str, **methods: Any) -> None:
        self.LOOPKIT_PLUGIN_NAME = name
        self._methods = methods

    @hookimpl
    def loopkit_loop_methods(self) -> dict[str, Any]:
        return self._methods


class OverridePlugin:
    """A plugin object deliberately replacing the attributes it is given."""

    def __init__(self, name: str, **methods: Any) -> None:
        self.LOOPKIT_PLUGIN_NAME = name
        self._methods = methods

    @hookimpl
    def loopkit_loop_overrides(self) -> dict[str, Any]:
        return self._methods


def greet(self: Any, who: str) -> str:
    return f"hello {who} from {type(self).__name__}"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        loopkit.ENV_PLUGINS,
        loopkit.ENV_EXCLUDE,
        loopkit.ENV_POLLER,
        loopkit.ENV_NO_AUTOLOAD,
        loopkit.ENV_ENABLE,
    ):
        monkeypatch.delenv(name, raising=False)


def closing(loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
    loop.close()
    return loop


# ----------------------------------------------------------------------
# The default loop
# ----------------------------------------------------------------------


def test_default_assembly_has_every_builtin_plugin_this_platform_can_run() -> None:
    names = {record.name for record in assemble().plugins}
    pollers = {name for name in ("epoll", "kqueue", "poll", "select") if hasattr(select, name)}
    assert pollers | {"executor", "resolver"} <= names
    assert names.isdisjoint({"epoll", "kqueue", "poll", "select"} - pollers)
    assert all(record.builtin for record in assemble().plugins if record.name in names)


def test_assembly_is_cached_and_loops_share_one_class() -> None:
    assert assemble() is assemble()
    first, second = new_event_loop(), new_event_loop()
    try:
        assert type(first) is type(second)
        assert isinstance(first, asyncio.AbstractEventLoop)
    finally:
        first.close()
        second.close()


def test_plugin_methods_are_the_plugins_own_functions() -> None:
    """No wrapper is left between the caller and the plugin after assembly."""
    loop_class = assemble().loop_class
    assert loop_class.__dict__["getaddrinfo"] is resolver.getaddrinfo
    assert loop_class.__dict__["getnameinfo"] is resolver.getnameinfo


def test_the_loop_class_reports_its_providers() -> None:
    providers = assemble().providers
    assert providers["call_soon"] == "kernel"
    assert providers["getaddrinfo"] == "resolver"
    assert providers["run_in_executor"] == "executor"


# ----------------------------------------------------------------------
# Adding and replacing methods
# ----------------------------------------------------------------------


def test_a_plugin_object_adds_a_method() -> None:
    loop = new_event_loop(plugins=[MethodPlugin("greeter", greet=greet)])
    try:
        assert loop.greet("you") == "hello you from Loop"  # type: ignore[attr-defined]
        assert assemble(plugins=[]).loop_class is not type(loop)
    finally:
        loop.close()


def test_two_plugins_adding_one_method_is_an_error_naming_both() -> None:
    first = MethodPlugin("first", greet=greet)
    second = MethodPlugin("second", greet=greet)
    with pytest.raises(AssemblyError, match=r"'first' and 'second' both add 'greet'"):
        assemble(plugins=[first, second])


def test_adding_a_kernel_method_points_to_overrides() -> None:
    with pytest.raises(AssemblyError, match="loopkit_loop_overrides"):
        assemble(plugins=[MethodPlugin("clock", time=lambda self: 0.0)])


def test_an_override_replaces_a_kernel_method() -> None:
    loop = new_event_loop(plugins=[OverridePlugin("clock", time=lambda self: 42.0)])
    try:
        assert loop.time() == 42.0
        assert type(loop)._loopkit_assembly.providers["time"] == "clock"
    finally:
        loop.close()


def test_an_override_wins_over_a_plugin_method() -> None:
    async def fake_getaddrinfo(self: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return ["fake"]

    plugin = OverridePlugin("fake-dns", getaddrinfo=fake_getaddrinfo)
    loop = new_event_loop(plugins=["resolver", plugin])
    try:
        assert loop.run_until_complete(loop.getaddrinfo("example.org", 80)) == ["fake"]
    finally:
        loop.close()


def test_two_overrides_of_one_method_is_an_error_naming_both() -> None:
    first = OverridePlugin("one", time=lambda self: 1.0)
    second = OverridePlugin("two", time=lambda self: 2.0)
    with pytest.raises(AssemblyError, match=r"'one' and 'two' both override 'time'"):
        assemble(plugins=[first, second])


def test_a_plugin_with_a_bad_hook_signature_is_refused() -> None:
    class Broken:
        LOOPKIT_PLUGIN_NAME = "broken"

        @hookimpl
        def loopkit_loop_closing(self, loop: Any, extra: Any) -> None:
            """Asks for an argument the spec does not have."""

    with pytest.raises(AssemblyError, match="'broken' cannot be registered"):
        assemble(plugins=[Broken()])


def test_required_plugins_come_along() -> None:
    class NeedsResolver:
        LOOPKIT_PLUGIN_NAME = "needs-resolver"

        @hookimpl
        def loopkit_requires(self) -> list[str]:
            return ["resolver"]

    assembly = assemble(plugins=[NeedsResolver()])
    assert assembly.providers["getaddrinfo"] == "resolver"


def test_excluding_what_an_autoloaded_plugin_requires_is_an_error() -> None:
    if "tcp" not in loopkit.core.assembly.discover():
        pytest.skip("needs the tcp plugin, which requires the resolver")
    with pytest.raises(AssemblyError, match="'tcp' requires plugin 'resolver', which is excluded"):
        assemble(exclude=["resolver"])


def test_a_required_plugin_that_is_excluded_is_an_error() -> None:
    class NeedsResolver:
        LOOPKIT_PLUGIN_NAME = "needs-resolver"

        @hookimpl
        def loopkit_requires(self) -> list[str]:
            return ["resolver"]

    with pytest.raises(AssemblyError, match="requires plugin 'resolver', which is excluded"):
        assemble(plugins=[NeedsResolver()], exclude=["resolver"])


# ----------------------------------------------------------------------
# Lifecycle hooks
# ----------------------------------------------------------------------


def test_lifecycle_hooks_run_at_creation_and_close() -> None:
    calls: list[str] = []

    class Lifecycle:
        LOOPKIT_PLUGIN_NAME = "lifecycle"

        @hookimpl
        def loopkit_loop_created(self, loop: Any) -> None:
            calls.append("created")
            loop.lifecycle_state = "ready"

        @hookimpl
        def loopkit_loop_closing(self, loop: Any) -> None:
            calls.append(f"closing (closed={loop.is_closed()})")

    loop = new_event_loop(plugins=[Lifecycle()])
    assert loop.lifecycle_state == "ready"  # type: ignore[attr-defined]
    loop.close()
    loop.close()
    assert calls == ["created", "closing (closed=True)"]


def test_a_failing_closing_hook_is_reported_and_close_completes() -> None:
    class Faulty:
        LOOPKIT_PLUGIN_NAME = "faulty"

        @hookimpl
        def loopkit_loop_closing(self, loop: Any) -> None:
            raise OSError("cannot release")

    reports: list[dict[str, Any]] = []
    loop = new_event_loop(plugins=[Faulty()])
    loop.set_exception_handler(lambda loop, context: reports.append(context))
    loop.close()
    assert loop.is_closed()
    assert "'faulty'" in reports[0]["message"]
    assert isinstance(reports[0]["exception"], OSError)


def test_only_the_plugins_that_listen_are_called_per_loop() -> None:
    """Nothing but the essential executor plugin (which gives each loop its
    pool slot and shuts the pool down) is called per loop when no other
    plugin listens."""
    loop_class = assemble(plugins=[], exclude=["resolver"]).loop_class
    assert [hook.__module__ for hook in loop_class._loopkit_created_hooks] == [
        "loopkit.plugins.executor"
    ]
    assert [name for name, _ in loop_class._loopkit_closing_hooks] == ["executor"]


# ----------------------------------------------------------------------
# Trimming and names
# ----------------------------------------------------------------------


def test_a_trimmed_loop_names_the_missing_plugin_and_how_to_enable_it() -> None:
    loop = new_event_loop(plugins=[])
    try:
        with pytest.raises(PluginNotEnabledError) as info:
            loop.run_until_complete(loop.getaddrinfo("localhost", 80))
        message = str(info.value)
        assert "'resolver' plugin" in message
        assert "plugins=" in message and "LOOPKIT_PLUGINS" in message
        assert isinstance(info.value, NotImplementedError)
    finally:
        loop.close()


def test_an_excluded_plugin_message_says_to_remove_the_exclusion() -> None:
    loop = new_event_loop(plugins=[], exclude=["resolver"])
    try:
        with pytest.raises(PluginNotEnabledError, match="remove 'resolver' from exclude="):
            loop.run_until_complete(loop.getnameinfo(("127.0.0.1", 80)))
    finally:
        loop.close()


def test_every_abstract_method_exists_on_a_trimmed_loop() -> None:
    loop_class = assemble(plugins=[]).loop_class
    for name in vars(asyncio.AbstractEventLoop):
        if not name.startswith("_"):
            assert getattr(loop_class, name) is not getattr(asyncio.AbstractEventLoop, name)


def test_an_unknown_plugin_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown plugin 'tpc'.*executor.*resolver"):
        assemble(plugins=["tpc"])
    with pytest.raises(ValueError, match="cannot exclude unknown plugin 'nope'"):
        assemble(exclude=["nope"])


def test_the_essential_executor_cannot_be_excluded() -> None:
    with pytest.raises(AssemblyError, match="'executor' is essential"):
        assemble(exclude=["executor"])


def test_a_plugin_both_requested_and_excluded_is_an_error() -> None:
    with pytest.raises(AssemblyError, match="both requested and excluded"):
        assemble(plugins=["resolver"], exclude=["resolver"])


def test_an_unknown_poller_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown poller 'epol'; valid pollers here: .*"):
        new_event_loop(poller="epol")


@pytest.mark.skipif(sys.platform != "linux", reason="kqueue is available off Linux")
def test_an_unavailable_poller_says_so() -> None:
    with pytest.raises(AssemblyError, match="'kqueue' is not available on this platform"):
        new_event_loop(poller="kqueue")


@pytest.mark.skipif(hasattr(select, "kqueue"), reason="this platform has kqueue")
def test_a_poller_the_platform_lacks_is_left_out_unless_named() -> None:
    assert "kqueue" not in {record.name for record in assemble(plugins=[]).plugins}
    named = assemble(plugins=["kqueue"])
    assert "kqueue" in {record.name for record in named.plugins}
    assert not named.pollers["kqueue"][0].is_available()
    with pytest.raises(AssemblyError, match="'kqueue' is not available on this platform"):
        new_event_loop(plugins=["kqueue"], poller="kqueue")
    with pytest.raises(UnknownNameError, match="remove 'kqueue' from exclude="):
        new_event_loop(exclude=["kqueue"], poller="kqueue")


def test_excluding_a_poller_moves_the_default_to_the_next_best() -> None:
    assembly = assemble(exclude=["epoll", "kqueue"])
    assert assembly.poller_info(None).name == "poll"
    loop = new_event_loop(exclude=["epoll", "kqueue"])
    try:
        assert loop._poller.name == "poll"  # type: ignore[attr-defined]
    finally:
        loop.close()


# ----------------------------------------------------------------------
# Environment variables
# ----------------------------------------------------------------------


@pytest.mark.parametrize("poller", loopkit.assemble().available_pollers())
def test_the_poller_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, poller: str
) -> None:
    monkeypatch.setenv(loopkit.ENV_POLLER, poller)
    loop = closing(new_event_loop())
    assert loop._poller.name == poller  # type: ignore[attr-defined]


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(loopkit.ENV_POLLER, "select")
    loop = closing(new_event_loop(poller="poll"))
    assert loop._poller.name == "poll"  # type: ignore[attr-defined]


def test_plugins_and_exclude_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(loopkit.ENV_PLUGINS, "executor")
    monkeypatch.setenv(loopkit.ENV_EXCLUDE, "resolver")
    assert "getaddrinfo" not in assemble().providers
    monkeypatch.delenv(loopkit.ENV_EXCLUDE)
    assert "getaddrinfo" not in assemble().providers
    monkeypatch.setenv(loopkit.ENV_PLUGINS, "executor, resolver")
    assert assemble().providers["getaddrinfo"] == "resolver"


def test_an_unknown_name_in_the_environment_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(loopkit.ENV_PLUGINS, "resolver,tcpp")
    with pytest.raises(UnknownNameError, match="'tcpp'"):
        new_event_loop()


# ----------------------------------------------------------------------
# Entry points of a distribution found on sys.path
# ----------------------------------------------------------------------


@pytest.fixture
def distribution_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path where tests write a distribution and its modules."""
    monkeypatch.syspath_prepend(str(tmp_path))
    loopkit.refresh_plugins()
    yield tmp_path
    monkeypatch.undo()
    for name in [m for m in sys.modules if m.startswith("lk_test_")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    loopkit.refresh_plugins()


def write_distribution(folder: Path, name: str, entry_points: dict[str, str]) -> None:
    info = folder / f"{name.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    lines = "\n".join(f"{key} = {value}" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[loopkit]\n{lines}\n")
    importlib.invalidate_caches()
    loopkit.refresh_plugins()


def test_an_installed_plugin_is_discovered_with_its_distribution(distribution_dir: Path) -> None:
    (distribution_dir / "lk_test_hello.py").write_text(
        textwrap.dedent(
            """
            from loopkit import hookimpl

            def hello(self):
                return "hello"

            @hookimpl
            def loopkit_loop_methods():
                return {"hello": hello}
            """
        )
    )
    write_distribution(distribution_dir, "lk-test-hello", {"hello": "lk_test_hello"})
    assembly = assemble()
    record = next(record for record in assembly.plugins if record.name == "hello")
    assert (record.distribution, record.version) == ("lk-test-hello", "1.2.3")
    assert record.adds == ("hello",)
    assert not record.builtin
    loop = closing(new_event_loop())
    assert loop.hello() == "hello"  # type: ignore[attr-defined]
    # Blocked by name, it is not even imported:
    del sys.modules["lk_test_hello"]
    assert "hello" not in assemble(exclude=["hello"]).providers
    assert "lk_test_hello" not in sys.modules


def test_autoload_can_be_switched_off_for_third_party_plugins(
    distribution_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (distribution_dir / "lk_test_auto.py").write_text(
        "from loopkit import hookimpl\n"
        "@hookimpl\n"
        "def loopkit_loop_methods():\n"
        "    return {'auto': lambda self: 'auto'}\n"
    )
    write_distribution(distribution_dir, "lk-test-auto", {"auto": "lk_test_auto"})
    monkeypatch.setenv(loopkit.ENV_NO_AUTOLOAD, "1")
    assert "auto" not in assemble().providers
    assert assemble(plugins=["auto"]).providers["auto"] == "auto"


def test_a_plugin_that_fails_to_import_is_skipped_with_a_warning(distribution_dir: Path) -> None:
    (distribution_dir / "lk_test_broken.py").write_text("raise ImportError('needs libfoo')\n")
    write_distribution(distribution_dir, "lk-test-broken", {"broken": "lk_test_broken"})
    with pytest.warns(PluginLoadWarning, match="'broken' failed to import.*needs libfoo"):
        assembly = assemble()
    assert assembly.skipped == (("broken", "ImportError: needs libfoo"),)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        closing(new_event_loop())  # cached: warned once, at assembly


def test_a_requested_plugin_that_fails_to_import_stops_the_build(distribution_dir: Path) -> None:
    (distribution_dir / "lk_test_broken2.py").write_text("raise ImportError('needs libbar')\n")
    write_distribution(distribution_dir, "lk-test-broken2", {"broken2": "lk_test_broken2"})
    with pytest.raises(AssemblyError, match=r"'broken2' was requested but failed.*needs libbar"):
        new_event_loop(plugins=["broken2"])


def test_two_distributions_claiming_one_plugin_name_is_an_error(distribution_dir: Path) -> None:
    (distribution_dir / "lk_test_one.py").write_text("")
    (distribution_dir / "lk_test_two.py").write_text("")
    write_distribution(distribution_dir, "lk-test-one", {"dup": "lk_test_one"})
    write_distribution(distribution_dir, "lk-test-two", {"dup": "lk_test_two"})
    with pytest.raises(AssemblyError, match=r"named 'dup': lk-test-(one|two) 1.2.3"):
        assemble()


# ----------------------------------------------------------------------
# Opt-in plugins
# ----------------------------------------------------------------------


def test_opt_in_plugins_are_installed_but_not_autoloaded() -> None:
    assert "instruments" in loopkit.core.assembly.discover()
    assert "instruments" not in {record.name for record in assemble().plugins}


def test_enable_adds_to_the_default_set_and_to_a_trimmed_one() -> None:
    full = {record.name for record in assemble(enable=["instruments"]).plugins}
    assert {"instruments", "resolver"} <= full
    trimmed = {record.name for record in assemble(plugins=[], enable=["instruments"]).plugins}
    assert "instruments" in trimmed and "resolver" not in trimmed
    with pytest.raises(UnknownNameError, match="'instrument'"):
        assemble(enable=["instrument"])


# ----------------------------------------------------------------------
# Mistakes a plugin author makes, named with the plugin
# ----------------------------------------------------------------------


def test_a_misspelt_marked_hook_is_refused_with_the_closest_name() -> None:
    class Misspelt:
        LOOPKIT_PLUGIN_NAME = "misspelt"

        @hookimpl
        def loopkit_loop_method(self) -> dict[str, Any]:
            return {"greet": greet}

    with pytest.raises(
        AssemblyError,
        match=r"plugin 'misspelt': loopkit_loop_method is not a loopkit hook; "
        r"did you mean loopkit_loop_methods\?",
    ):
        assemble(plugins=[Misspelt()])


def test_a_misspelt_unmarked_hook_is_refused_too() -> None:
    class Unmarked:
        LOOPKIT_PLUGIN_NAME = "unmarked"

        def loopkit_poller(self) -> list[Any]:
            return []

    with pytest.raises(AssemblyError, match=r"'unmarked'.*did you mean loopkit_pollers\?"):
        assemble(plugins=[Unmarked()])


def test_a_real_hook_without_hookimpl_is_refused() -> None:
    class Forgot:
        LOOPKIT_PLUGIN_NAME = "forgot"

        def loopkit_loop_methods(self) -> dict[str, Any]:
            return {"greet": greet}

    with pytest.raises(AssemblyError, match=r"'forgot': loopkit_loop_methods is not marked"):
        assemble(plugins=[Forgot()])


class Answers:
    """A plugin whose hook ``hook`` returns ``answer``."""

    def __init__(self, hook: str, answer: Any) -> None:
        self.LOOPKIT_PLUGIN_NAME = "answers"

        def implementation() -> Any:
            return answer

        setattr(self, hook, hookimpl(implementation))


@pytest.mark.parametrize(
    ("hook", "answer", "expected"),
    [
        (
            "loopkit_loop_methods",
            ["greet"],
            "loopkit_loop_methods must return a mapping of names to attributes, got list",
        ),
        (
            "loopkit_loop_overrides",
            "time",
            "loopkit_loop_overrides must return a mapping of names to attributes, got str",
        ),
        ("loopkit_pollers", 42, "loopkit_pollers must return a sequence of PollerInfo, got int"),
        (
            "loopkit_pollers",
            ["epoll"],
            "loopkit_pollers must return a sequence of PollerInfo, got an item of type str",
        ),
        (
            "loopkit_resolvers",
            {"name": "x"},
            "loopkit_resolvers must return a sequence of ResolverInfo, got dict",
        ),
        (
            "loopkit_executors",
            [object()],
            "loopkit_executors must return a sequence of ExecutorInfo, got an item of type object",
        ),
        ("loopkit_provides", "greet", "loopkit_provides must return a sequence of names, got str"),
        ("loopkit_requires", "resolver", "loopkit_requires must return a sequence of names"),
    ],
)
def test_a_hook_answer_of_the_wrong_type_names_the_plugin(
    hook: str, answer: Any, expected: str
) -> None:
    with pytest.raises(AssemblyError) as info:
        assemble(plugins=[Answers(hook, answer)])
    assert str(info.value).startswith(f"plugin 'answers': {expected}")


def test_an_unknown_poller_names_the_installed_plugin_that_offers_it() -> None:
    with pytest.raises(UnknownNameError) as info:
        new_event_loop(poller="epoll", exclude=["epoll"])
    message = str(info.value)
    assert "unknown poller 'epoll'" in message
    assert "offered by the 'epoll' plugin, which is installed but not enabled" in message
    assert "remove 'epoll' from exclude=" in message


def test_an_opt_in_plugin_method_says_to_enable_it() -> None:
    loop = closing(new_event_loop())
    with pytest.raises(PluginNotEnabledError, match=r"'instruments' plugin.*enable=") as info:
        loop.stats()  # type: ignore[attr-defined]
    assert isinstance(info.value, AttributeError)
    assert not hasattr(loop, "stats")
    assert getattr(loop, "stats", None) is None
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        loop.no_such_thing  # type: ignore[attr-defined]  # noqa: B018


def test_the_loop_class_does_not_override_attribute_lookup() -> None:
    # A class with __getattr__ gets a lookup slot that CPython does not
    # specialise: every self._x in the kernel's hot paths would be slower.
    loop = closing(new_event_loop(enable=["instruments"]))
    assert "__getattr__" not in dir(type(loop))
    assert type(loop).__getattribute__ is object.__getattribute__


def test_the_builtin_extra_methods_table_matches_what_the_plugins_provide() -> None:
    from loopkit.core import assembly, catalog, discovery

    abstract = set(catalog.abstract_loop_methods())
    found = {}
    for name in discovery.BUILTIN:
        extra = sorted(
            method
            for method in assembly._plugin_offers(name).get("method", ())
            if method not in abstract
        )
        if extra:
            found[name] = tuple(extra)
    assert found == catalog.BUILTIN_EXTRA_METHODS


def test_a_third_party_method_on_a_loop_without_its_plugin_names_the_plugin(
    distribution_dir: Path,
) -> None:
    (distribution_dir / "lk_test_quic.py").write_text(
        textwrap.dedent(
            """
            from loopkit import hookimpl

            def create_quic_connection(self, *args):
                return "quic"

            @hookimpl
            def loopkit_provides():
                return ["create_quic_connection"]

            @hookimpl
            def loopkit_loop_methods():
                return {"create_quic_connection": create_quic_connection}
            """
        )
    )
    write_distribution(distribution_dir, "lk-test-quic", {"quic": "lk_test_quic"})
    loop = closing(new_event_loop())
    assert loop.create_quic_connection() == "quic"  # type: ignore[attr-defined]
    del sys.modules["lk_test_quic"]
    trimmed = closing(new_event_loop(exclude=["quic"]))
    assert "lk_test_quic" not in sys.modules  # the happy path imports nothing
    with pytest.raises(PluginNotEnabledError) as info:
        trimmed.create_quic_connection()  # type: ignore[attr-defined]
    assert str(info.value) == (
        "loop.create_quic_connection is provided by the 'quic' plugin, which is not "
        "enabled in this loop; to enable it, remove 'quic' from exclude= / LOOPKIT_EXCLUDE"
    )
    other = closing(new_event_loop(plugins=["udp"]))
    with pytest.raises(PluginNotEnabledError, match=r"add 'quic' to plugins="):
        other.create_quic_connection()  # type: ignore[attr-defined]


def write_clashing_plugins(folder: Path) -> None:
    for name in ("one", "two"):
        (folder / f"lk_test_clash_{name}.py").write_text(
            textwrap.dedent(
                f"""
                from loopkit import hookimpl

                def greet(self):
                    return {name!r}

                @hookimpl
                def loopkit_loop_methods():
                    return {{"greet": greet}}
                """
            )
        )
        write_distribution(
            folder, f"lk-test-clash-{name}", {f"clash{name}": f"lk_test_clash_{name}"}
        )


def test_diagnose_explains_a_clash_that_assemble_refuses(distribution_dir: Path) -> None:
    write_clashing_plugins(distribution_dir)
    with pytest.raises(AssemblyError, match="'clashone' and 'clashtwo' both add 'greet'"):
        assemble()
    assembly = loopkit.diagnose()
    assert len(assembly.problems) == 1
    assert "'clashone' and 'clashtwo' both add 'greet'" in assembly.problems[0]
    assert "exclude=['clashtwo']" in assembly.problems[0]
    assert assembly.providers["greet"] == "clashone"
    assert assembly.providers["create_connection"] == "tcp"
    assert not assemble(exclude=["clashtwo"]).problems


@pytest.mark.parametrize("argument", ["plugins", "exclude", "enable"])
def test_a_bare_string_of_names_is_a_type_error(argument: str) -> None:
    with pytest.raises(TypeError, match=f"^{argument} must be an iterable of plugin names, not"):
        assemble(**{argument: "tcp"})


@pytest.mark.parametrize(
    ("value", "autoload"),
    [("0", False), ("false", False), ("", True), ("1", False), ("yes", False)],
)
def test_disable_autoload_follows_pytests_rule_any_non_empty_value_disables(
    monkeypatch: pytest.MonkeyPatch, value: str, autoload: bool
) -> None:
    from loopkit.core import discovery

    monkeypatch.setenv(loopkit.ENV_NO_AUTOLOAD, value)
    assert discovery.switched_on(value) is not autoload
