"""Formats by name and the checks on files before they are read or written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlconf.core.errors import MlconfError
from mlconf.store.tables.files import existing_file, matching_files, writable_target
from mlconf.store.tables.formats import COMPRESSIONS, format_of, suffixes


def test_partition_files_skip_hidden_folders_and_a_bracketed_name_is_one_file(
    tmp_path: Path,
) -> None:
    single = tmp_path / "export [2024].csv"
    single.write_text("a\n1\n")
    parts = tmp_path / "parts"
    for name in ("a.parquet", "_temporary/x.parquet", ".ipynb_checkpoints/y.parquet", "_z"):
        (parts / name).parent.mkdir(parents=True, exist_ok=True)
        (parts / name).write_text("")
    assert matching_files(str(single)) is None  # read as the single file it is
    assert matching_files(str(parts)) == [parts / "a.parquet"]


@pytest.mark.parametrize(
    ("name", "compressions", "fmt"),
    [
        ("a.csv", (), "csv"),
        ("A.CSV", (), "csv"),
        ("a.b.parquet", (), "parquet"),
        ("part-0.pq", (), "parquet"),
        ("a.csv.gz", (), None),
        ("a.csv.gz", COMPRESSIONS, "csv"),
        ("a.csv.zst", COMPRESSIONS, "csv"),
        ("a.csv.zst", (".gz",), None),
        ("a.parquet.gz", COMPRESSIONS, None),
        ("a.xlsx", COMPRESSIONS, None),
        (".csv", (), None),  # a hidden file's whole name is not a suffix
    ],
)
def test_format_of_a_name(name: str, compressions: tuple[str, ...], fmt: str | None) -> None:
    assert format_of(name, compressions) == fmt


def test_suffixes_compress_only_csv() -> None:
    assert suffixes("csv", (".gz",)) == (".csv", ".csv.gz")
    assert suffixes("parquet", (".gz",)) == (".parquet", ".pq")


def test_existing_file_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(MlconfError, match="needs a `path`"):
        existing_file(None, "csv")
    with pytest.raises(MlconfError, match="does not exist"):
        existing_file(str(tmp_path / "nope.csv"), "csv")
    with pytest.raises(MlconfError, match="is a folder, not a csv file"):
        existing_file(str(tmp_path), "csv")
    assert existing_file(str(tmp_path), "parquet") == tmp_path  # a folder of parts
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(MlconfError, match="is empty"):
        existing_file(str(tmp_path / "empty.csv"), "csv")


def test_writable_target_refuses_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(MlconfError, match="is a folder") as info:
        writable_target(tmp_path, False, "output=")
    assert info.value.where == "output="
    target = tmp_path / "out.csv"
    target.write_text("precious")
    with pytest.raises(MlconfError, match="already exists"):
        writable_target(target, False, "output=")
    writable_target(target, True, "output=")
    assert target.read_text() == "precious"
    with pytest.raises(MlconfError, match="cannot create the folder"):
        writable_target(target / "sub" / "x.csv", True, "output=")
    writable_target(tmp_path / "new" / "x.csv", False, "output=")
    assert (tmp_path / "new").is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_writable_target_in_a_locked_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(MlconfError, match="not writable"):
            writable_target(locked / "out.csv", False, "quarantine=")
    finally:
        locked.chmod(0o700)
