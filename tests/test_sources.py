"""Data sources: CSV, Parquet and SQL read right, join on keys, fingerprint what they read,
and turn every broken input into one clear MlconfError."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import csv_data, quiet_console, run_train

from mlconf.components.sources import csv, parquet, sql
from mlconf.config import DataConfig, ModelConfig, ProblemConfig, SourceConfig, TrainConfig
from mlconf.core.errors import MlconfError
from mlconf.run_state import RunState
from mlconf.runner import run
from mlconf.stages.load import load
from mlconf.store.runs import RunRecord


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
            "age": [25, 41, 37, 58, 19, 33],
            "churned": ["yes", "no", "no", "yes", "no", "yes"],
        }
    )


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    """A real SQLite file with an orders table (several rows per customer)."""
    path = tmp_path / "shop.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (customer_id TEXT, amount REAL)"))
        conn.execute(
            sa.text("INSERT INTO orders VALUES (:c, :a)"),
            [
                {"c": "c1", "a": 10.0},
                {"c": "c1", "a": 5.5},
                {"c": "c2", "a": 99.0},
                {"c": "c4", "a": 1.0},
                {"c": "c4", "a": 2.0},
                {"c": "c4", "a": 3.0},
            ],
        )
    engine.dispose()
    return path


ORDERS_QUERY = (
    "SELECT customer_id, COUNT(*) AS n_orders, SUM(amount) AS spend "
    "FROM orders GROUP BY customer_id"
)


# --- reading ----------------------------------------------------------------------------------


def test_csv_reads_with_options(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("a;b\n1;x\n2;y\n")
    frame = csv(str(path), {"sep": ";"})
    assert list(frame.columns) == ["a", "b"]
    assert frame["a"].tolist() == [1, 2]


def test_parquet_round_trip(
    tmp_path: Path, customers: pd.DataFrame, parquet_engine_in_use: str
) -> None:
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path, engine="pyarrow", index=False)
    frame = parquet(str(path))
    pd.testing.assert_frame_equal(frame, customers, check_dtype=False)


def test_parquet_folder_of_files(
    tmp_path: Path, customers: pd.DataFrame, parquet_engine_in_use: str
) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    customers.iloc[:3].to_parquet(folder / "part-0.parquet", index=False)
    customers.iloc[3:].to_parquet(folder / "part-1.parquet", index=False)
    frame = parquet(str(folder))
    assert sorted(frame["customer_id"]) == sorted(customers["customer_id"])


def test_sql_query_on_a_real_sqlite_file(shop_db: Path) -> None:
    frame = sql(url=f"sqlite:///{shop_db}", query=ORDERS_QUERY)
    by_id = frame.set_index("customer_id")
    assert by_id.loc["c1", "n_orders"] == 2
    assert by_id.loc["c4", "spend"] == pytest.approx(6.0)
    assert len(frame) == 3


def test_sql_needs_url_and_query() -> None:
    with pytest.raises(MlconfError, match="needs both `url` and `query`"):
        sql(url="sqlite:///x.db")


def test_csv_with_bom_and_crlf_loads_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffid,name,score\r\n1,Ann,0.5\r\n2,Bö,1.5\r\n".encode())
    frame = csv(str(path))
    assert list(frame.columns) == ["id", "name", "score"]
    assert frame["id"].tolist() == [1, 2]
    assert frame["name"].tolist() == ["Ann", "Bö"]
    assert frame["score"].tolist() == [0.5, 1.5]
    assert not any("\r" in str(v) for v in frame.to_numpy().ravel())


def test_latin1_csv_fails_clearly_and_reads_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("city,n\nKöln,1\nZürich,2\n".encode("latin-1"))
    with pytest.raises(MlconfError) as info:
        csv(str(path))
    assert "not text in utf-8" in str(info.value)
    assert "options.encoding" in str(info.value)
    assert csv(str(path), {"encoding": "latin-1"})["city"].tolist() == ["Köln", "Zürich"]


# --- errors -----------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MlconfError) as info:
        csv(str(tmp_path / "nope.csv"))
    assert "nope.csv' does not exist" in str(info.value)


def test_source_without_path() -> None:
    with pytest.raises(MlconfError, match="needs a `path`"):
        csv(None)


def test_empty_csv(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(MlconfError, match=r"is empty \(0 bytes\)"):
        csv(str(path))


def test_whitespace_only_csv(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n")
    with pytest.raises(MlconfError, match="has no columns or rows"):
        csv(str(path))


def test_ragged_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(MlconfError) as info:
        csv(str(path))
    assert "not well-formed CSV" in str(info.value)
    assert "line 3" in str(info.value)


def test_folder_given_as_csv(tmp_path: Path) -> None:
    with pytest.raises(MlconfError, match="is a folder"):
        csv(str(tmp_path))


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "absent.db"
    with pytest.raises(MlconfError) as info:
        sql(url=f"sqlite:///{db}", query="SELECT 1")
    assert "absent.db' does not exist" in str(info.value)
    assert not db.exists()
    assert list(tmp_path.iterdir()) == []


def test_query_on_a_missing_table(shop_db: Path) -> None:
    """An mlconf error (not the driver's) that names the database, the table and the fix."""
    with pytest.raises(MlconfError) as info:
        sql(url=f"sqlite:///{shop_db}", query="SELECT * FROM customers")
    message = str(info.value)
    assert f"the query failed on sqlite:///{shop_db}" in message
    assert "no such table: customers" in message
    assert "Fix: check the table and column names in `query`" in message


def test_not_a_database_url() -> None:
    with pytest.raises(MlconfError, match="is not a database URL"):
        sql(url="not a url", query="SELECT 1")


def test_empty_parquet(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    path.write_bytes(b"")
    with pytest.raises(MlconfError, match=r"is empty \(0 bytes\)"):
        parquet(str(path))


def test_corrupt_parquet(tmp_path: Path, parquet_engine_in_use: str) -> None:
    path = tmp_path / "corrupt.parquet"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(MlconfError, match="cannot be read as Parquet"):
        parquet(str(path))


# --- the load stage: joins and fingerprints ---------------------------------------------------


def multi_source_config(tmp_path: Path, customers: pd.DataFrame, shop_db: Path) -> TrainConfig:
    main = tmp_path / "customers.csv"
    customers.to_csv(main, index=False)
    profile = tmp_path / "profile.parquet"
    pd.DataFrame(
        {"customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"], "tenure": range(6)}
    ).to_parquet(profile, index=False)
    return TrainConfig(
        experiment_name="shop",
        stages=["load"],
        data=DataConfig(
            name="shop",
            id_columns=["customer_id"],
            sources={
                "main": SourceConfig(kind="csv", path=str(main)),
                "profile": SourceConfig(
                    kind="parquet", path=str(profile), join_on=["customer_id"], how="inner"
                ),
                "orders": SourceConfig(
                    kind="sql",
                    url=f"sqlite:///{shop_db}",
                    query=ORDERS_QUERY,
                    join_on=["customer_id"],
                    how="left",
                ),
            },
        ),
        problem=ProblemConfig(task="classification", target="churned", primary_metric="f1"),
        model=ModelConfig(name="dummy"),
    )


def context_for(conf: TrainConfig, run_dir: Path) -> RunState:
    run_dir.mkdir(parents=True, exist_ok=True)
    record = RunRecord(run_dir=run_dir, experiment=conf.experiment_name, seed=conf.seed)
    return RunState(conf=conf, run_dir=run_dir, record=record, console=quiet_console())


def test_several_sources_join_on_keys(
    tmp_path: Path, customers: pd.DataFrame, shop_db: Path
) -> None:
    conf = multi_source_config(tmp_path, customers, shop_db)
    ctx = context_for(conf, tmp_path / "run")
    load(ctx)
    frame = ctx.frame
    assert len(frame) == len(customers)
    assert set(frame.columns) == {"customer_id", "age", "churned", "tenure", "n_orders", "spend"}
    by_id = frame.set_index("customer_id")
    assert by_id.loc["c1", "n_orders"] == 2
    assert by_id.loc["c4", "spend"] == pytest.approx(6.0)
    assert by_id.loc["c6", "tenure"] == 5
    assert np.isnan(by_id.loc["c3", "n_orders"])  # left join: no orders
    assert ctx.record.counts["rows_loaded"] == 6


def test_run_record_fingerprints_every_source(
    tmp_path: Path, customers: pd.DataFrame, shop_db: Path
) -> None:
    conf = multi_source_config(tmp_path, customers, shop_db)
    result = run(conf, run_dir=tmp_path / "run", console=quiet_console())
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["status"] == "succeeded"
    prints = record["fingerprints"]
    assert set(prints) == {"main", "profile", "orders"}
    assert prints["main"]["sha256"] == sha256_of(tmp_path / "customers.csv")
    assert prints["profile"]["sha256"] == sha256_of(tmp_path / "profile.parquet")
    assert prints["main"]["kind"] == "csv"
    assert prints["main"]["rows"] == 6
    assert prints["main"]["columns"] == 3
    assert prints["orders"]["kind"] == "sql"
    assert prints["orders"]["rows"] == 3
    assert len(prints["orders"]["sha256"]) == 64
    assert prints["orders"]["location"] == f"sqlite:///{shop_db}"


def test_sql_fingerprint_follows_the_rows(
    tmp_path: Path, customers: pd.DataFrame, shop_db: Path
) -> None:
    conf = multi_source_config(tmp_path, customers, shop_db)
    first = run(conf, run_dir=tmp_path / "a", console=quiet_console()).record.fingerprints
    engine = sa.create_engine(f"sqlite:///{shop_db}")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO orders VALUES ('c5', 7.0)"))
    engine.dispose()
    second = run(conf, run_dir=tmp_path / "b", console=quiet_console()).record.fingerprints
    assert first["main"]["sha256"] == second["main"]["sha256"]
    assert first["orders"]["sha256"] != second["orders"]["sha256"]


def test_join_with_duplicate_keys_is_refused(tmp_path: Path, customers: pd.DataFrame) -> None:
    main = tmp_path / "main.csv"
    customers.to_csv(main, index=False)
    extra = tmp_path / "extra.csv"
    extra.write_text("customer_id,x\nc1,1\nc1,2\n")
    conf = TrainConfig(
        data=DataConfig(
            name="dup",
            sources={
                "main": SourceConfig(kind="csv", path=str(main)),
                "extra": SourceConfig(kind="csv", path=str(extra), join_on=["customer_id"]),
            },
        ),
        problem=ProblemConfig(task="classification", target="churned", primary_metric="f1"),
    )
    with pytest.raises(MlconfError) as info:
        load(context_for(conf, tmp_path / "run"))
    assert "several rows for some join keys" in str(info.value)
    assert "data.sources.extra.join_on" in str(info.value)


def test_join_on_a_missing_key_names_it(tmp_path: Path, customers: pd.DataFrame) -> None:
    main = tmp_path / "main.csv"
    customers.to_csv(main, index=False)
    extra = tmp_path / "extra.csv"
    extra.write_text("customer,x\nc1,1\n")
    conf = TrainConfig(
        data=DataConfig(
            name="nokey",
            sources={
                "main": SourceConfig(kind="csv", path=str(main)),
                "extra": SourceConfig(kind="csv", path=str(extra), join_on=["customer_id"]),
            },
        ),
        problem=ProblemConfig(task="classification", target="churned", primary_metric="f1"),
    )
    with pytest.raises(MlconfError) as info:
        load(context_for(conf, tmp_path / "run"))
    assert "join key 'customer_id' is not a column of source 'extra'" in str(info.value)
    assert "Did you mean 'customer'?" in str(info.value)


def test_source_error_names_the_source(tmp_path: Path) -> None:
    conf = TrainConfig(
        data=DataConfig(
            name="x", sources={"main": SourceConfig(kind="csv", path=str(tmp_path / "nope.csv"))}
        ),
        problem=ProblemConfig(task="classification", target="y", primary_metric="f1"),
    )
    with pytest.raises(MlconfError) as info:
        load(context_for(conf, tmp_path / "run"))
    assert str(info.value).startswith("data.sources.main: ")


def test_duplicate_csv_header_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dupes.csv"
    path.write_text("a,a,y\n1,2,x\n3,4,z\n")
    conf = TrainConfig(
        data=DataConfig(name="d", sources={"main": SourceConfig(kind="csv", path=str(path))}),
        problem=ProblemConfig(task="classification", target="y", primary_metric="f1"),
    )
    with pytest.raises(MlconfError, match="duplicate column names: a"):
        load(context_for(conf, tmp_path / "run"))


# --- column names with spaces and unicode, end to end -----------------------------------------


def unicode_frame(n: int = 160, names: tuple[str, str, str] | None = None) -> pd.DataFrame:
    temperature, city, price = names or ("température (°C)", "ville name", "prix €")
    rng = np.random.default_rng(1)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            temperature: x,
            city: rng.choice(["Zürich", "Köln", "東京"], n),
            price: rng.normal(size=n),
            "résultat": np.where(x + rng.normal(scale=0.5, size=n) > 0, "oui", "non"),
        }
    )


def test_spaces_and_unicode_in_column_names_work_end_to_end(tmp_path: Path) -> None:
    import mlconf

    frame = unicode_frame()
    path = tmp_path / "données.csv"
    frame.to_csv(path, index=False)
    result = run_train(
        [
            *csv_data(path, name="unicode"),
            "problem.target='résultat'",
            "problem.positive_class=oui",
            "model.params.n_estimators=20",
            "metrics.bootstrap=0",
        ],
        tmp_path / "run",
    )
    assert result.record.status == "succeeded"
    model = mlconf.load_model(result.model_dir)
    assert model.input_columns == ["température (°C)", "ville name", "prix €"]
    assert set(model.predict(frame.head(20))) <= {"oui", "non"}
    split = pd.read_csv(result.run_dir / "data" / "split.csv")
    assert len(split) == len(frame)


def test_brackets_in_column_names_work_with_the_default_model(tmp_path: Path) -> None:
    frame = unicode_frame(names=("weight [kg]", "city", "ratio <1>"))
    path = tmp_path / "brackets.csv"
    frame.to_csv(path, index=False)
    result = run_train(
        [
            *csv_data(path, name="brackets"),
            "problem.target='résultat'",
            "problem.positive_class=oui",
            "model.params.n_estimators=20",
            "metrics.bootstrap=0",
        ],
        tmp_path / "run",
    )
    assert result.record.status == "succeeded"


def test_database_passwords_are_not_recorded() -> None:
    from mlconf.core.secrets import mask_url as _safe_url

    shown = _safe_url("postgresql://analyst:s3cret@db.internal:5432/shop")
    assert shown is not None
    assert "s3cret" not in shown
    assert shown.startswith("postgresql://analyst:")
    assert shown.endswith("@db.internal:5432/shop")
