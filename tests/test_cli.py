"""``python -m loopkit``: showing the assembled loop and running programs on it."""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import loopkit

PROGRAM = textwrap.dedent(
    """
    import asyncio, sys

    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0)
        print(type(loop).__module__, type(loop).__qualname__, loop._poller.name)
        print("argv", sys.argv)
        return 0

    asyncio.run(main())
    """
)


def run_cli(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("LOOPKIT_")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "loopkit", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
        env=environment,
        check=False,
    )


def test_show_lists_plugins_pollers_and_every_abstract_method() -> None:
    result = run_cli()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"loopkit {loopkit.__version__} (distribution loopkit-asyncio)" in out
    assert "resolver" in out and f"[loopkit-asyncio {loopkit.__version__}]" in out
    assert "adds getaddrinfo, getnameinfo" in out
    chosen = loopkit.assemble().available_pollers()[0]
    assert f"poller: {chosen}" in out
    for name in vars(asyncio.AbstractEventLoop):
        if not name.startswith("_") and callable(getattr(asyncio.AbstractEventLoop, name)):
            assert f"  {name} " in out, name
    assert "call_soon                    kernel" in out
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"asyncio.AbstractEventLoop API on Python {version}" in out
    assert "provided methods take exactly asyncio's parameters" in out
    assert "all_errors=)" in out and "keep_alive=)" in out
    assert "DIFFERS" not in out


def test_show_a_trimmed_loop_marks_missing_methods() -> None:
    result = run_cli("--plugins", "executor", "--exclude", "resolver", "--poller", "poll")
    assert result.returncode == 0, result.stderr
    assert "getaddrinfo                  missing (plugin 'resolver')" in result.stdout
    assert "poller: poll" in result.stdout


def test_show_reports_bad_names_with_the_valid_ones() -> None:
    result = run_cli("--plugins", "nonesuch")
    assert result.returncode == 2
    assert "unknown plugin 'nonesuch'" in result.stderr
    assert "resolver" in result.stderr
    result = run_cli("--poller", "nonesuch")
    assert result.returncode == 2
    assert "unknown poller 'nonesuch'" in result.stderr


def test_run_executes_a_script_on_loopkit_with_its_own_argv(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(PROGRAM)
    result = run_cli("run", str(script), "--flag", "value")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("loopkit Loop ")
    assert lines[1] == f"argv {[str(script), '--flag', 'value']!r}"


def test_run_takes_the_poller_option(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(PROGRAM)
    result = run_cli("run", "--poller", "select", str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "loopkit Loop select"


def test_run_dash_m_runs_a_module_like_python_does(tmp_path: Path) -> None:
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "server.py").write_text(PROGRAM)
    result = run_cli("run", "-m", "myapp.server", "a", "b", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("loopkit Loop ")
    assert lines[1] == f"argv {[str(package / 'server.py'), 'a', 'b']!r}"


def test_run_without_a_program_prints_usage() -> None:
    result = run_cli("run")
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_the_program_sees_its_own_exit_status(tmp_path: Path) -> None:
    script = tmp_path / "fails.py"
    script.write_text("import sys\nsys.exit(3)\n")
    assert run_cli("run", str(script)).returncode == 3


@pytest.mark.parametrize("poller", loopkit.assemble().available_pollers())
def test_env_variables_reach_programs_run_unchanged(tmp_path: Path, poller: str) -> None:
    script = tmp_path / "app.py"
    script.write_text(PROGRAM)
    result = run_cli("run", str(script), LOOPKIT_POLLER=poller)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"loopkit Loop {poller}"


def test_show_lists_every_resolver_and_executor_and_marks_the_choice() -> None:
    result = run_cli("--executor", "elastic")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "resolver: threaded" in out and "executor: elastic" in out
    assert "  * threaded " in out and "    aiodns " in out
    assert "  * elastic " in out and "    threads " in out
    from_env = run_cli(LOOPKIT_RESOLVER="threaded", LOOPKIT_EXECUTOR="threads")
    assert "executor: threads" in from_env.stdout


def test_show_rejects_an_unknown_backend_naming_the_valid_ones() -> None:
    result = run_cli("--resolver", "nope")
    assert result.returncode == 2
    assert "unknown resolver 'nope'; valid resolvers here: threaded" in result.stderr


def test_run_uses_the_chosen_executor(tmp_path: Path) -> None:
    script = tmp_path / "pool.py"
    script.write_text(
        "import asyncio\n"
        "from loopkit.plugins.executor import executor_state\n"
        "async def main():\n"
        "    loop = asyncio.get_running_loop()\n"
        "    await loop.run_in_executor(None, int)\n"
        "    print(type(executor_state(loop).pool).__name__)\n"
        "asyncio.run(main())\n"
    )
    result = run_cli("run", "--executor", "elastic", str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ElasticThreadPoolExecutor"


def test_show_explains_a_clash_between_two_installed_plugins(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / f"lk_cli_clash_{name}.py").write_text(
            "from loopkit import hookimpl\n"
            "@hookimpl\n"
            "def loopkit_loop_methods():\n"
            "    return {'greet': lambda self: 'hi'}\n"
        )
        info = tmp_path / f"lk_cli_clash_{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: lk-cli-clash-{name}\nVersion: 1.0\n"
        )
        (info / "entry_points.txt").write_text(f"[loopkit]\nclash{name} = lk_cli_clash_{name}\n")
    result = run_cli(PYTHONPATH=str(tmp_path))
    assert result.returncode == 1
    out = result.stdout
    assert "CONFLICTS" in out
    assert "plugins 'clashone' and 'clashtwo' both add 'greet'" in out
    assert "exclude=['clashtwo']" in out
    assert "create_connection            tcp" in out  # the rest is still listed
    resolved = run_cli("--exclude", "clashtwo", PYTHONPATH=str(tmp_path))
    assert resolved.returncode == 0, resolved.stderr
    assert "CONFLICTS" not in resolved.stdout


def test_a_missing_script_is_one_line_and_status_2_as_python(tmp_path: Path) -> None:
    result = run_cli("run", "nope.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"python -m loopkit: can't open file {str(tmp_path / 'nope.py')!r}: "
        "[Errno 2] No such file or directory"
    ]


def test_a_missing_module_is_one_line_and_status_1_as_python(tmp_path: Path) -> None:
    result = run_cli("run", "-m", "lk_no_such_module", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["python -m loopkit: No module named lk_no_such_module"]
    package = tmp_path / "lkpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    result = run_cli("run", "-m", "lkpkg", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "python -m loopkit: No module named lkpkg.__main__; 'lkpkg' is a package "
        "and cannot be directly executed"
    ]


def test_a_failing_script_shows_only_its_own_frames(tmp_path: Path) -> None:
    script = tmp_path / "boom.py"
    script.write_text("def fail():\n    raise ValueError('boom')\n\nfail()\n")
    result = run_cli("run", str(script))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    files = [line for line in lines if line.startswith('  File "')]
    assert files == [
        f'  File "{script}", line 4, in <module>',
        f'  File "{script}", line 2, in fail',
    ]
    assert lines[-1] == "ValueError: boom"
    assert "runpy" not in result.stderr and "cli.py" not in result.stderr


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        ((), {"LOOPKIT_POLLER": "bogus"}, "unknown poller 'bogus'"),
        (("--plugins", "nonesuch"), {}, "unknown plugin 'nonesuch'"),
        (("--enable", "nonesuch"), {}, "unknown plugin 'nonesuch'"),
        (("--resolver", "nope"), {}, "unknown resolver 'nope'"),
        ((), {"LOOPKIT_EXECUTOR": "nope"}, "unknown executor 'nope'"),
    ],
)
def test_bad_settings_fail_before_the_program_starts(
    tmp_path: Path, options: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    script = tmp_path / "app.py"
    script.write_text("print('first line ran')\n" + PROGRAM)
    result = run_cli("run", *options, str(script), **env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        line for line in result.stderr.splitlines() if line.startswith("python -m loopkit: error:")
    ]
    assert message in result.stderr
    assert "never awaited" not in result.stderr


def test_help_is_one_usage_and_run_has_its_own() -> None:
    general = run_cli("--help")
    assert general.returncode == 0
    assert "usage: python -m loopkit [show]" in general.stdout
    assert "usage: usage:" not in general.stdout
    assert "--enable" in general.stdout and "--version" in general.stdout
    run_help = run_cli("run", "--help")
    assert run_help.returncode == 0
    assert run_help.stdout.startswith(
        "usage: python -m loopkit run [options] (script.py | -m module)"
    )
    assert run_help.stdout != general.stdout


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith(f"loopkit {loopkit.__version__} (loopkit-asyncio, Python ")


def test_enable_adds_an_opt_in_plugin_that_the_listing_otherwise_offers() -> None:
    plain = run_cli()
    assert plain.returncode == 0, plain.stderr
    line = next(line for line in plain.stdout.splitlines() if line.startswith("  instruments "))
    assert "installed, not enabled (opt-in; enable with --enable instruments" in line
    assert "LOOPKIT_ENABLE=instruments" in line
    enabled = run_cli("--enable", "instruments")
    line = next(line for line in enabled.stdout.splitlines() if line.startswith("  instruments "))
    assert "adds " in line and "not enabled" not in line


def test_run_enable_reaches_the_program(tmp_path: Path) -> None:
    script = tmp_path / "stats.py"
    script.write_text(
        "import asyncio\n"
        "async def main():\n"
        "    print(callable(getattr(asyncio.get_running_loop(), 'stats', None)))\n"
        "asyncio.run(main())\n"
    )
    assert run_cli("run", str(script)).stdout.strip() == "False"
    assert run_cli("run", "--enable", "instruments", str(script)).stdout.strip() == "True"


def test_the_console_script_calls_itself_by_its_name(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("loopkit")
    if not script.exists():
        pytest.skip("the loopkit console script is not installed beside this python")
    result = subprocess.run(
        [str(script), "run"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert result.stderr.startswith("usage: loopkit run ")
    assert "loopkit run: error: a script or -m module is required" in result.stderr


@pytest.mark.skipif(hasattr(select, "kqueue"), reason="this platform has kqueue")
def test_a_poller_the_platform_lacks_is_listed_as_never_loaded() -> None:
    result = run_cli()
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("  kqueue "))
    assert f"installed, not enabled (a poller {sys.platform} does not have" in line
