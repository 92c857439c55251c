"""The entry-point index never hands a process a stale plugin set.

Each run is a fresh interpreter with a temporary folder on ``PYTHONPATH``
(the distributions are written there the way an installer lays them out)
and a temporary cache folder. Folder times are set into the past where a
test needs the index to be written: an index is never written while a
stamped time is younger than ``RACY_SECONDS``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from loopkit.core import discovery

ROOT = Path(__file__).resolve().parents[2]

PROBE = """\
import json, sys
import loopkit
from loopkit.core import discovery
names = [record.name for record in loopkit.assemble().plugins]
dists = {r.name: [r.distribution, r.version] for r in loopkit.assemble().plugins}
print(json.dumps({"names": names, "dists": dists, "source": discovery.last_source,
                  "metadata": "importlib.metadata" in sys.modules, "path": sys.path}))
"""

PLUGIN = "from loopkit import hookimpl\n@hookimpl\ndef loopkit_loop_methods():\n    return {}\n"


def _run(site: Path, cache: Path, **env: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOOPKIT_")}
    # No bytecode written into the site folder: the first import of a plugin
    # module that lies directly in a path folder creates its __pycache__
    # there, which changes the folder's time, and the next run then rightly
    # scans once more. The tests here stamp folder times themselves.
    environ.update(
        PYTHONPATH=str(site), LOOPKIT_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="1", **env
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env=environ,
        cwd=str(site),
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _install(site: Path, name: str, version: str = "1.0") -> None:
    """Lay out a one-module plugin distribution the way pip does."""
    (site / f"lk_idx_{name}.py").write_text(PLUGIN)
    info = site / f"lk_idx_{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: lk-idx-{name}\nVersion: {version}\n\nA test plugin.\n"
    )
    (info / "entry_points.txt").write_text(
        f"[console_scripts]\nx = y:z\n\n[loopkit]\n{name} = lk_idx_{name}\n"
    )


_PAST = [1_000_000_000]


def _age(*paths: Path) -> None:
    """Set times into the past (later each call, as real time goes), so that
    the index may be written."""
    _PAST[0] += 10
    for path in paths:
        os.utime(path, (_PAST[0], _PAST[0]))


def _skip_if_fresh(result: dict[str, object], site: Path) -> None:
    """The index also stamps the interpreter's own folders, which a test cannot
    age; one that changed a moment ago keeps the index from being written."""
    for entry in result["path"]:  # type: ignore[attr-defined]
        folder = entry or str(site)
        if folder != str(site) and os.path.isdir(folder) and _is_fresh(folder):
            pytest.skip(f"a sys.path folder changed in the last seconds: {folder}")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    return folder


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    return folder


def test_adding_and_removing_a_plugin_between_two_runs_is_seen(site: Path, cache: Path) -> None:
    _age(site)
    first = _run(site, cache)
    assert "alpha" not in first["names"]  # type: ignore[operator]
    again = _run(site, cache)
    assert again["source"] in ("index", "scan")  # "scan" if another sys.path folder is fresh

    _install(site, "alpha")
    added = _run(site, cache)
    assert "alpha" in added["names"]  # type: ignore[operator]
    assert added["dists"]["alpha"] == ["lk-idx-alpha", "1.0"]  # type: ignore[index]
    assert added["metadata"] is False

    _age(site, *site.rglob("*"))
    _skip_if_fresh(_run(site, cache), site)  # writes the index
    cached = _run(site, cache)
    assert cached["source"] == "index"
    assert "alpha" in cached["names"]  # type: ignore[operator]

    shutil.rmtree(site / "lk_idx_alpha-1.0.dist-info")
    (site / "lk_idx_alpha.py").unlink()
    removed = _run(site, cache)
    assert "alpha" not in removed["names"]  # type: ignore[operator]
    assert removed["source"] == "scan"


def test_the_index_is_used_when_nothing_changed_and_not_when_a_folder_did(
    site: Path, cache: Path
) -> None:
    _install(site, "beta")
    _age(site, *site.rglob("*"))
    first = _run(site, cache)
    _skip_if_fresh(first, site)
    assert first["source"] == "scan"
    assert _run(site, cache)["source"] == "index"
    assert _run(site, cache, LOOPKIT_NO_PLUGIN_CACHE="1")["source"] == "scan"

    _install(site, "gamma")
    changed = _run(site, cache)
    assert changed["source"] == "scan"
    assert {"beta", "gamma"} <= set(changed["names"])  # type: ignore[arg-type]


def test_editing_a_plugins_entry_points_in_place_is_seen(site: Path, cache: Path) -> None:
    _install(site, "delta")
    _age(site, *site.rglob("*"))
    _skip_if_fresh(_run(site, cache), site)
    assert _run(site, cache)["source"] == "index"
    (site / "lk_idx_delta.py").rename(site / "lk_idx_epsilon.py")
    points = site / "lk_idx_delta-1.0.dist-info" / "entry_points.txt"
    points.write_text("[loopkit]\nepsilon = lk_idx_epsilon\n")
    os.utime(site, (_PAST[0], _PAST[0]))  # the folder looks unchanged; only the file moved
    edited = _run(site, cache)
    assert "epsilon" in edited["names"] and "delta" not in edited["names"]  # type: ignore[operator]


def _is_fresh(path: str) -> bool:
    import time

    return os.stat(path).st_mtime > time.time() - discovery.RACY_SECONDS - 1


def test_a_third_party_claiming_a_builtin_name_is_reported_by_a_scan(
    site: Path, cache: Path
) -> None:
    (site / "lk_idx_rogue.py").write_text(PLUGIN)
    info = site / "lk_idx_rogue-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lk-idx-rogue\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[loopkit]\ntcp = lk_idx_rogue\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOOPKIT_")}
    environ.update(PYTHONPATH=str(site), LOOPKIT_CACHE_DIR=str(cache))
    done = subprocess.run(
        [sys.executable, "-c", "import loopkit; loopkit.new_event_loop()"],
        capture_output=True,
        text=True,
        timeout=30,
        env=environ,
        cwd=str(site),
        check=False,
    )
    assert done.returncode != 0
    assert "two distributions register a loopkit plugin named 'tcp'" in done.stderr
    assert "lk-idx-rogue 1.0" in done.stderr


def test_the_builtin_table_matches_the_declared_entry_points() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert declared["loopkit"] == discovery.BUILTIN


def test_the_builtin_distribution_version_is_the_installed_one() -> None:
    import importlib.metadata

    own = discovery.builtin_entry_points()["tcp"].dist
    assert own is not None
    version = importlib.metadata.version("loopkit-asyncio")
    assert own.name_version() == ("loopkit-asyncio", version)


def test_the_scan_agrees_with_importlib_metadata() -> None:
    import importlib.metadata

    expected = sorted(
        (ep.name, ep.value) for ep in importlib.metadata.entry_points(group="loopkit")
    )
    assert sorted((ep.name, ep.value) for ep in discovery.scan_entry_points()) == expected


def test_an_unreadable_cache_folder_only_costs_the_index(site: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    _install(site, "zeta")
    assert "zeta" in _run(site, blocked / "cache")["names"]  # type: ignore[operator]


def test_a_stale_egg_info_of_the_old_name_does_not_shadow_the_install(
    tmp_path: Path, cache: Path
) -> None:
    """A source tree keeps ``loopkit.egg-info`` from before the rename; it may be on sys.path."""
    stale = tmp_path / "stale"
    info = stale / "loopkit.egg-info"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text("Metadata-Version: 2.4\nName: loopkit\nVersion: 0.0.9\n")
    lines = "".join(f"{name} = {value}\n" for name, value in discovery.BUILTIN.items())
    (info / "entry_points.txt").write_text(f"[loopkit]\n{lines}")
    probe = f"import sys; sys.path.append({str(stale)!r})\n" + PROBE
    for autoload_off in ("", "1"):
        environ = {k: v for k, v in os.environ.items() if not k.startswith("LOOPKIT_")}
        environ.update(LOOPKIT_CACHE_DIR=str(cache), LOOPKIT_DISABLE_PLUGIN_AUTOLOAD=autoload_off)
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True, text=True, timeout=30, check=True, env=environ,
        )  # fmt: skip
        dists = json.loads(done.stdout)["dists"]
        assert "tcp" in dists and "resolver" in dists
        assert {dist for dist, _ in dists.values()} == {"loopkit-asyncio"}


QUIC_PLUGIN = """\
from loopkit import hookimpl

def create_quic_connection(self):
    return "quic"

@hookimpl
def loopkit_provides():
    return ["create_quic_connection"]

@hookimpl
def loopkit_loop_methods():
    return {"create_quic_connection": create_quic_connection}
"""

QUIC_PROBE = """\
import sys, loopkit
if sys.argv[1] == "enable":
    loop = loopkit.new_event_loop()
    print(loop.create_quic_connection())
else:
    choice = {"exclude": ["quic"]} if sys.argv[1] == "exclude" else {"plugins": ["udp"]}
    loop = loopkit.new_event_loop(**choice)
    try:
        loop.create_quic_connection()
    except loopkit.PluginNotEnabledError as exc:
        print(type(exc).__name__, exc, "imported" if "lk_idx_quic" in sys.modules else "")
    except AttributeError as exc:
        print("AttributeError", exc)
loop.close()
"""


def test_a_later_process_explains_a_left_out_plugins_method_without_importing_it(
    tmp_path: Path,
) -> None:
    """What a third-party plugin adds is remembered from the last loop that had
    it, so a loop of another process that leaves it out names it (and does
    not import it); once the plugin is uninstalled, nothing is claimed."""
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    _install(site, "quic")
    (site / "lk_idx_quic.py").write_text(QUIC_PLUGIN)

    def probe(mode: str) -> str:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("LOOPKIT_")}
        environ.update(PYTHONPATH=str(site), LOOPKIT_CACHE_DIR=str(cache))
        done = subprocess.run(
            [sys.executable, "-c", QUIC_PROBE, mode],
            capture_output=True, text=True, timeout=30, check=True, env=environ, cwd=str(site),
        )  # fmt: skip
        return done.stdout.strip()

    assert probe("exclude").startswith("AttributeError")  # never enabled: nothing known yet
    assert probe("enable") == "quic"
    assert probe("exclude") == (
        "PluginAttributeNotEnabledError loop.create_quic_connection is provided by the "
        "'quic' plugin, which is not enabled in this loop; to enable it, remove 'quic' "
        "from exclude= / LOOPKIT_EXCLUDE"
    )
    shutil.rmtree(site / "lk_idx_quic-1.0.dist-info")
    (site / "lk_idx_quic.py").unlink()
    assert probe("udp-only").startswith("AttributeError")


@pytest.mark.parametrize(
    "name", ["loopkit-asyncio", "Loopkit_Asyncio", "loopkit..--asyncio", "-a._b-", "x", ""]
)
@pytest.mark.parametrize("separator", ["-", "_"])
def test_canonical_names_are_pep_503s(name: str, separator: str) -> None:
    assert discovery.canonical_name(name, separator) == re.sub(r"[-_.]+", separator, name).lower()
