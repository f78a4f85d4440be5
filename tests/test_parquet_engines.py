"""Parquet with pyarrow or, on an install without it, fastparquet: the same frames either way,
whichever engine wrote the file."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from parquet_engines import ENGINES

from mlconf.core.errors import MlconfError
from mlconf.store.tables import parquet_engine
from mlconf.store.tables.parquet_engine import (
    file_info,
    frame_bytes,
    iter_frames,
    read_frame,
    write_frame,
)
from mlconf.store.tables.writers import atomic_writer


def sample(index: pd.Index | None = None) -> pd.DataFrame:
    """One column of each dtype mlconf meets in tables (pandas 3 defaults)."""
    return pd.DataFrame(
        {
            "text": pd.Series(["a", None, "c", "d"], dtype="str"),
            "colour": pd.Categorical(["red", "blue", "red", None], categories=["red", "blue"]),
            "size": pd.Categorical(["S", "L", "M", "S"], categories=["S", "M", "L"], ordered=True),
            "when": pd.to_datetime(["2024-01-01", None, "2024-03-01", "2024-04-01"]).tz_localize(
                "Europe/Paris"
            ),
            "naive": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-02 00:00", None, "2024-01-04 08:30"]
            ),
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "n": np.arange(4, dtype="int64"),
            "x": [1.5, np.nan, 2.0, -3.25],
            "flag": [True, False, True, False],
            "maybe": pd.array([True, None, False, True], dtype="boolean"),
        },
        index=index,
    )


INDEXES = {
    "range": None,
    "named ints": pd.Index([10, 11, 12, 13], name="row"),
    "named text": pd.Index(["p", "q", "r", "s"], name="key", dtype="str"),
}


@pytest.mark.parametrize("reader", ENGINES)
@pytest.mark.parametrize("writer", ENGINES)
@pytest.mark.parametrize("index", list(INDEXES))
def test_round_trip_gives_the_same_frame_with_either_engine(
    tmp_path: Path, writer: str, reader: str, index: str
) -> None:
    frame = sample(INDEXES[index])
    path = tmp_path / "t.parquet"
    write_frame(frame, path, engine=writer)
    pd.testing.assert_frame_equal(read_frame(path, engine=reader), frame)
    dropped = tmp_path / "no_index.parquet"
    write_frame(frame, dropped, index=False, engine=writer)
    pd.testing.assert_frame_equal(read_frame(dropped, engine=reader), frame.reset_index(drop=True))


@pytest.mark.parametrize("engine", ENGINES)
def test_columns_footer_and_chunks(tmp_path: Path, engine: str) -> None:
    frame = sample()
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)  # a file from elsewhere: written by pyarrow
    assert read_frame(path, {"columns": ["n", "text"]}, engine=engine).columns.tolist() == [
        "n",
        "text",
    ]
    info = file_info(path, engine=engine)
    assert (info.columns, info.num_rows) == (list(frame.columns), 4)
    chunks = list(iter_frames(path, 3, engine=engine))
    assert [len(c) for c in chunks] == [3, 1]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), frame)


def test_bytes_round_trip(parquet_engine_in_use: str) -> None:
    frame = sample()
    data = frame_bytes(frame, index=False)
    assert data[:4] == b"PAR1"
    pd.testing.assert_frame_equal(read_frame(io.BytesIO(data)), frame)


def test_streaming_writer_casts_later_chunks_to_the_first(
    tmp_path: Path, parquet_engine_in_use: str
) -> None:
    target = tmp_path / "out.parquet"
    first = pd.DataFrame({"row": [1, 2], "note": [None, None], "p": [0.5, 0.25]})
    later = pd.DataFrame({"row": [3], "note": ["late"], "p": [1]})  # int where float was
    with atomic_writer(target, "parquet", ["row", "note", "p"]) as writer:
        writer.write(first)
        writer.write(later)
    for reader in ENGINES:
        out = read_frame(target, engine=reader)
        assert out["note"].dtype == "str" and out["p"].dtype == "float64"
        assert out["note"].isna().tolist() == [True, True, False]
        assert out["p"].tolist() == [0.5, 0.25, 1.0]


def test_fastparquet_is_chosen_without_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parquet_engine.parquet_engine() == "pyarrow"  # the test install has it
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an install without it
    assert parquet_engine.parquet_engine() == "fastparquet"
    with pytest.raises(MlconfError, match="needs pyarrow") as info:
        parquet_engine.require_pyarrow("data.engine=dask")
    assert "mlconf-tabular[scale]" in (info.value.fix or "")


def test_neither_engine_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "fastparquet", None)
    with pytest.raises(MlconfError, match="neither pyarrow nor fastparquet") as info:
        parquet_engine.parquet_engine()
    assert "pip install fastparquet" in (info.value.fix or "")


def test_not_parquet_is_worded_the_same(tmp_path: Path, parquet_engine_in_use: str) -> None:
    from mlconf.store.tables.parquet_reader import parquet_metadata

    bad = tmp_path / "bad.parquet"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(MlconfError, match="magic bytes not found"):
        parquet_metadata(bad)


NO_PYARROW = """
import sys
sys.modules["pyarrow"] = None  # as on an install without pyarrow: before pandas is imported
from pathlib import Path
import pandas as pd
from mlconf.components.sources import parquet
from mlconf.core.regex_rules import engine_of, full_matches
from mlconf.store.tables.parquet_engine import parquet_engine
from mlconf.store.tables.parquet_reader import iter_parquet
from mlconf.store.tables.writers import atomic_writer

folder = Path(sys.argv[1])
assert parquet_engine() == "fastparquet"
frame = parquet(str(folder / "in.parquet"))  # written by pyarrow in the test process
assert str(frame["text"].dtype) == "str" and frame["text"].dtype.storage == "python"
assert [len(c) for c in iter_parquet(folder / "in.parquet", 3)] == [3, 1]
with atomic_writer(folder / "out.parquet", "parquet", list(frame.columns)) as writer:
    for chunk in iter_parquet(folder / "in.parquet", 3):
        writer.write(chunk)
assert engine_of(r"[a-z]+") == "re2" and engine_of(r"(?=a)a") == "backtracking"
assert full_matches(r"[a-c]", ["a", "ab", "d", None]).matched == [True, False, False, False]
print(frame.dtypes.astype(str).to_dict())
"""


def test_an_install_without_pyarrow_reads_writes_and_matches(tmp_path: Path) -> None:
    """In a process where pyarrow cannot be imported at all (fails on the old code, which
    imported pyarrow for every Parquet file and every regex rule)."""
    frame = sample()
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    done = subprocess.run(
        [sys.executable, "-c", NO_PYARROW, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "'colour': 'category'" in done.stdout and "'count': 'Int64'" in done.stdout
    pd.testing.assert_frame_equal(read_frame(tmp_path / "out.parquet"), frame)


def test_retrain_data_file_reads_back_as_the_training_source(
    tmp_path: Path, parquet_engine_in_use: str
) -> None:
    """What `retrain` writes beside its run (write_with + write_frame) and what the
    challenger's training reads (the parquet source)."""
    from mlconf.components.sources import parquet
    from mlconf.store.atomic import write_with

    combined = sample()
    data_file = tmp_path / "retrain_data.parquet"
    write_with(data_file, lambda p: write_frame(combined, p, index=False))
    pd.testing.assert_frame_equal(parquet(str(data_file)), combined)
