"""The example project (examples/pytest-integration) passes, run as its own developer runs it:
pytest in its directory, with Tocsin's plugin providing the ``pagerduty`` fixture."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pytest-integration"
PLUGIN = "tocsin.testing.plugin"


def plugin_installed() -> bool:
    """Whether the installed Tocsin registers the plugin (its metadata may predate the entry point)."""
    return any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))


def test_the_example_integration_tests_pass() -> None:
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if not plugin_installed():
        args += ["-p", PLUGIN]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's Tocsin
    result = subprocess.run(args, cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=110, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"\b5 passed\b", result.stdout), output
