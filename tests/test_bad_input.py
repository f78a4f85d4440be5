"""Bad input through the real command: each case writes a small project (conf/ + data/) in a
scratch folder, runs `mlconf train experiment=bad ...` there, and checks the exit code, that
the message names the problem, that no traceback is shown, and that no model is written."""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import TRACEBACK, output_of

DATA = """\
name: bad
sources:
  main:
    kind: csv
    path: data/bad.csv
"""
PROBLEM = """\
task: classification
target: y
primary_metric: accuracy
"""
EXPERIMENT = """\
# @package _global_
defaults:
  - override /data: bad
  - override /problem: bad
  - override /schema: bad
  - override /model: logistic
metrics:
  bootstrap: 0
"""
SCHEMA = "on_error: fail\ncolumns: {}\n"


def table(
    n: int = 60, *, header: str = "x1,x2,cat,y", y: str | None = None, blank: bool = False
) -> str:
    """A small valid CSV: two numeric features, a category and a two-class target."""
    rng = random.Random(0)
    lines = [header + (",blank" if blank else "")]
    for _ in range(n):
        label = y if y is not None else rng.choice("ab")
        row = f"{rng.gauss(0, 1):.3f},{rng.randint(0, 9)},{rng.choice('pqr')},{label}"
        lines.append(row + ("," if blank else ""))
    return "\n".join(lines) + "\n"


def with_bad_cell(text: str, row: int, value: str) -> str:
    """Replace the first field of data row `row` (0-based, the header not counted)."""
    lines = text.splitlines()
    lines[row + 1] = ",".join([value, *lines[row + 1].split(",")[1:]])
    return "\n".join(lines) + "\n"


@dataclass
class Case:
    id: str
    files: dict[str, str | bytes | None] = field(default_factory=dict)  # None: no such file
    overrides: list[str] = field(default_factory=list)
    ok: bool = False  # must succeed
    expect: tuple[str, ...] = ()
    pattern: str | None = None  # a regular expression the output must match
    code: int | None = None  # exact exit code, when it matters
    marks: tuple[pytest.MarkDecorator, ...] = ()


def xfail(reason: str) -> tuple[pytest.MarkDecorator, ...]:
    return (pytest.mark.xfail(reason=f"BUG: {reason}", strict=True),)


SQL_DATA = """\
name: bad
sources:
  main:
    kind: sql
    url: sqlite:///data/{db}
    query: SELECT * FROM {table}
"""

CASES = [
    Case("missing_file", files={"data/bad.csv": None}, expect=("data/bad.csv' does not exist",)),
    Case("empty_file", files={"data/bad.csv": b""}, expect=("is empty (0 bytes)",)),
    Case(
        "ragged_csv",
        files={"data/bad.csv": "x1,x2,y\n1,2,a\n3,4,b,5,6\n"},
        expect=("not well-formed CSV", "line 3"),
    ),
    Case(
        "binary_garbage",
        files={"data/bad.csv": bytes(range(256)) * 8},
        expect=("is not text in utf-8",),
    ),
    Case(
        "target_absent",
        files={"conf/problem/bad.yaml": PROBLEM.replace("target: y", "target: outcome")},
        expect=("target column 'outcome' is not in the data", "problem.target"),
    ),
    Case(
        "target_all_missing",
        files={"data/bad.csv": table(y="")},
        expect=("target column 'y' has no values",),
    ),
    Case("one_class", files={"data/bad.csv": table(y="a")}, expect=("only one class ('a')",)),
    Case(
        "empty_feature_column_works",
        files={"data/bad.csv": table(blank=True)},
        ok=True,
        expect=("feature column 'blank' is entirely empty",),
    ),
    Case(
        "uncoercible_dtype_fails",
        files={
            "data/bad.csv": with_bad_cell(table(), 7, "oops"),
            "conf/schema/bad.yaml": "on_error: fail\ncolumns:\n  x1: {dtype: float}\n",
        },
        expect=("1 schema failure(s) in 1 row(s)", "schema.on_error=quarantine"),
        pattern=r"column\s+check\s+row\s+value\n\s*x1\s+coerce_dtype\('float64'\)\s+7\s+'oops'",
    ),
    Case(
        "uncoercible_dtype_quarantined_works",
        files={
            "data/bad.csv": with_bad_cell(table(), 7, "oops"),
            "conf/schema/bad.yaml": "on_error: quarantine\ncolumns:\n  x1: {dtype: float}\n",
        },
        ok=True,
        expect=("1 row(s) failed the schema and were quarantined",),
    ),
    Case(
        "misspelled_config_key",
        overrides=["split.tset_size=0.3"],
        expect=("split.tset_size",),
        code=1,
    ),
    Case(
        "misspelled_key_in_yaml",
        files={"conf/experiment/bad.yaml": EXPERIMENT + "splt:\n  test_size: 0.3\n"},
        expect=("splt", "experiment/bad"),
        code=1,
    ),
    Case(
        "unknown_component_name",
        overrides=["model=xgboost", "model.name=xgbost"],
        expect=("unknown model 'xgbost'", "Did you mean 'xgboost'?", "model.name"),
        code=2,
    ),
    Case(
        "wrong_type_value",
        overrides=["split.test_size=abc"],
        expect=("split.test_size",),
        code=1,
    ),
    Case(
        "sqlite_file_missing",
        files={"conf/data/bad.yaml": SQL_DATA.format(db="nope.db", table="t")},
        expect=("SQLite database 'data/nope.db' does not exist",),
    ),
    Case(
        "sql_missing_table",
        files={"conf/data/bad.yaml": SQL_DATA.format(db="shop.db", table="customers")},
        expect=("no such table: customers",),
    ),
    Case(
        "duplicate_column_names",
        files={"data/bad.csv": table(header="x1,x1,cat,y")},
        expect=("duplicate column names: x1",),
    ),
    Case(
        "yaml_with_a_tab",
        files={
            "conf/experiment/bad.yaml": EXPERIMENT.replace(
                "  - override /problem", "\t- override /problem"
            )
        },
        expect=("experiment/bad.yaml:4", "tabs are not allowed"),
    ),
    Case(
        "yaml_with_a_duplicate_key",
        files={"conf/problem/bad.yaml": PROBLEM + "target: y\n"},
        expect=("problem/bad.yaml", "appears twice"),
    ),
    Case(
        "unbalanced_bracket_names_the_override",
        overrides=["plugins=[my_mod"],
        expect=("override 'plugins=[my_mod'", "brackets"),
    ),
]


def write_project(root: Path, case: Case) -> None:
    files: dict[str, str | bytes | None] = {
        "conf/data/bad.yaml": DATA,
        "conf/problem/bad.yaml": PROBLEM,
        "conf/schema/bad.yaml": SCHEMA,
        "conf/experiment/bad.yaml": EXPERIMENT,
        "data/bad.csv": table(),
    }
    files.update(case.files)
    for relative, content in files.items():
        if content is None:
            continue
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    (root / "data").mkdir(exist_ok=True)
    db = sqlite3.connect(root / "data" / "shop.db")
    db.execute("CREATE TABLE orders (x1 REAL, y TEXT)")
    db.commit()
    db.close()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    write_project(tmp_path, case)
    before = {p.name for p in (tmp_path / "data").iterdir()}
    proc = run_cli(["train", "experiment=bad", *case.overrides], cwd=tmp_path)
    output = output_of(proc)
    if case.ok:
        assert proc.returncode == 0, output
    else:
        assert proc.returncode != 0, output
        if case.code is not None:
            assert proc.returncode == case.code, output
    for expected in case.expect:
        assert expected in output, f"{expected!r} not in:\n{output}"
    if case.pattern:
        assert re.search(case.pattern, output), f"{case.pattern!r} not in:\n{output}"
    assert TRACEBACK not in output, output
    models = list(tmp_path.glob("experiments/**/model"))
    if case.ok:
        assert len(models) == 1
    else:
        assert models == [], "a failed run must not leave a model"
        assert not list(tmp_path.glob("experiments/**/pipeline.skops"))
    # nothing is created beside the data (e.g. no empty SQLite file)
    assert {p.name for p in (tmp_path / "data").iterdir()} == before
