"""The bad-input catalogue (issue 7, item 1): every command and every HTTP endpoint, fed the
bad inputs of issues 2-6 and a few more (binary garbage, BOM + CRLF, duplicate and unicode
column names, 10^5 columns, a 0-byte Parquet file, YAML with a tab or a duplicate key, an
unbalanced bracket).

One row per case. A CLI case runs `mlconf.cli.main.main(argv)` in-process, in a folder of its own
(two also run the real `mlconf` console script; the data cases of `train` run the config
that `mlconf train experiment=bad` composes, composed once, since Hydra takes most of a
second per composition and has cases of its own), and checks: the exit code; that the
message names the problem (what, where, fix); that no traceback was shown; that no file
appeared or changed in its folder except those it may write; that the shared model folder
and registry are untouched. An HTTP case talks to one live server (plus two in-process apps:
one without a loadable model, one behind an API key) and checks: the status; a JSON body
`{error, message}` naming the problem; no 5xx; that no prediction was logged.

`test_catalogue_size` prints "N bad inputs tried"; every other test is one case, so a green
run means N bad inputs with 0 crashes.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import logging
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import TRACEBACK

pytest.importorskip("fastapi")
# The in-process apps go through Starlette's TestClient, which now asks for `httpx2`.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

# -- the shared world: one tiny registered model ---------------------------------------------

WIDE = 100_000  # columns of the "10^5 columns" cases


@dataclass
class World:
    root: Path
    model: Path  # the model/ folder of a registered run
    run: Path
    db: Path

    @property
    def registry(self) -> str:
        return f"sqlite:///{self.db}"

    def fill(self, text: str) -> str:
        for key, value in (("model", self.model), ("run", self.run), ("registry", self.registry)):
            text = text.replace(f"{{{key}}}", str(value))
        return text


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from serve_helpers import train_model

    root = tmp_path_factory.mktemp("world")
    db = root / "mlconf.db"
    # no evaluate stage (its plots cost a second), so the version is registered as forced
    stages = "stages=[load,validate,prepare,split,train,save,register]"
    model = train_model(
        root / "run",
        (
            stages,
            "model.params.n_jobs=1",
            f"deploy.registry_url=sqlite:///{db}",
            "deploy.register.force=true",
        ),
    )
    return World(root, model, root / "run", db)


def dump(db: Path) -> list[str]:
    """Every row of the registry database, as SQL."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under `root`, by relative path."""
    out = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not any(fnmatch.fnmatch(rel, s) for s in skip):
            stat = path.stat()
            out[rel] = (stat.st_size, stat.st_mtime_ns)
    return out


# -- files the cases write -----------------------------------------------------------------

GARBAGE = bytes(range(256)) * 8


def table(n: int = 60, *, header: str = "x1,x2,cat,y", y: str | None = None) -> str:
    """A small valid CSV: two numeric features, a category and a two-class target."""
    rng = random.Random(0)
    lines = [header]
    for _ in range(n):
        label = y if y is not None else rng.choice("ab")
        lines.append(f"{rng.gauss(0, 1):.3f},{rng.randint(0, 9)},{rng.choice('pqr')},{label}")
    return "\n".join(lines) + "\n"


def with_bad_cell(text: str, row: int, value: str) -> str:
    """Replace the first field of data row `row` (0-based, the header not counted)."""
    lines = text.splitlines()
    lines[row + 1] = ",".join([value, *lines[row + 1].split(",")[1:]])
    return "\n".join(lines) + "\n"


def bom_crlf(text: str) -> bytes:
    return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()


@functools.cache
def wide_csv() -> bytes:
    header = ",".join(f"c{i}" for i in range(WIDE)) + ",y\n"
    row = ",".join("1" for _ in range(WIDE)) + ",a\n"
    return (header + row + row).encode()


def blank_column(text: str) -> str:
    lines = text.splitlines()
    return "\n".join([lines[0] + ",blank", *(line + "," for line in lines[1:])]) + "\n"


UNICODE_HEADER = "größe (cm),temp °C,catégorie 類,y"

DATA = "name: bad\nsources:\n  main:\n    kind: csv\n    path: data/bad.csv\n"
PARQUET_DATA = "name: bad\nsources:\n  main:\n    kind: parquet\n    path: data/bad.parquet\n"
SQL_DATA = "name: bad\nsources:\n  main:\n    kind: sql\n    url: sqlite:///data/{db}\n    query: SELECT * FROM {table}\n"  # noqa: E501
PROBLEM = "task: classification\ntarget: y\nprimary_metric: accuracy\n"
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
PROJECT: dict[str, str | bytes] = {
    "conf/data/bad.yaml": DATA,
    "conf/problem/bad.yaml": PROBLEM,
    "conf/schema/bad.yaml": SCHEMA,
    "conf/experiment/bad.yaml": EXPERIMENT,
    "data/bad.csv": table(),
}
# What a failed run may leave: its record (run.json says "failed"), never a model.
FAILED_RUN = (
    "experiments/bad/runs/*/run.json",
    "experiments/bad/runs/*/config.yaml",
    "experiments/bad/runs/*/.hydra/*",
    "experiments/bad/runs/*/*.log",
)
# A run that worked: anything under its run folder.
RUN = ("experiments/bad/runs/*",)
STAGES = "stages=[load,validate,prepare,split,tune,train,save]"  # no plots: fast
TRAIN = ("train", "experiment=bad", STAGES)


def model_rows(world: World, n: int = 30) -> Any:
    import pandas as pd

    return pd.read_parquet(world.model / "background.parquet").head(n)


def write_inputs(
    name: str, change: Callable[[Any], Any] | None = None, *, bom: bool = False
) -> Callable[[Path, World], None]:
    """A setup that writes rows the model was trained on (changed by `change`) as CSV."""

    def setup(folder: Path, world: World) -> None:
        frame = model_rows(world)
        if change is not None:
            frame = change(frame)
        text = frame.to_csv(index=False)
        path = folder / name
        if bom:
            path.write_bytes(bom_crlf(text.replace("\r\n", "\n")))
        else:
            path.write_text(text)

    return setup


def append(
    setup: Callable[[Path, World], None], name: str, text: str
) -> Callable[[Path, World], None]:
    """`setup`, then `text` appended to the file `name`."""

    def both(folder: Path, world: World) -> None:
        setup(folder, world)
        with (folder / name).open("a") as fh:
            fh.write(text)

    return both


def copy_run(damage: Callable[[Path], None]) -> Callable[[Path, World], None]:
    """A setup that copies the world's run folder to run/ and damages the copy."""

    def setup(folder: Path, world: World) -> None:
        shutil.copytree(world.run, folder / "run")
        damage(folder / "run")

    return setup


REPORT_FILES = ("run/report.html", "run/model_card.md")


def reported(text: str) -> Callable[[Path], None]:
    def check(folder: Path) -> None:
        assert text in (folder / "run" / "report.html").read_text(encoding="utf-8")

    return check


def foreign_reference(folder: Path, world: World) -> None:
    ref = json.loads((world.model / "reference.json").read_text())
    ref["model_sha256"] = "0" * 64
    (folder / "other.json").write_text(json.dumps(ref))


# -- the CLI table --------------------------------------------------------------------------


@dataclass
class Cli:
    id: str
    argv: tuple[str, ...]
    expect: tuple[str, ...] = ()  # substrings of stdout + stderr
    code: int | None = 2  # the exit code; 0: the input must work
    files: dict[str, str | bytes] = field(default_factory=dict)  # written first
    setup: Callable[[Path, World], None] | None = None
    may_write: tuple[str, ...] = ()  # globs of files the case may create or change
    must_write: tuple[str, ...] = ()  # globs that must match a new file
    then: tuple[tuple[str, ...], ...] = ()  # commands that must work afterwards
    subprocess: bool = False  # run the real console script instead
    check: Callable[[Path], None] | None = None  # more checks of the folder afterwards
    # `mlconf train` through the runner: the project's config composed once, these keys
    # changed (composing with Hydra costs most of a second, and is tested by other cases)
    config: dict[str, Any] | None = None


def train(id: str, *overrides: str, files: dict[str, str | bytes] | None = None, **kw: Any) -> Cli:
    """`mlconf train experiment=bad` in a small project (conf/ + data/bad.csv)."""
    kw.setdefault("may_write", FAILED_RUN)
    return Cli(id, (*TRAIN, *overrides), files={**PROJECT, **(files or {})}, **kw)


def data(id: str, files: dict[str, str | bytes] | None = None, **config: Any) -> Cli:
    """A data case of `mlconf train experiment=bad`: data/bad.csv and config keys changed
    (`__` stands for a dot in a key)."""
    kw = {k: config.pop(k) for k in list(config) if k in DATA_KW}
    kw.setdefault("may_write", FAILED_RUN)
    edits = {k.replace("__", "."): v for k, v in config.items()}
    return Cli(id, ("train",), files={"data/bad.csv": table(), **(files or {})}, config=edits, **kw)


DATA_KW = ("expect", "code", "setup", "may_write", "must_write", "then")
PARQUET = {"data__sources__main__kind": "parquet", "data__sources__main__path": "data/bad.parquet"}
LOGISTIC_SEARCH = {
    "search__model": "logistic",
    "search__space": {"C": {"type": "float", "low": 0.001, "high": 100.0, "log": True}},
}
REG = "--registry-url={registry}"
MODEL = "model={model}"

CLI_CASES: list[Cli] = [
    # --- mlconf train: data (through the runner) ------------------------------------
    data(
        "train/missing_file",
        data__sources__main__path="data/nope.csv",
        expect=("data.sources.main", "data/nope.csv' does not exist", "Fix:"),
    ),
    data(
        "train/empty_csv",
        {"data/bad.csv": b""},
        expect=("data.sources.main", "is empty (0 bytes)", "Fix:"),
    ),
    data(
        "train/ragged_csv",
        {"data/bad.csv": "x1,x2,y\n1,2,a\n3,4,b,5,6\n"},
        expect=("data/bad.csv' is not well-formed CSV", "line 3", "Fix:"),
    ),
    data(
        "train/binary_garbage_csv",
        {"data/bad.csv": GARBAGE},
        expect=("data/bad.csv' is not text in utf-8", "at byte", "Fix: convert it to UTF-8"),
    ),
    data(
        "train/latin1_csv",
        {"data/bad.csv": table().replace("p", "é").encode("latin-1")},
        expect=("is not text in utf-8", "options.encoding"),
    ),
    data(
        "train/header_only_csv",
        {"data/bad.csv": "x1,x2,cat,y\n"},
        expect=("the data has no rows",),
    ),
    data(
        "train/path_is_a_folder",
        data__sources__main__path="data",
        expect=("'data' is a folder, not a csv file",),
    ),
    data(
        "train/zero_byte_parquet",
        {"data/bad.parquet": b""},
        **PARQUET,
        expect=("data/bad.parquet' is empty (0 bytes)", "data.sources.main"),
    ),
    data(
        "train/garbage_parquet",
        {"data/bad.parquet": GARBAGE},
        **PARQUET,
        expect=("cannot be read as Parquet", "data.sources.main"),
    ),
    data(
        "train/duplicate_column_names",
        {"data/bad.csv": table(header="x1,x1,cat,y")},
        expect=("duplicate column names: x1", "Fix: rename"),
    ),
    data(
        "train/100k_columns",
        {"data/bad.csv": wide_csv()},
        expect=(f"{WIDE + 1:,} columns", "data.sources.main", "usecols"),
    ),
    data(
        "train/target_absent",
        problem__target="outcome",
        expect=("target column 'outcome' is not in the data", "problem.target"),
    ),
    data(
        "train/target_all_missing",
        {"data/bad.csv": table(y="")},
        expect=("target column 'y' has no values",),
    ),
    data("train/one_class", {"data/bad.csv": table(y="a")}, expect=("only one class",)),
    data(
        "train/uncoercible_dtype",
        {"data/bad.csv": with_bad_cell(table(), 7, "oops")},
        schema__columns={"x1": {"dtype": "float"}},
        expect=(
            "1 schema failure(s) in 1 row(s)",
            # row 7 counted from 0 is the 8th data row: rows count from 1, as in `predict`
            "x1      coerce_dtype('float64')  8    'oops'",
            "schema.on_error=quarantine",
        ),
    ),
    data(
        "train/drop_unknown_column",
        data__drop_columns=["nope"],
        expect=(
            "cannot drop columns that are not in the data: nope",
            "data.drop_columns",
            "Fix:",
        ),
    ),
    data(
        "train/sqlite_file_missing",
        data__sources__main__kind="sql",
        data__sources__main__path=None,
        data__sources__main__url="sqlite:///data/nope.db",
        data__sources__main__query="SELECT * FROM t",
        expect=("SQLite database 'data/nope.db' does not exist",),
    ),
    data(
        "train/sql_missing_table",
        data__sources__main__kind="sql",
        data__sources__main__path=None,
        data__sources__main__url="sqlite:///data/shop.db",
        data__sources__main__query="SELECT * FROM customers",
        setup=lambda folder, _w: sqlite3.connect(folder / "data" / "shop.db").close(),
        expect=("no such table: customers", "Fix:"),
    ),
    data(
        "train/unknown_component",
        model__name="logistik",
        expect=("unknown model 'logistik'", "Did you mean 'logistic'?", "model.name", "Fix:"),
    ),
    data("train/config_names_a_callable", model___target_="os.system", expect=("_target_",)),
    data(
        "train/unknown_model_param",
        model__params={"max_dept": 3},
        expect=("max_dept", "model.params"),
    ),
    data(
        "train/tune_zero_trials",
        **LOGISTIC_SEARCH,
        tune__n_trials=0,
        expect=("tune.n_trials",),
    ),
    data("train/tune_timeout_zero", **LOGISTIC_SEARCH, tune__timeout=0, expect=("tune.timeout",)),
    data(
        "train/tune_bad_storage",
        **LOGISTIC_SEARCH,
        tune__storage="nonsense",
        expect=("tune.storage",),
    ),
    data(
        "train/search_low_above_high",
        search__model="logistic",
        search__space={"C": {"type": "float", "low": 10.0, "high": 1.0}},
        expect=("search.space.C",),
    ),
    data(
        "train/sensitive_attribute_absent",
        fairness__sensitive=[{"column": "sex"}],
        stages=["load", "validate", "prepare", "split", "train", "evaluate", "fairness"],
        expect=("sex",),
    ),
    # --- mlconf train: data that must work ---------------------------------------------
    data(
        "train/works/bom_and_crlf",
        {"data/bad.csv": bom_crlf(table())},
        code=0,
        may_write=(*RUN, "out.csv"),
        must_write=("experiments/bad/runs/*/model/manifest.json",),
        then=(("predict", "model={run}/model", "input=data/bad.csv", "output=out.csv"),),
    ),
    data(
        "train/works/unicode_and_space_column_names",
        {"data/bad.csv": table(header=UNICODE_HEADER)},
        code=0,
        may_write=(*RUN, "out.csv"),
        must_write=("experiments/bad/runs/*/model/manifest.json",),
        then=(("predict", "model={run}/model", "input=data/bad.csv", "output=out.csv"),),
    ),
    data(
        "train/works/empty_feature_column",
        {"data/bad.csv": blank_column(table())},
        code=0,
        may_write=RUN,
        expect=("feature column 'blank' is entirely empty",),
    ),
    data(
        "train/works/uncoercible_dtype_quarantined",
        {"data/bad.csv": with_bad_cell(table(), 7, "oops")},
        schema__on_error="quarantine",
        schema__columns={"x1": {"dtype": "float"}},
        code=0,
        may_write=RUN,
        must_write=("experiments/bad/runs/*/data/quarantine.csv",),
        expect=("1 row(s) failed the schema and were quarantined",),
    ),
    # --- mlconf train: config and command line (Hydra, in-process) ----------------------
    train(
        "train/misspelled_key",
        "split.tset_size=0.3",
        expect=("split.tset_size", "Did you mean 'test_size'?", "Fix:"),
    ),
    train(
        "train/misspelled_key_in_yaml",
        files={"conf/experiment/bad.yaml": EXPERIMENT + "splt:\n  test_size: 0.3\n"},
        expect=("splt", "experiment/bad", "Did you mean 'split'?", "Fix:"),
    ),
    train(
        "train/wrong_type",
        "split.test_size=abc",
        expect=("split.test_size", "expected a number, got 'abc'", "Fix:"),
    ),
    train(
        "train/unknown_experiment",
        "experiment=nope",
        expect=("unknown experiment 'nope'", "use one of: bad", "Fix:"),
    ),
    train(
        "train/yaml_tab",
        files={
            "conf/experiment/bad.yaml": EXPERIMENT.replace(
                "  - override /problem", "\t- override /problem"
            )
        },
        expect=("experiment/bad.yaml:4", "tabs are not allowed"),
    ),
    train(
        "train/yaml_duplicate_key",
        files={"conf/problem/bad.yaml": PROBLEM + "target: y\n"},
        expect=("problem/bad.yaml", "appears twice"),
    ),
    train(
        "train/yaml_binary_garbage",
        files={"conf/problem/bad.yaml": GARBAGE},
        expect=("problem/bad.yaml", "not UTF-8 text", "Fix:"),
    ),
    train(
        "train/unbalanced_bracket",
        "plugins=[my_mod",
        expect=("override 'plugins=[my_mod'", "brackets", "Fix:"),
    ),
    train(
        "train/unbalanced_brace",
        "split={test_size: 0.3",
        expect=("override 'split={test_size: 0.3'", "brackets"),
    ),
    train(
        "train/unbalanced_quote",
        "data.name='bad",
        expect=("data.name='bad", "quotes"),
    ),
    train(
        "train/experiment_name_escapes",
        "experiment_name=../../escaped",
        expect=("experiment_name", "'../../escaped'"),
    ),
    # --- mlconf schema infer ------------------------------------------------------------
    Cli("schema/missing_file", ("schema", "infer", "nope.csv"), ("'nope.csv' does not exist",)),
    Cli(
        "schema/empty_csv",
        ("schema", "infer", "a.csv"),
        ("'a.csv' is empty (0 bytes)",),
        files={"a.csv": b""},
    ),
    Cli(
        "schema/binary_garbage",
        ("schema", "infer", "a.csv", "-o", "a.yaml"),
        ("'a.csv' is not text in utf-8",),
        files={"a.csv": GARBAGE},
    ),
    Cli(
        "schema/ragged_csv",
        ("schema", "infer", "a.csv", "-o", "a.yaml"),
        ("not well-formed CSV", "line 3"),
        files={"a.csv": "x1,x2,y\n1,2,a\n3,4,b,5,6\n"},
    ),
    Cli(
        "schema/duplicate_column_names",
        ("schema", "infer", "a.csv", "-o", "a.yaml"),
        ("duplicate column names: x1",),
        files={"a.csv": table(header="x1,x1,cat,y")},
    ),
    Cli(
        "schema/100k_columns",
        ("schema", "infer", "a.csv", "-o", "a.yaml"),
        (f"{WIDE + 1:,} columns", "usecols"),
        files={"a.csv": wide_csv()},
    ),
    Cli(
        "schema/zero_byte_parquet",
        ("schema", "infer", "a.parquet"),
        ("'a.parquet' is empty (0 bytes)",),
        files={"a.parquet": b""},
    ),
    Cli(
        "schema/garbage_parquet",
        ("schema", "infer", "a.parquet"),
        ("'a.parquet' cannot be read as Parquet",),
        files={"a.parquet": GARBAGE},
    ),
    Cli(
        "schema/output_is_a_folder",
        ("schema", "infer", "a.csv", "-o", "out"),
        ("'out' is a folder", "-o"),
        files={"a.csv": table(), "out/keep": ""},
    ),
    Cli(
        "schema/no_path",
        ("schema", "infer"),
        ("the following arguments are required: path",),
    ),
    Cli("schema/no_action", ("schema",), ("required: action",)),
    Cli(
        "schema/max_allowed_not_a_number",
        ("schema", "infer", "a.csv", "--max-allowed", "lots"),
        ("--max-allowed", "invalid int value: 'lots'"),
        files={"a.csv": table()},
    ),
    Cli(
        "schema/works/bom_crlf_and_unicode_names",
        ("schema", "infer", "a.csv", "-o", "a.yaml"),
        code=0,
        files={"a.csv": bom_crlf(table(header=UNICODE_HEADER))},
        may_write=("a.yaml",),
        must_write=("a.yaml",),
    ),
    # --- mlconf report ------------------------------------------------------------------
    Cli("report/missing_folder", ("report", "nope"), ("RUN_DIR", "'nope' does not exist", "Fix:")),
    Cli(
        "report/not_a_run_folder",
        ("report", "empty"),
        ("'empty' is not a run folder: run.json is missing",),
        files={"empty/notes.txt": "x"},
    ),
    Cli(
        "report/a_file",
        ("report", "a.csv"),
        ("a.csv",),
        files={"a.csv": table()},
    ),
    # A run folder with a damaged file still gets its report, which names the damage.
    Cli(
        "report/works/run_json_half_written",
        ("report", "run"),
        code=0,
        setup=copy_run(lambda run: (run / "run.json").write_text('{"status": "succ')),
        may_write=REPORT_FILES,
        check=reported("run.json could not be read"),
    ),
    Cli(
        "report/works/run_json_binary",
        ("report", "run"),
        code=0,
        setup=copy_run(lambda run: (run / "run.json").write_bytes(GARBAGE)),
        may_write=REPORT_FILES,
        check=reported("run.json could not be read"),
    ),
    Cli(
        "report/works/config_yaml_with_a_tab",
        ("report", "run"),
        code=0,
        setup=copy_run(lambda run: (run / "config.yaml").write_text("a:\n\tb: 1\n")),
        may_write=REPORT_FILES,
        check=reported("config.yaml could not be read"),
    ),
    Cli(
        "report/max_image_px_not_a_number",
        ("report", "run", "--max-image-px", "wide"),
        ("invalid int value: 'wide'",),
    ),
    # --- mlconf models ------------------------------------------------------------------
    Cli("models/no_action", ("models",), ("required: ACTION",)),
    Cli("models/unknown_action", ("models", "frobnicate"), ("invalid choice: 'frobnicate'",)),
    Cli(
        "models/no_registry",
        ("models", "list"),
        ("no registry at sqlite:///experiments/mlconf.db", "Fix: run `mlconf train`"),
    ),
    Cli(
        "models/url_not_a_url",
        ("models", "list", "--registry-url=nonsense"),
        ("'nonsense' is not a database URL", "--registry-url"),
    ),
    Cli(
        "models/registry_is_binary_garbage",
        ("models", "list", "--registry-url=sqlite:///junk.db"),
        ("junk.db", "not a database", "Fix:"),
        files={"junk.db": GARBAGE},
    ),
    Cli(
        "models/show_unknown_model",
        ("models", "show", "nope", REG),
        ("no model named 'nope'",),
    ),
    Cli(
        "models/show_unknown_alias",
        ("models", "show", "breast_cancer", "staging", REG),
        ("no alias 'staging'",),
    ),
    Cli(
        "models/show_unknown_version",
        ("models", "show", "breast_cancer", "99", REG),
        ("no version 99",),
    ),
    Cli(
        "models/promote_version_not_a_number",
        ("models", "promote", "breast_cancer", "one", "production", REG),
        ("invalid int value: 'one'",),
    ),
    Cli(
        "models/promote_unknown_version",
        ("models", "promote", "breast_cancer", "9", "production", REG),
        ("no version 9",),
    ),
    Cli(
        "models/promote_alias_with_a_path",
        ("models", "promote", "breast_cancer", "1", "../prod", REG),
        ("'../prod'", "alias"),
    ),
    Cli(
        "models/promote_alias_too_long",
        ("models", "promote", "breast_cancer", "1", "p" * 300, REG),
        ("alias", "characters"),
    ),
    Cli(
        "models/promote_alias_with_nul",
        ("models", "promote", "breast_cancer", "1", "prod\x00", REG),
        ("alias", "NUL"),
    ),
    Cli(
        "models/rollback_without_history",
        ("models", "rollback", "breast_cancer", "candidate", REG),
        ("candidate",),
    ),
    Cli(
        "models/archive_version_with_alias",
        ("models", "archive", "breast_cancer", "1", REG),
        ("still holds the alias",),
    ),
    Cli(
        "models/archive_unknown_version",
        ("models", "archive", "breast_cancer", "7", REG),
        ("no version 7",),
    ),
    Cli(
        "models/export_into_non_empty_folder",
        ("models", "export", "breast_cancer", "1", "out", REG),
        ("'out' already exists and is not an empty folder",),
        files={"out/keep": "x"},
    ),
    Cli(
        "models/export_unknown_version",
        ("models", "export", "breast_cancer", "9", "out", REG),
        ("no version 9",),
    ),
    Cli(
        "models/lineage_unknown_model",
        ("models", "lineage", "nope", REG),
        ("no model named 'nope'",),
    ),
    Cli(
        "models/deploy_yaml_with_a_tab",
        ("models", "list"),
        ("conf/deploy/default.yaml:2", "tabs are not allowed"),
        files={"conf/deploy/default.yaml": "registry_url: sqlite:///x.db\n\tserve: 1\n"},
    ),
    # --- mlconf predict -----------------------------------------------------------------
    Cli("predict/no_settings", ("predict",), ("no input given", "deploy.batch.input", "Fix:")),
    Cli("predict/not_key_value", ("predict", "model"), ("'model' is not KEY=VALUE",)),
    Cli(
        "predict/unknown_setting",
        ("predict", "modle=x"),
        ("unknown setting 'modle'", "Did you mean 'model'?"),
    ),
    Cli(
        "predict/model_folder_missing",
        ("predict", "model=runs/nope/model", "input=a.csv", "output=o.csv"),
        ("model folder 'runs/nope/model' does not exist",),
        files={"a.csv": table()},
    ),
    Cli(
        "predict/unknown_alias",
        (
            "predict",
            "model=breast_cancer@nope",
            "input=a.csv",
            "output=o.csv",
            "registry_url={registry}",
        ),
        ("no alias 'nope'",),
        files={"a.csv": table()},
    ),
    Cli(
        "predict/input_missing",
        ("predict", MODEL, "input=nope.csv", "output=o.csv"),
        ("'nope.csv' does not exist",),
    ),
    Cli(
        "predict/input_empty",
        ("predict", MODEL, "input=a.csv", "output=o.csv"),
        ("'a.csv' is empty (0 bytes)",),
        files={"a.csv": b""},
    ),
    Cli(
        "predict/input_binary_garbage",
        ("predict", MODEL, "input=a.csv", "output=o.csv"),
        ("'a.csv' is not text in utf-8",),
        files={"a.csv": GARBAGE},
    ),
    Cli(
        "predict/input_ragged_after_first_chunk",
        ("predict", MODEL, "input=a.csv", "output=o.csv", "chunk_rows=5"),
        ("cannot be read past row 30", "line 33", "input="),
        setup=lambda folder, world: append(
            write_inputs("a.csv"), "a.csv", "1,2,3\n" + "1," * 40 + "1\n"
        )(folder, world),
    ),
    Cli(
        "predict/input_duplicate_columns",
        ("predict", MODEL, "input=a.csv", "output=o.csv"),
        ("duplicate column names: x1",),
        files={"a.csv": table(header="x1,x1,cat,y")},
    ),
    Cli(
        "predict/input_lacks_a_column",
        ("predict", MODEL, "input=a.csv", "output=o.csv"),
        ("lacks 1 column(s) the model was trained on: worst area",),
        setup=write_inputs("a.csv", lambda f: f.drop(columns=["worst area"])),
    ),
    Cli(
        "predict/input_100k_columns",
        ("predict", MODEL, "input=a.csv", "output=o.csv"),
        (f"{WIDE + 1:,} columns",),
        files={"a.csv": wide_csv()},
    ),
    Cli(
        "predict/input_zero_byte_parquet",
        ("predict", MODEL, "input=a.parquet", "output=o.csv"),
        ("'a.parquet' is empty (0 bytes)",),
        files={"a.parquet": b""},
    ),
    Cli(
        "predict/input_garbage_parquet",
        ("predict", MODEL, "input=a.parquet", "output=o.csv"),
        ("cannot be read as Parquet", "input="),
        files={"a.parquet": GARBAGE},
    ),
    Cli(
        "predict/input_unknown_format",
        ("predict", MODEL, "input=a.txt", "output=o.csv"),
        ("cannot tell the format of 'a.txt'", "input="),
        files={"a.txt": table()},
    ),
    Cli(
        "predict/output_exists",
        ("predict", MODEL, "input=a.csv", "output=o.csv"),
        ("'o.csv' already exists", "overwrite=true"),
        setup=write_inputs("a.csv"),
        files={"o.csv": "precious\n"},
    ),
    Cli(
        "predict/output_unknown_format",
        ("predict", MODEL, "input=a.csv", "output=o.txt"),
        ("cannot tell the output format of 'o.txt'",),
        setup=write_inputs("a.csv"),
    ),
    Cli(
        "predict/output_is_the_input",
        ("predict", MODEL, "input=a.csv", "output=a.csv", "overwrite=true"),
        ("would overwrite the input",),
        setup=write_inputs("a.csv"),
    ),
    Cli(
        "predict/output_under_a_file",
        ("predict", MODEL, "input=a.csv", "output=a.csv/o.csv"),
        ("cannot create the folder 'a.csv'", "output=", "Fix:"),
        setup=write_inputs("a.csv"),
    ),
    Cli(
        "predict/chunk_rows_zero",
        ("predict", MODEL, "input=a.csv", "output=o.csv", "chunk_rows=0"),
        ("chunk_rows must be at least 1", "chunk_rows=", "Fix:"),
        setup=write_inputs("a.csv"),
    ),
    Cli(
        "predict/chunk_rows_not_a_number",
        ("predict", MODEL, "input=a.csv", "output=o.csv", "chunk_rows=many"),
        ("expected a whole number, got 'many'", "deploy.batch.chunk_rows", "Fix:"),
    ),
    Cli(
        "predict/overwrite_not_a_flag",
        ("predict", MODEL, "input=a.csv", "output=o.csv", "overwrite=maybe"),
        ("expected true or false, got 'maybe'", "deploy.batch.overwrite", "Fix:"),
        setup=write_inputs("a.csv"),
    ),
    Cli(
        "predict/sql_without_url",
        ("predict", MODEL, "input=sql:SELECT * FROM t", "output=o.csv"),
        ("needs a query and a database URL",),
    ),
    Cli(
        "predict/sql_missing_table",
        ("predict", MODEL, "input=sql:SELECT * FROM t", "url=sqlite:///x.db", "output=o.csv"),
        ("no such table: t",),
        setup=lambda folder, _w: sqlite3.connect(folder / "x.db").close(),
    ),
    Cli(
        "predict/works/bad_rows_quarantined",
        ("predict", MODEL, "input=a.csv", "output=o.csv"),
        ("quarantined 2 row(s)",),
        code=0,
        setup=write_inputs(
            "a.csv",
            lambda f: f.astype({"mean radius": object}).assign(
                **{"mean radius": ["x", -5.0, *f["mean radius"][2:]]}
            ),
        ),
        may_write=("o.csv", "o.csv.quarantine.csv"),
        must_write=("o.csv", "o.csv.quarantine.csv"),
    ),
    Cli(
        "predict/works/bom_and_crlf",
        ("predict", MODEL, "input=a.csv", "output=o.parquet"),
        ("scored 30 of 30 rows",),
        code=0,
        setup=write_inputs("a.csv", bom=True),
        may_write=("o.parquet",),
        must_write=("o.parquet",),
    ),
    Cli(
        "predict/deploy_yaml_duplicate_key",
        ("predict", MODEL, "input=a.csv", "output=o.csv"),
        ("conf/deploy/default.yaml", "'batch' appears twice"),
        files={"conf/deploy/default.yaml": "batch: {chunk_rows: 5}\nbatch: {chunk_rows: 6}\n"},
        setup=write_inputs("a.csv"),
    ),
    # --- mlconf serve (settings; no case may start a server) ---------------------------
    Cli("serve/not_key_value", ("serve", "model"), ("'model' is not KEY=VALUE",)),
    Cli("serve/unknown_setting", ("serve", MODEL, "prot=80"), ("unknown setting 'prot'", "port")),
    Cli("serve/workers", ("serve", MODEL, "workers=0"), ("deploy.serve.workers", "Fix:")),
    Cli("serve/port_out_of_range", ("serve", MODEL, "port=70000"), ("port 70000", "port")),
    Cli(
        "serve/port_not_a_number",
        ("serve", MODEL, "port=http"),
        ("deploy.serve.port", "'http'", "Fix:"),
    ),
    Cli("serve/max_records_zero", ("serve", MODEL, "max_records=0"), ("max_records",)),
    Cli(
        "serve/extra_fields_unknown",
        ("serve", MODEL, "extra_fields=maybe"),
        ("deploy.serve.extra_fields", "ignore"),
    ),
    Cli("serve/negative_reload", ("serve", MODEL, "reload_interval=-1"), ("reload_interval",)),
    Cli(
        "serve/api_key_env_unset",
        ("serve", MODEL, "api_key_env=MLCONF_TEST_NO_SUCH_KEY"),
        ("MLCONF_TEST_NO_SUCH_KEY", "not set", "Fix:"),
    ),
    Cli(
        "serve/deploy_yaml_with_a_tab",
        ("serve", MODEL),
        ("conf/deploy/default.yaml",),
        files={"conf/deploy/default.yaml": "serve:\n\tport: 80\n"},
    ),
    Cli(
        "serve/deploy_yaml_duplicate_key",
        ("serve", MODEL),
        ("conf/deploy/default.yaml", "port"),
        files={"conf/deploy/default.yaml": "serve:\n  port: 80\n  port: 81\n"},
    ),
    # --- mlconf monitor -----------------------------------------------------------------
    # no model=: the experiment's registered model, <deploy.model_name>@production
    Cli("monitor/no_model", ("monitor",), ("no registry at", "train a model first", "Fix:")),
    Cli("monitor/not_key_value", ("monitor", "model"), ("'model' is not KEY=VALUE",)),
    Cli(
        "monitor/unknown_setting",
        ("monitor", MODEL, "curent=a.csv"),
        ("unknown setting 'curent'", "Did you mean 'current'?"),
    ),
    Cli(
        "monitor/model_folder_missing",
        ("monitor", "model=runs/nope/model", "current=a.csv"),
        ("model folder 'runs/nope/model' does not exist",),
    ),
    Cli("monitor/no_current_data", ("monitor", MODEL), ("no current data given", "Fix:")),
    Cli(
        "monitor/current_missing",
        ("monitor", MODEL, "current=nope.csv"),
        ("'nope.csv' does not exist", "current="),
    ),
    Cli(
        "monitor/current_empty",
        ("monitor", MODEL, "current=a.csv"),
        ("'a.csv' is empty (0 bytes)",),
        files={"a.csv": b""},
    ),
    Cli(
        "monitor/current_binary_garbage",
        ("monitor", MODEL, "current=a.csv"),
        ("'a.csv' is not text in utf-8",),
        files={"a.csv": GARBAGE},
    ),
    Cli(
        "monitor/current_header_only",
        ("monitor", MODEL, "current=a.csv"),
        ("'a.csv' has no rows", "current="),
        files={"a.csv": "mean radius,worst area\n"},
    ),
    Cli(
        "monitor/current_duplicate_columns",
        ("monitor", MODEL, "current=a.csv"),
        ("duplicate column names: x1",),
        files={"a.csv": table(header="x1,x1,cat,y")},
    ),
    Cli(
        "monitor/current_100k_columns",
        ("monitor", MODEL, "current=a.csv"),
        (f"{WIDE + 1:,} columns",),
        files={"a.csv": wide_csv()},
    ),
    Cli(
        "monitor/current_zero_byte_parquet",
        ("monitor", MODEL, "current=a.parquet"),
        ("'a.parquet' is empty (0 bytes)",),
        files={"a.parquet": b""},
    ),
    Cli(
        "monitor/window_not_a_duration",
        ("monitor", MODEL, "window=soon", "registry_url={registry}"),
        ("window 'soon' is not a duration", "Fix:"),
    ),
    Cli(
        "monitor/reference_of_another_model",
        ("monitor", MODEL, "current=a.csv", "reference=other.json"),
        ("reference",),
        setup=lambda folder, world: (
            write_inputs("a.csv")(folder, world),
            foreign_reference(folder, world),
        ),
    ),
    Cli(
        "monitor/reference_garbage",
        ("monitor", MODEL, "current=a.csv", "reference=other.json"),
        ("other.json",),
        setup=write_inputs("a.csv"),
        files={"other.json": GARBAGE},
    ),
    Cli(
        "monitor/unknown_drift_correction",
        ("monitor", MODEL, "current=a.csv", "drift.correction=magic"),
        ("drift.correction", "magic"),
        setup=write_inputs("a.csv"),
    ),
    Cli(
        "monitor/monitoring_yaml_with_a_tab",
        ("monitor", MODEL, "current=a.csv"),
        ("conf/monitoring/default.yaml", "tabs are not allowed"),
        files={"conf/monitoring/default.yaml": "drift:\n\tcorrection: bh\n"},
        setup=write_inputs("a.csv"),
    ),
    Cli(
        "monitor/watch_times_not_a_number",
        ("monitor", MODEL, "current=a.csv", "--watch", "times=often"),
        ("monitoring.times", "expected a whole number, got 'often'", "Fix:"),
    ),
    Cli(
        "monitor/history_limit_not_a_number",
        ("monitor", "history", "limit=all", "registry_url={registry}"),
        ("monitoring.limit", "expected a whole number, got 'all'", "Fix:"),
    ),
    Cli(
        "monitor/history_without_registry",
        ("monitor", "history"),
        ("no registry database at", "Fix:"),
    ),
    # --- mlconf init --------------------------------------------------------------------
    Cli(
        "init/folder_not_empty",
        ("init", "proj"),
        ("folder 'proj' is not empty", "--force"),
        files={"proj/notes.txt": "mine"},
    ),
    Cli("init/target_is_a_file", ("init", "proj"), ("'proj'", "file"), files={"proj": "mine"}),
    Cli(
        "init/parent_is_a_file",
        ("init", "proj/sub"),
        ("'proj'", "file"),
        files={"proj": "mine"},
    ),
    Cli("init/no_folder", ("init",), ("required: directory",)),
    # --- mlconf plugins -----------------------------------------------------------------
    Cli("plugins/unknown_kind", ("plugins", "-k", "modle"), ("unknown kind 'modle'", "'model'")),
    Cli(
        "plugins/missing_module",
        ("plugins", "-p", "no_such_module_xyz"),
        ("plugin module 'no_such_module_xyz' cannot be imported", "Fix:"),
    ),
    Cli(
        "plugins/module_raises",
        ("plugins", "-p", "boom_on_import"),
        ("boom_on_import", "RuntimeError", "kaboom"),
        files={"boom_on_import.py": "raise RuntimeError('kaboom')\n"},
    ),
    Cli(
        "plugins/module_syntax_error",
        ("plugins", "-p", "broken_syntax"),
        ("broken_syntax", "SyntaxError", "line 1"),
        files={"broken_syntax.py": "def f(:\n"},
    ),
    Cli(
        "plugins/module_is_a_path",
        ("plugins", "-p", "../evil"),
        ("'../evil'",),
    ),
    Cli("plugins/unknown_flag", ("plugins", "--frobnicate"), ("unrecognized arguments",)),
    # --- mlconf itself ------------------------------------------------------------------
    Cli("mlconf/unknown_command", ("trian",), ("unknown command 'trian'", "'train'")),
    Cli("mlconf/no_command", (), ("commands:",)),
    # --- the real console script (a few: argv, stderr and exit code as a user sees them) -
    train(
        "script/train_binary_garbage",
        files={"data/bad.csv": GARBAGE},
        expect=("is not text in utf-8",),
        subprocess=True,
    ),
    Cli(
        "script/models_registry_is_binary_garbage",
        ("models", "list", "--registry-url=sqlite:///junk.db"),
        ("not a database",),
        files={"junk.db": GARBAGE},
        subprocess=True,
    ),
]


def _write(folder: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


class _ServerStartedError(Exception):
    pass


def _refuse_server(*_args: Any, **_kwargs: Any) -> None:
    raise _ServerStartedError("a bad `mlconf serve` setting got as far as starting the server")


def run_in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`mlconf ARGV` in this process: the exit code and everything printed."""
    from mlconf.cli.main import main

    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    captured = capsys.readouterr()
    return code, f"{captured.out}\n{captured.err}"


def run_config(
    base: Any, edits: dict[str, Any], folder: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """What `mlconf train` does once Hydra has composed the config: run it, and print an
    MlconfError the way the command does."""
    import copy

    from omegaconf import OmegaConf, open_dict
    from rich.console import Console

    from mlconf.cli.main import report_error
    from mlconf.core.errors import MlconfError
    from mlconf.runner import run

    cfg = copy.deepcopy(base)
    for key, value in edits.items():
        parent = key.rpartition(".")[0]
        with open_dict(OmegaConf.select(cfg, parent) if parent else cfg):
            OmegaConf.update(cfg, key, value, merge=True)
    code = 0
    try:
        run(
            cfg,
            run_dir=folder / "experiments" / "bad" / "runs" / "run",
            console=Console(file=sys.stderr, width=400),
        )
    except MlconfError as exc:
        report_error(exc)
        code = exc.exit_code
    captured = capsys.readouterr()
    return code, f"{captured.out}\n{captured.err}"


@pytest.fixture(scope="module")
def project_config(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`mlconf train experiment=bad` of the cases' project, composed once."""
    from helpers import compose_train

    folder = tmp_path_factory.mktemp("project")
    _write(folder, {k: v for k, v in PROJECT.items() if k.startswith("conf/")})
    return compose_train(["experiment=bad", f"hydra.searchpath=[file://{folder / 'conf'}]", STAGES])


def run_script(argv: list[str], cwd: Path) -> tuple[int, str]:
    """The installed `mlconf` console script, as a user runs it."""
    script = Path(sys.executable).with_name("mlconf")
    env = {k: v for k, v in os.environ.items() if k not in ("MLCONF_TRACEBACK", "HYDRA_FULL_ERROR")}
    env.update({"COLUMNS": "400", "PYTHONPATH": os.pathsep.join(sys.path)})
    proc = subprocess.run(
        [str(script), *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, f"{proc.stdout}\n{proc.stderr}"


@pytest.fixture
def case_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The case's own working folder, with a clean environment for the in-process command."""
    import uvicorn

    monkeypatch.chdir(tmp_path)
    for key in ("MLCONF_TRACEBACK", "HYDRA_FULL_ERROR", "MLCONF_TEST_NO_SUCH_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(uvicorn, "run", _refuse_server)
    modules = set(sys.modules)
    handlers = set(logging.root.handlers)
    yield tmp_path
    for handler in set(logging.root.handlers) - handlers:  # a command's, bound to capsys
        if not type(handler).__module__.startswith("_pytest"):
            logging.root.removeHandler(handler)
    for name in set(sys.modules) - modules:  # plugin modules of this case's folder
        if getattr(sys.modules[name], "__file__", "") and str(tmp_path) in str(
            sys.modules[name].__file__
        ):
            del sys.modules[name]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CLI_CASES])
def test_cli(
    case: Cli,
    case_dir: Path,
    world: World,
    project_config: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write(case_dir, case.files)
    if case.setup is not None:
        case.setup(case_dir, world)
    argv = [world.fill(a) for a in case.argv]
    before = snapshot(case_dir)
    world_before = snapshot(world.root, skip=("mlconf.db*",))
    registry_before = dump(world.db)

    if case.subprocess:
        code, output = run_script(argv, case_dir)
    elif case.config is not None:
        code, output = run_config(project_config, case.config, case_dir, capsys)
    else:
        code, output = run_in_process(argv, capsys)

    assert TRACEBACK not in output, output
    assert code == case.code, f"exit code {code}, expected {case.code}:\n{output}"
    for expected in case.expect:
        assert world.fill(expected) in output, f"{expected!r} not in:\n{output}"
    after = snapshot(case_dir)
    changed = sorted(p for p, stat in after.items() if before.get(p) != stat)
    changed += sorted(p for p in before if p not in after)
    unexpected = [p for p in changed if not any(fnmatch.fnmatch(p, g) for g in case.may_write)]
    assert not unexpected, f"written or removed although it should not be: {unexpected}"
    for pattern in case.must_write:
        assert any(fnmatch.fnmatch(p, pattern) for p in changed), f"nothing matches {pattern}"
    if case.code != 0:
        for run_json in case_dir.glob("experiments/*/runs/*/run.json"):
            assert json.loads(run_json.read_text())["status"] == "failed"
    assert snapshot(world.root, skip=("mlconf.db*",)) == world_before, "the shared model changed"
    assert dump(world.db) == registry_before, "the registry changed"
    if case.check is not None:
        case.check(case_dir)
    for follow_up in case.then:
        run_dir = next(case_dir.glob("experiments/*/runs/*"))
        argv = [a.replace("{run}", str(run_dir)) for a in follow_up]
        code, output = run_in_process(argv, capsys)
        assert code == 0 and TRACEBACK not in output, output


# -- the HTTP table -------------------------------------------------------------------------

Body = Callable[[dict[str, Any]], Any]


@dataclass
class Http:
    id: str
    method: str
    path: str
    status: int
    error: str | None = None  # the `error` kind of the JSON body
    expect: tuple[str, ...] = ()  # substrings of the response text
    json: Body | None = None  # a JSON body built from a valid record
    content: bytes | Callable[[dict[str, Any]], Any] | None = None  # raw body (or chunks)
    headers: dict[str, str] = field(default_factory=dict)
    app: str = "live"  # live | live_in_process | not_ready | keyed
    logged: int = 0  # predictions the request may log
    predict_first: bool = False  # get a prediction id first (the body finds it under PID)


JSON_TYPE = {"content-type": "application/json"}


def raw(data: bytes) -> dict[str, Any]:
    """A body sent as is, declared as JSON."""
    return {"content": data, "headers": JSON_TYPE}


def body(value: Any) -> dict[str, Any]:
    """A JSON body that does not depend on the valid record."""
    return {"json": lambda _row: value}


def record_with(**changes: Any) -> dict[str, Any]:
    """The valid record with some fields changed (`__` stands for a space in a name)."""
    fields = {k.replace("__", " "): v for k, v in changes.items()}
    return {"json": lambda row: {**row, **fields}}


def record_without(name: str) -> Body:
    return lambda row: {k: v for k, v in row.items() if k != name}


def chunked_body(row: dict[str, Any]) -> Iterator[bytes]:
    yield b"["
    for i in range(200):
        yield (b"," if i else b"") + json.dumps(row).encode()
    yield b"]"


def nan_record(row: dict[str, Any]) -> bytes:
    return json.dumps({**row, "mean radius": float("nan")}).encode()


def huge_number(row: dict[str, Any]) -> bytes:
    text = json.dumps({**row, "mean texture": 1.0})
    return text.replace('"mean texture": 1.0', '"mean texture": 1e999').encode()


def outcome(value: Any) -> dict[str, Any]:
    """Feedback with `value` as the outcome for a real prediction of the live model."""
    return {
        "json": lambda row: {"prediction_id": row[PID], "outcome": value},
        "predict_first": True,
    }


def outcome_literal(text: bytes) -> dict[str, Any]:
    """Feedback whose outcome is written as is (not JSON-encoded), e.g. NaN or 1e999."""

    def content(row: dict[str, Any]) -> bytes:
        return b'{"prediction_id": "%s", "outcome": %s}' % (row[PID].encode(), text)

    return {"content": content, "headers": JSON_TYPE, "predict_first": True}


def escaped(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """A body as json.dumps writes it: non-ASCII (and lone surrogates) as \\u escapes."""
    return {"content": lambda row: json.dumps(change(row)).encode(), "headers": JSON_TYPE}


def streamed(size: int) -> Callable[[dict[str, Any]], Iterator[bytes]]:
    """A chunked body (no Content-Length) of about `size` bytes."""

    def chunks(_row: dict[str, Any]) -> Iterator[bytes]:
        yield b'{"prediction_id": "abc", "outcome": "'
        for _ in range(size // 10_000):
            yield b"x" * 10_000
        yield b'"}'

    return chunks


DEEP = b"[" * 1000 + b"]" * 1000
CHUNKED = {"content": streamed(150_000), "headers": {**JSON_TYPE, "transfer-encoding": "chunked"}}
PID = "__prediction_id__"
WIDE_RECORD = {f"c{i}": 1 for i in range(WIDE)}
FEEDBACK = {"prediction_id": "abc", "outcome": "benign"}
TINY = [{"mean radius": 1.0}] * 21  # more records than max_records=20, few bytes
P, E, F = "/predict", "/explain", "/feedback"
NOT_READY = {"app": "not_ready"}
KEYED = {"app": "keyed"}
# Megabytes refused by their Content-Length: sent to the live app in-process, since over a
# socket the server may close the connection while the client is still sending.
BIG = {"app": "live_in_process"}

# fmt: off
HTTP_CASES: list[Http] = [
    # --- /predict ------------------------------------------------------------------------
    Http("predict/malformed_json", "POST", P, 400, "malformed_json", ("not valid JSON",), **raw(b'{"mean radius": 1')),  # noqa: E501
    Http("predict/empty_body", "POST", P, 400, "malformed_json", ("empty",), **raw(b"")),
    Http("predict/not_utf8", "POST", P, 400, "malformed_json", **raw(b"\xff\xfe{}")),
    Http("predict/binary_garbage", "POST", P, 400, "malformed_json", **raw(GARBAGE)),
    Http("predict/nan", "POST", P, 400, "invalid_number", ("NaN",), content=nan_record, headers=JSON_TYPE),  # noqa: E501
    Http("predict/infinity", "POST", P, 400, "invalid_number", ("Infinity",), **raw(b'[{"mean radius": Infinity}]')),  # noqa: E501
    Http("predict/minus_infinity", "POST", P, 400, "invalid_number", **raw(b'{"mean radius": -Infinity}')),  # noqa: E501
    Http("predict/huge_number", "POST", P, 422, "validation", ("mean texture",), content=huge_number, headers=JSON_TYPE),  # noqa: E501
    Http("predict/string_for_number", "POST", P, 422, "validation", ("mean radius", "float_type"), **record_with(mean__radius="12.5")),  # noqa: E501
    Http("predict/bool_for_number", "POST", P, 422, "validation", ("mean texture",), **record_with(mean__texture=True)),  # noqa: E501
    Http("predict/object_for_number", "POST", P, 422, "validation", ("mean texture",), **record_with(mean__texture={"a": 1})),  # noqa: E501
    Http("predict/below_minimum", "POST", P, 422, "validation", ("mean radius", "greater_than_equal"), **record_with(mean__radius=-1.0)),  # noqa: E501
    Http("predict/above_maximum", "POST", P, 422, "validation", ("mean radius", "less_than_equal"), **record_with(mean__radius=1000.0)),  # noqa: E501
    Http("predict/missing_field_in_second_record", "POST", P, 422, "validation", ('"record":1', '"field":"worst area"', "missing"), json=lambda r: [r, record_without("worst area")(r)]),  # noqa: E501
    Http("predict/empty_object", "POST", P, 422, "validation", ("missing",), **body({})),
    Http("predict/empty_list", "POST", P, 422, "empty", ("empty",), **body([])),
    Http("predict/scalar_body", "POST", P, 422, "validation", ("JSON object",), **body(3)),
    Http("predict/list_of_scalars", "POST", P, 422, "validation", **body([1, 2])),
    Http("predict/list_of_lists", "POST", P, 422, "validation", json=lambda r: [[r]]),
    Http("predict/too_many_records", "POST", P, 413, "too_many_records", ("at most 20",), **body(TINY)),  # noqa: E501
    Http("predict/body_too_large", "POST", P, 413, "too_large", ("50000 bytes",), json=lambda r: [r] * 200),  # noqa: E501
    Http("predict/chunked_body_too_large", "POST", P, 413, "too_large", content=chunked_body, headers={**JSON_TYPE, "transfer-encoding": "chunked"}),  # noqa: E501
    Http("predict/1e6_records", "POST", P, 413, "too_large", **body([{}] * 1_000_000), **BIG),
    Http("predict/100k_fields", "POST", P, 413, "too_large", json=lambda r: {**r, **WIDE_RECORD}, **BIG),  # noqa: E501
    Http("predict/works/unicode_extra_fields_ignored", "POST", P, 200, **record_with(**{"größe 類": "x", "temp °C": 1}), logged=1),  # noqa: E501
    Http("predict/works/null_for_nullable", "POST", P, 200, **record_with(mean__texture=None), logged=1),  # noqa: E501
    Http("predict/get", "GET", P, 405, "method_not_allowed"),
    Http("predict/deep_nesting", "POST", P, 400, "too_deep", **raw(DEEP)),
    Http("predict/number_of_5000_digits", "POST", P, 400, "invalid_number", ("4300 digits",), **raw(b'{"mean radius": ' + b"9" * 5000 + b"}")),  # noqa: E501
    Http("predict/lone_surrogate_value", "POST", P, 400, "invalid_unicode", ("surrogate", "mean radius"), **escaped(lambda r: {**r, "mean radius": "\udfff"})),  # noqa: E501
    Http("predict/lone_surrogate_key", "POST", P, 400, "invalid_unicode", **escaped(lambda r: {**r, "x\ud800": 1})),  # noqa: E501
    Http("predict/lone_surrogate_in_list", "POST", P, 400, "invalid_unicode", ("[1]",), **escaped(lambda r: [r, {**r, "worst area": "\udc00"}])),  # noqa: E501
    Http("predict/works/surrogate_pair", "POST", P, 200, **escaped(lambda r: {**r, "note": "\U0001f600"}), logged=1),  # noqa: E501
    # --- /explain ------------------------------------------------------------------------
    Http("explain/malformed_json", "POST", E, 400, "malformed_json", **raw(b"[{")),
    Http("explain/empty_list", "POST", E, 422, "empty", **body([])),
    Http("explain/string_for_number", "POST", E, 422, "validation", ("mean radius",), **record_with(mean__radius="big")),  # noqa: E501
    Http("explain/missing_field", "POST", E, 422, "validation", ("worst area",), json=record_without("worst area")),  # noqa: E501
    Http("explain/too_many_records", "POST", E, 413, "too_many_records", **body(TINY)),
    Http("explain/deep_nesting", "POST", E, 400, "too_deep", **raw(DEEP)),
    Http("explain/lone_surrogate", "POST", E, 400, "invalid_unicode", **escaped(lambda r: {**r, "mean radius": "\udfff"})),  # noqa: E501
    Http("explain/chunked_body_too_large", "POST", E, 413, "too_large", **CHUNKED),
    # --- /feedback: the body is read as on /predict; the outcome must be one of the classes
    # of the version that made the prediction (issue 13: each of these stopped monitoring) --
    Http("feedback/malformed_json", "POST", F, 400, "malformed_json", ("not valid JSON",), **raw(b'{"prediction_id": ')),  # noqa: E501
    Http("feedback/not_utf8", "POST", F, 400, None, **raw(b"\xff")),
    Http("feedback/missing_id", "POST", F, 422, "validation", ("prediction_id",), **body({"outcome": "benign"})),  # noqa: E501
    Http("feedback/empty_id", "POST", F, 422, "validation", ("prediction_id",), **body({**FEEDBACK, "prediction_id": ""})),  # noqa: E501
    Http("feedback/overlong_id", "POST", F, 422, "validation", ("prediction_id",), **body({**FEEDBACK, "prediction_id": "x" * 65})),  # noqa: E501
    Http("feedback/id_not_a_string", "POST", F, 422, "validation", ("prediction_id",), **body({**FEEDBACK, "prediction_id": 7})),  # noqa: E501
    Http("feedback/missing_outcome", "POST", F, 422, "validation", ("outcome",), **body({"prediction_id": "abc"})),  # noqa: E501
    Http("feedback/null_outcome", "POST", F, 422, "validation", ("outcome is null",), **body({**FEEDBACK, "outcome": None})),  # noqa: E501
    Http("feedback/unknown_prediction", "POST", F, 404, "unknown_prediction", ("no prediction with id 'abc'",), **body(FEEDBACK)),  # noqa: E501
    Http("feedback/array_body", "POST", F, 422, "validation", **body([FEEDBACK])),
    Http("feedback/form_body", "POST", F, 400, "malformed_json", content=b"prediction_id=a&outcome=1", headers={"content-type": "application/x-www-form-urlencoded"}),  # noqa: E501
    Http("feedback/outcome_not_a_class", "POST", F, 422, "validation", ('"field":"outcome"', '"rule":"class"', "benign", "malignant"), **outcome("maybe")),  # noqa: E501
    Http("feedback/outcome_wrong_case", "POST", F, 422, "validation", ("Benign", "malignant"), **outcome("Benign")),  # noqa: E501
    Http("feedback/outcome_number", "POST", F, 422, "validation", ("(number)",), **outcome(1)),
    Http("feedback/outcome_boolean", "POST", F, 422, "validation", ("(boolean)",), **outcome(True)),
    Http("feedback/outcome_object", "POST", F, 422, "validation", ("(object)",), **outcome({"label": "benign"})),  # noqa: E501
    Http("feedback/outcome_array", "POST", F, 422, "validation", ("(array)",), **outcome(["benign"])),  # noqa: E501
    Http("feedback/outcome_long_string", "POST", F, 422, "validation", ("40000 characters",), **outcome("x" * 40_000)),  # noqa: E501
    Http("feedback/outcome_too_large", "POST", F, 413, "too_large", **outcome("x" * 60_000)),
    Http("feedback/outcome_huge_number", "POST", F, 422, "validation", ("Infinity",), **outcome_literal(b"1e999")),  # noqa: E501
    Http("feedback/outcome_nan", "POST", F, 400, "invalid_number", **outcome_literal(b"NaN")),
    Http("feedback/outcome_huge_integer", "POST", F, 422, "validation", ("(number)",), **outcome_literal(b"1" + b"0" * 400)),  # noqa: E501
    Http("feedback/outcome_5000_digits", "POST", F, 400, "invalid_number", **outcome_literal(b"9" * 5000)),  # noqa: E501
    Http("feedback/outcome_lone_surrogate", "POST", F, 400, "invalid_unicode", ("outcome",), content=lambda r: json.dumps({"prediction_id": r[PID], "outcome": "\udfff"}).encode(), headers=JSON_TYPE, predict_first=True),  # noqa: E501
    Http("feedback/id_lone_surrogate", "POST", F, 400, "invalid_unicode", ("prediction_id",), **escaped(lambda r: {"prediction_id": "\udfff", "outcome": "benign"})),  # noqa: E501
    Http("feedback/deep_nesting", "POST", F, 400, "too_deep", **raw(DEEP)),
    Http("feedback/chunked_body_too_large", "POST", F, 413, "too_large", ("50000 bytes",), **CHUNKED),  # noqa: E501
    # --- other routes --------------------------------------------------------------------
    Http("health/post", "POST", "/health", 405, "method_not_allowed"),
    Http("ready/post", "POST", "/ready", 405, "method_not_allowed"),
    Http("metrics/post", "POST", "/metrics", 405, "method_not_allowed"),
    Http("model/post", "POST", "/model", 405, "method_not_allowed"),
    Http("admin_reload/get", "GET", "/admin/reload", 405, "method_not_allowed"),
    Http("unknown_route", "GET", "/nope", 404, "not_found"),
    Http("path_traversal", "GET", "/..%2F..%2Fetc%2Fpasswd", 404, "not_found"),
    # a chunked body is counted on every route, whether it reads a body or not
    Http("model/chunked_body_too_large", "GET", "/model", 413, "too_large", **CHUNKED),
    Http("health/chunked_body_too_large", "GET", "/health", 413, "too_large", **CHUNKED),
    Http("ready/chunked_body_too_large", "GET", "/ready", 413, "too_large", **CHUNKED),
    Http("metrics/chunked_body_too_large", "GET", "/metrics", 413, "too_large", **CHUNKED),
    Http("admin_reload/chunked_body_too_large", "POST", "/admin/reload", 413, "too_large", **CHUNKED),  # noqa: E501
    Http("unknown_route/chunked_body_too_large", "POST", "/nope", 413, "too_large", **CHUNKED),
    # --- a service whose model cannot be loaded ------------------------------------------
    Http("not_ready/ready", "GET", "/ready", 503, None, ("does/not/exist",), **NOT_READY),
    Http("not_ready/predict", "POST", P, 503, "not_ready", ("does/not/exist",), json=lambda r: r, **NOT_READY),  # noqa: E501
    Http("not_ready/explain", "POST", E, 503, "not_ready", json=lambda r: r, **NOT_READY),
    Http("not_ready/model", "GET", "/model", 503, "not_ready", **NOT_READY),
    Http("not_ready/admin_reload", "POST", "/admin/reload", 503, "reload_failed", ("does/not/exist",), **NOT_READY),  # noqa: E501
    # --- a service behind an API key -----------------------------------------------------
    Http("keyed/no_key", "POST", P, 401, "unauthorized", ("X-API-Key",), json=lambda r: r, **KEYED),
    Http("keyed/wrong_key", "POST", P, 401, "unauthorized", json=lambda r: r, headers={"x-api-key": "wrong"}, **KEYED),  # noqa: E501
    Http("keyed/wrong_bearer", "GET", "/model", 401, "unauthorized", headers={"authorization": "Bearer wrong"}, **KEYED),  # noqa: E501
    Http("keyed/empty_key", "GET", "/metrics", 401, "unauthorized", headers={"x-api-key": ""}, **KEYED),  # noqa: E501
]
# fmt: on

KEY_ENV = "MLCONF_CATALOGUE_KEY"


@pytest.fixture(scope="module")
def services(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One live server (uvicorn on loopback) and two in-process apps."""
    import httpx
    from fastapi.testclient import TestClient
    from serve_helpers import running

    from mlconf.config import ServeConfig
    from mlconf.serve.app import create_app

    logs = tmp_path_factory.mktemp("serve")
    settings = ServeConfig(max_body_bytes=50_000, max_records=20, reload_interval=None)
    live = create_app(str(world.model), settings, f"sqlite:///{logs / 'live.db'}")
    quiet = ServeConfig(reload_interval=None, log_predictions=False)
    not_ready = create_app("does/not/exist", quiet, f"sqlite:///{logs / 'none.db'}")
    os.environ[KEY_ENV] = "s3cret-key-for-the-catalogue"
    try:
        keyed = create_app(
            str(world.model),
            ServeConfig(reload_interval=None, log_predictions=False, api_key_env=KEY_ENV),
            f"sqlite:///{logs / 'keyed.db'}",
        )
    finally:
        del os.environ[KEY_ENV]
    with (
        running(live) as url,
        httpx.Client(base_url=url, timeout=60) as client,
        TestClient(not_ready) as not_ready_client,
        TestClient(keyed) as keyed_client,
    ):
        yield {
            "live": (client, live),
            "live_in_process": (TestClient(live), live),  # the same app and state, no lifespan
            "not_ready": (not_ready_client, not_ready),
            "keyed": (keyed_client, keyed),
        }


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in HTTP_CASES])
def test_http(case: Http, services: dict[str, Any], world: World) -> None:
    from serve_helpers import record

    client, app = services[case.app]
    state = app.state.service
    row = record(world.model)
    if case.predict_first:
        predicted = client.post(P, json=row)
        assert predicted.status_code == 200, predicted.text
        row = {**row, PID: predicted.json()["results"][0]["prediction_id"]}
    kwargs: dict[str, Any] = {"headers": case.headers}
    if case.json is not None:
        kwargs["json"] = case.json(row)
    elif case.content is not None:
        kwargs["content"] = case.content(row) if callable(case.content) else case.content
    plog = state.prediction_log
    queued = plog.queued if plog is not None else 0
    internal = state.metrics.errors.get("internal", 0)

    response = client.request(case.method, case.path, **kwargs)

    text = response.text
    assert response.status_code == case.status, text
    assert response.status_code < 500 or case.status == 503, text
    assert TRACEBACK not in text and "Traceback" not in text, text
    if case.status >= 400:
        body = response.json()
        assert isinstance(body, dict), text
        if case.error is not None:
            assert body.get("error") == case.error, text
        assert body.get("message") or body.get("reason"), text
    for expected in case.expect:
        assert expected in text, f"{expected!r} not in {text}"
    assert state.metrics.errors.get("internal", 0) == internal, "the server logged a 500"
    if plog is not None:
        assert plog.queued - queued == case.logged, "a bad request logged a prediction"


def test_catalogue_size(capsys: pytest.CaptureFixture[str]) -> None:
    """The figure for the issue: how many bad inputs the catalogue tries."""
    ids = [c.id for c in CLI_CASES] + [f"http/{c.id}" for c in HTTP_CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    commands = {c.argv[0] if c.argv else "mlconf" for c in CLI_CASES}
    assert {
        "train",
        "schema",
        "report",
        "models",
        "predict",
        "serve",
        "monitor",
        "init",
        "plugins",
    } <= commands
    with capsys.disabled():
        sys.stdout.write(
            f"\nbad-input catalogue: {len(ids)} bad inputs tried "
            f"({len(CLI_CASES)} CLI, {len(HTTP_CASES)} HTTP)\n"
        )
