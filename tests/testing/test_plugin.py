"""The pytest plugin: registered by the package, cheap to load, and harmless to a suite (Tocsin's
own) that never asks for its fixtures.

"Installed" is simulated with a distribution's metadata holding just the entry point, put on
the path of a pytest subprocess: the shared virtualenv's Tocsin metadata may predate it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tocsin.testing.plugin"


def declared_entry_points() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found: dict[str, str] = project["entry-points"]["pytest11"]
    return found


def installed_like(tmp_path: Path) -> Path:
    """A directory whose distribution metadata declares pyproject's pytest11 entry points."""
    info = tmp_path / "site" / "tocsin_plugin_probe-0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tocsin-plugin-probe\nVersion: 0.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in declared_entry_points().items())
    (info / "entry_points.txt").write_text(f"[pytest11]\n{lines}")
    return info.parent


def run(*args: str, path: Path | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (path, ROOT) if p is not None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=110,
                          check=False)


def test_the_package_registers_the_plugin_under_its_module_name() -> None:
    assert declared_entry_points() == {PLUGIN: PLUGIN}


def test_loading_the_plugin_imports_no_server_code() -> None:
    probe = (f"import sys, {PLUGIN}; print(sorted(m for m in sys.modules"
             " if m.startswith(('tocsin.api', 'tocsin.testing.double', 'sqlalchemy', 'uvicorn', 'fastapi'))))")
    result = run("-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("also_named", [(), ("-p", PLUGIN)], ids=["entry point", "entry point and -p"])
def test_tocsin_tests_pass_with_the_plugin_installed(tmp_path: Path, also_named: tuple[str, ...]) -> None:
    site = installed_like(tmp_path)
    # tests/testing's conftest imports the same fixtures: the conftest's win, with no clash.
    suite = run("-m", "pytest", "-q", "-p", "no:cacheprovider", *also_named,
                "tests/notifications/test_backoff.py", "tests/testing/test_page.py", path=site)
    assert suite.returncode == 0, suite.stdout + suite.stderr
    assert " passed" in suite.stdout
    # Listed from a project of its own: no conftest there imports the fixtures, so they can only
    # come from the plugin (and pytest starts without Tocsin's test suite, seconds of imports).
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_nothing.py").write_text("def test_nothing() -> None:\n    pass\n")
    listed = run("-m", "pytest", "-q", "-p", "no:cacheprovider", *also_named, "--fixtures", "test_nothing.py",
                 path=site, cwd=project)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "tocsin/testing/plugin.py" in listed.stdout  # listed from the plugin, found through the entry point
    assert "pagerduty_webhook_recorder" in listed.stdout
