"""The test modules import their shared helpers one way, which an installed package cannot shadow.

pytest puts this folder first on sys.path (its rootdir-less "prepend" import mode), so
`from helpers import ...` finds tests/helpers.py before anything installed. A `tests.`-qualified
import depends on the project root being importable as a namespace package, and a regular
top-level `tests` package installed by some other distribution wins over that: the module
would not be collected.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from helpers import ROOT

TESTS = ROOT / "tests"


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_every_module_imports_the_shared_helpers_by_their_own_name() -> None:
    qualified = {
        str(path.relative_to(TESTS)): sorted(
            name for name in _imported(path) if name == "tests" or name.startswith("tests.")
        )
        for path in TESTS.rglob("*.py")
    }
    assert {path: names for path, names in qualified.items() if names} == {}
    assert "helpers" in _imported(TESTS / "tuning" / "test_budget.py")  # a subfolder's too


def test_modules_are_collected_beside_an_installed_tests_package(tmp_path: Path) -> None:
    """An installed top-level `tests` package and `helpers` module change nothing."""
    shadow = tmp_path / "site"
    (shadow / "tests").mkdir(parents=True)
    (shadow / "tests" / "__init__.py").write_text("")
    (shadow / "helpers.py").write_text("raise ImportError('the installed helpers was imported')")
    modules = ["tests/test_names.py", "tests/tuning/test_budget.py"]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n0", "-p", "no:cacheprovider",
         *modules],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(shadow)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for module in modules:
        assert f"{module}::" in proc.stdout, proc.stdout
