"""Start-up stays lean: the libraries only some stages use are imported by those stages.

Each check runs in a fresh interpreter (a subprocess), since this test process has long
imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# Used by plots, fairness, saving, the report or the registry: never needed to start a run.
LATE = ("matplotlib", "fairlearn", "skops", "jinja2", "sqlalchemy", "alembic", "optuna")


def imported_after(code: str, cwd: Path) -> list[str]:
    """Which of LATE the code left in sys.modules (run in a fresh interpreter)."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps([m for m in {LATE!r} if m in sys.modules]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_the_cli_entry_module_imports_no_heavy_library(tmp_path: Path) -> None:
    code = """
    import mlconf.cli.main, mlconf.cli.hydra_app, mlconf.cli.summary, mlconf.runner, mlconf.stages
    """
    assert imported_after(code, tmp_path) == []
    # and the probe itself can see an import
    assert imported_after("import matplotlib", tmp_path) == ["matplotlib"]


def test_the_stages_up_to_training_import_none_of_the_late_libraries(tmp_path: Path) -> None:
    """`mlconf train` reaches and runs load .. train without matplotlib, fairlearn, skops,
    jinja2 or SQLAlchemy: those cost start-up time only when their stage runs."""
    code = f"""
    from mlconf.cli.main import main
    code = main(["train", "stages=[load,validate,prepare,split,train]",
                 "hydra.run.dir={tmp_path / "run"}"])
    assert code == 0, code
    """
    assert imported_after(code, tmp_path) == []
