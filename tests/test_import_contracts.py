"""The import contracts cover modules nobody has written yet: a new module in a domain must be
placed in that domain's layers, and other domains may not import it (``pyproject.toml``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, env={"PYTHONPATH": str(tree), "PATH": ""},
                          capture_output=True, text=True, timeout=120)


def test_a_new_module_is_covered_by_the_contracts_without_naming_it(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "tocsin", tmp_path / "tocsin", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # A module no contract names, in a lower domain, reaching into a higher domain's logic.
    (tmp_path / "tocsin" / "schedules" / "shortcut.py").write_text("from tocsin.users import logic\n")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[1]
    # Not placed in the domain's layers (the per-domain contract is exhaustive) ...
    assert "The following modules are not listed as layers:\n\n- tocsin.schedules.shortcut" in broken
    # ... and reaching past another domain's models and queries (the whole package is protected).
    assert ("Illegal imports of protected package tocsin.users:\n\n"
            "- tocsin.schedules.shortcut -> tocsin.users.logic") in broken


def test_the_layer_contracts_make_no_exceptions() -> None:
    # An ignored import inside a layering is a layer violation kept on purpose (it was
    # incidents.queries -> incidents.wire); the domains' layers hold without any.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    layered = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    assert layered and all("ignore_imports" not in c for c in layered), [c["name"] for c in layered]
