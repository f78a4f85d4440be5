"""Names that become folders or registry keys: what is refused, and that nothing escapes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from helpers import cli, output_of
from hypothesis import given, settings
from hypothesis import strategies as st

from mlconf.core.errors import MlconfError
from mlconf.core.names import MAX_LENGTH, check_name, check_path, inside, name_problem
from mlconf.store.model_registry import ModelRegistry, parse_ref

GOOD = ["churn", "cars-v2", "my_model.1", "production", "Ünïcødé", "a" * MAX_LENGTH, "a b"]
BAD = [
    ("", "is empty"),
    ("   ", "is empty"),
    ("..", "refers to a folder"),
    (".", "refers to a folder"),
    ("~", "refers to a folder"),
    ("../evil", "contains '/'"),
    ("a/b", "contains '/'"),
    ("a\\b", "contains '\\\\'"),
    ("..\\evil", "contains '\\\\'"),
    ("/etc/passwd", "absolute path"),
    ("C:\\Windows", "absolute path"),
    ("a\x00b", "NUL byte"),
    ("a\nb", "control character"),
    (" padded ", "leading or trailing spaces"),
    ("a" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH}"),
]


@pytest.mark.parametrize("name", GOOD)
def test_plain_names_are_accepted(name: str) -> None:
    assert check_name(name, "config key experiment_name") == name


@pytest.mark.parametrize(("name", "problem"), BAD)
def test_bad_names_are_refused_with_the_key(name: str, problem: str) -> None:
    with pytest.raises(MlconfError) as info:
        check_name(name, "config key experiment_name", kind="experiment name")
    assert problem in str(info.value)
    assert info.value.where == "config key experiment_name"
    assert "Fix:" in str(info.value)
    assert "\x00" not in str(info.value)  # repr shows it escaped


@pytest.mark.parametrize("name", ["a@b", "a:b"])
def test_registry_names_refuse_ref_separators(name: str) -> None:
    with pytest.raises(MlconfError, match="not allowed in a name"):
        check_name(name, "config key deploy.model_name", forbidden="@:")


@pytest.mark.parametrize(
    "ref", ["../evil", "../evil@production", "churn@../x", "a\x00b:1", "x" * 300]
)
def test_model_references_refuse_bad_names(ref: str) -> None:
    with pytest.raises(MlconfError, match="model reference"):
        parse_ref(ref)


def test_registry_refuses_a_bad_alias(tmp_path: Path) -> None:
    registry = ModelRegistry(f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.raises(MlconfError, match=re.escape("alias '../prod'")):
        registry.promote("churn", 1, "../prod")


@given(st.text(max_size=MAX_LENGTH + 20))
@settings(max_examples=300, deadline=None)
def test_any_accepted_name_stays_under_its_root(name: str) -> None:
    root = Path("/srv/mlconf/experiments")
    if name_problem(name) is not None:
        with pytest.raises(MlconfError):
            inside(root, name, where="k")
        return
    path = inside(root, name, "runs", where="k")
    assert Path(os.path.normpath(path)).is_relative_to(root)
    assert path.parent.parent == root


def test_inside_refuses_a_link_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "experiments"
    root.mkdir()
    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(MlconfError, match="outside"):
        inside(root, "escape", "x", where="the model name")


@pytest.mark.parametrize(("path", "problem"), [("", "empty"), ("out\x00dir", "NUL")])
def test_check_path_refuses_what_the_os_mishandles(path: str, problem: str) -> None:
    with pytest.raises(MlconfError, match=problem):
        check_path(path, "the export folder (DIR)")
    assert check_path("/tmp/bundle", "k") == Path("/tmp/bundle")


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.mark.parametrize("name", ["../evil", "/tmp/evil", "..", "a" * (MAX_LENGTH + 1), "sub/dir"])
def test_train_refuses_a_bad_experiment_name_and_writes_nothing(tmp_path: Path, name: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    before = _files(tmp_path)
    proc = cli(["train", "data=breast_cancer", f"experiment_name={name}"], cwd=work)
    out = output_of(proc)
    assert proc.returncode == 2, out
    assert "config key experiment_name" in out
    assert "Traceback" not in out
    assert _files(tmp_path) == before


def test_train_refuses_a_bad_model_name(tmp_path: Path) -> None:
    proc = cli(["train", "data=breast_cancer", "deploy.model_name=a@b"], cwd=tmp_path)
    out = output_of(proc)
    assert proc.returncode == 2, out
    assert "config key deploy.model_name" in out


def test_models_export_refuses_a_nul_folder(tmp_path: Path) -> None:
    from mlconf.deploy.export import export_bundle

    registry = ModelRegistry(f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.raises(MlconfError, match="NUL"):
        export_bundle(registry, "churn", 1, Path("bad\x00dir"))
