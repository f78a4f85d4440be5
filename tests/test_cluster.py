"""A Dask cluster: `cluster=local` / `cluster.address`, `model=xgboost_dask`, batch scoring and
drift on the workers. One LocalCluster (two worker processes on loopback, started through
`cluster: local`'s own code) serves every test here: starting one takes seconds."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import FAST, cli, csv_data, output_of, quiet_console, run_train
from partitions import PROBLEM, partition_table, write_parts

from mlconf.components.cluster import cluster_client, parse_cluster, require_distributed
from mlconf.config import ClusterConfig
from mlconf.core.errors import MlconfError

pytest.importorskip("distributed")

QUICK = [*FAST, "explore.enabled=false", "report.enabled=false", "explain.n_repeats=1"]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    conf = ClusterConfig(kind="local", n_workers=2, threads_per_worker=1, dashboard_address=None)
    with cluster_client(conf) as started:
        yield started


@pytest.fixture(scope="module")
def address(client: Any) -> str:
    return str(client.scheduler.address)


@pytest.fixture(scope="module")
def trained(address: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`mlconf train model=xgboost_dask` on breast_cancer, trained on the shared cluster."""
    folder = tmp_path_factory.mktemp("train")
    return run_train(["model=xgboost_dask", f"cluster.address={address}", *QUICK], folder / "run")


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """breast_cancer's rows as a CSV, with two rows that fail the schema and a shifted column."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.drop(columns=["target"])
    frame["mean radius"] = frame["mean radius"] * 1.3
    frame = frame.astype({"worst area": object})
    frame.loc[[3, 200], "worst area"] = "not a number"
    path = tmp_path_factory.mktemp("rows") / "rows.csv"
    frame.to_csv(path, index=False)
    return path


def test_training_on_the_cluster_saves_an_ordinary_xgboost_model(trained: Any) -> None:
    import xgboost as xgb

    from mlconf.store.artifacts import load_model

    assert trained.record.status == "succeeded"
    assert trained.metrics["test"]["model"]["roc_auc"]["value"] > 0.95
    model = load_model(trained.model_dir)
    final = model.pipeline.steps[-1][1]
    assert type(final) is xgb.XGBClassifier  # not the cluster-training subclass
    assert model.manifest["model"]["name"] == "xgboost_dask"
    # exact TreeSHAP through xgboost, without a cluster: contributions sum to the margin
    x = model.pipeline[:-1].transform(model.background)
    matrix = xgb.DMatrix(x, enable_categorical=True)
    contributions = final.get_booster().predict(matrix, pred_contribs=True)
    margin = final.get_booster().predict(matrix, output_margin=True)
    np.testing.assert_allclose(contributions.sum(axis=1), margin, rtol=1e-4, atol=1e-4)


def test_mlconf_predict_scores_the_model_without_a_cluster(
    trained: Any, rows: Path, tmp_path: Path
) -> None:
    from mlconf.store.artifacts import load_model

    out = tmp_path / "scored.csv"
    proc = cli(["predict", f"model={trained.model_dir}", f"input={rows}", f"output={out}"])
    assert proc.returncode == 0, output_of(proc)
    scored = pd.read_csv(out)
    assert len(scored) == 567  # 569 rows, two quarantined
    frame = pd.read_csv(rows).drop(index=[3, 200])
    frame["worst area"] = frame["worst area"].astype(float)
    expected = load_model(trained.model_dir).predict(frame)
    assert [str(v) for v in scored["prediction"]] == [str(v) for v in expected]


def test_dask_engine_partitions_train_on_the_workers(address: str, tmp_path: Path) -> None:
    """data.engine=dask + model=xgboost_dask: the workers read the training part files."""
    folder = write_parts(partition_table(), tmp_path / "parts", 4)
    console = quiet_console()
    result = run_train(
        [
            *csv_data(folder, kind="parquet"),
            *PROBLEM,
            *QUICK,
            "data.engine=dask",
            "data.sample_rows=300",
            "model=xgboost_dask",
            "model.params.early_stopping_rounds=5",
            f"cluster.address={address}",
            "stages=[load,validate,prepare,split,train,evaluate,save]",
        ],
        tmp_path / "run",
        console,
    )
    assert "the cluster's workers read" in console.export_text()
    assert result.record.status == "succeeded"
    assert result.metrics["test"]["model"]["roc_auc"]["value"] > 0.8
    import xgboost as xgb

    from mlconf.store.artifacts import load_model

    assert type(load_model(result.model_dir).pipeline[-1]) is xgb.XGBClassifier


def test_xgboost_dask_passes_the_component_conformance_checks(client: Any) -> None:
    from mlconf.testing import check_component

    passed = check_component("model", "xgboost_dask")
    assert passed and all(p.startswith("model") for p in passed)


def test_cluster_predictions_are_close_to_plain_xgboost(client: Any) -> None:
    import dask.dataframe as dd
    from sklearn.datasets import load_breast_cancer, load_diabetes

    from mlconf.components.models import xgboost, xgboost_dask

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    params = {"n_estimators": 20, "max_depth": 3, "learning_rate": 0.3, "random_state": 0}
    plain = xgboost("classification", **params).fit(x, y)
    on_cluster = xgboost_dask("classification", **params).fit(x, y)
    np.testing.assert_allclose(on_cluster.predict_proba(x), plain.predict_proba(x), atol=0.05)
    assert (on_cluster.predict(x) == plain.predict(x)).mean() > 0.98
    # a dask frame is trained on as it comes, with the target in memory or as a dask series
    lazy = dd.from_pandas(x, npartitions=3)
    for target in (y.to_numpy(), dd.from_pandas(y, npartitions=3)):
        fitted = xgboost_dask("classification", **params).fit(lazy, target)
        assert (fitted.predict(x) == plain.predict(x)).mean() > 0.98
    xr, yr = load_diabetes(return_X_y=True, as_frame=True)
    reg = xgboost_dask("regression", **params).fit(xr, yr)
    plain_reg = xgboost("regression", **params).fit(xr, yr)
    assert np.corrcoef(reg.predict(xr), plain_reg.predict(xr))[0, 1] > 0.99
    assert type(reg.as_plain_estimator()).__name__ == "XGBRegressor"


def test_batch_scoring_on_the_cluster_equals_local(
    trained: Any, rows: Path, address: str, tmp_path: Path
) -> None:
    from mlconf.deploy.batch import predict_file

    outputs = {}
    for name, cluster in (("local", None), ("cluster", address)):
        out = tmp_path / f"{name}.csv"
        summary = predict_file(
            str(trained.model_dir),
            str(rows),
            out,
            chunk_rows=200,
            registry_url=f"sqlite:///{tmp_path / 'r.db'}",
            cluster=cluster,
        )
        assert (summary.rows, summary.scored, summary.quarantined) == (569, 567, 2)
        assert summary.chunks == 3
        scored = pd.read_csv(out).drop(columns=["scored_at"])
        outputs[name] = (scored, Path(f"{out}.quarantine.csv").read_text())
    pd.testing.assert_frame_equal(outputs["local"][0], outputs["cluster"][0])
    assert outputs["local"][1] == outputs["cluster"][1]


def test_drift_on_the_cluster_equals_local(
    trained: Any, rows: Path, address: str, tmp_path: Path
) -> None:
    from mlconf.monitoring.command import run_monitor

    drifts = []
    for name, settings in (("local", {}), ("cluster", {"cluster": address})):
        result = run_monitor(
            str(trained.model_dir),
            registry_url=f"sqlite:///{tmp_path / 'r.db'}",
            current=rows,
            out_dir=tmp_path / name,
            settings=settings,
        )
        drifts.append(result.summary["drift"])
    assert drifts[0] == drifts[1]
    assert "mean radius" in drifts[0]["drifted"]


@pytest.mark.parametrize("parts", [1, 2, 5])
def test_partitioned_drift_values_equal_the_whole_frames(parts: int) -> None:
    from mlconf.monitoring.drift import column_values, combine_values

    rng = np.random.default_rng(parts)
    frame = pd.DataFrame(
        {
            "num": rng.normal(size=40),
            "cat": rng.choice(["a", "b", "c", None], size=40),
            "gone": [None] * 40,
        }
    )
    frame.loc[:4, "num"] = np.nan
    profiles = {
        "num": {"kind": "numeric"},
        "cat": {"kind": "categorical"},
        "gone": {"kind": "categorical"},
    }
    whole = column_values(frame, profiles)
    bounds = np.linspace(0, len(frame), parts + 1).astype(int)
    pieces = [column_values(frame.iloc[a:b], profiles) for a, b in itertools.pairwise(bounds)]
    combined = combine_values(profiles, pieces)
    np.testing.assert_array_equal(combined["num"], whole["num"])
    for column in ("cat", "gone"):
        assert list(combined[column]) == list(whole[column])
        assert list(combined[column].categories) == list(whole[column].categories)


def test_an_unreachable_address_fails_fast_and_says_how_to_start_a_cluster() -> None:
    unreachable = ClusterConfig(address="tcp://127.0.0.1:9", timeout=1)
    with pytest.raises(MlconfError) as info, cluster_client(unreachable):
        pass
    text = info.value.render()
    assert "config key cluster.address" in text
    assert "tcp://127.0.0.1:9" in text
    assert "dask scheduler" in text and "cluster=local" in text


def test_xgboost_dask_without_a_cluster_is_refused_before_reading_data(tmp_path: Path) -> None:
    with pytest.raises(MlconfError) as info:
        run_train(["model=xgboost_dask", *FAST], tmp_path / "run")
    assert info.value.where == "config key cluster"
    assert "cluster=local" in (info.value.fix or "")
    assert not (tmp_path / "run").exists()


def test_missing_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MlconfError) as info:
        require_distributed("config key cluster")
    assert "pip install 'mlconf-tabular[scale]'" in info.value.render()


def test_a_local_cluster_is_closed_even_when_the_block_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import distributed

    made: dict[str, Any] = {}

    class Fake:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made[type(self).__name__] = self
            self.kwargs, self.closed = kwargs, False
            self.dashboard_link = "http://127.0.0.1:1/status"

        def close(self) -> None:
            self.closed = True

        def scheduler_info(self, **_: Any) -> dict[str, Any]:
            return {"workers": {"a": {}, "b": {}}}

    class FakeCluster(Fake):
        pass

    class FakeClient(Fake):
        pass

    monkeypatch.setattr(distributed, "LocalCluster", FakeCluster)
    monkeypatch.setattr(distributed, "Client", FakeClient)
    conf = ClusterConfig(kind="local", n_workers=3, memory_limit="2GiB")
    with pytest.raises(RuntimeError, match="stage failed"), cluster_client(conf):
        raise RuntimeError("stage failed")
    cluster, client = made["FakeCluster"], made["FakeClient"]
    assert cluster.closed and client.closed
    assert cluster.kwargs["processes"] is True
    assert cluster.kwargs["n_workers"] == 3
    assert cluster.kwargs["memory_limit"] == "2GiB"
    assert cluster.kwargs["host"] == "127.0.0.1"
    assert str(cluster.kwargs["dashboard_address"]).startswith("127.0.0.1")


def test_cluster_settings_are_parsed_and_contradictions_refused() -> None:
    assert parse_cluster(None).kind == "none"
    assert parse_cluster("local").kind == "local"
    assert parse_cluster("tcp://10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    both = ClusterConfig(kind="local", address="tcp://h:1")
    with pytest.raises(MlconfError, match="both a local cluster"), cluster_client(both):
        pass
    with (
        pytest.raises(MlconfError, match="unknown cluster kind"),
        cluster_client(ClusterConfig(kind="yarn")),
    ):
        pass
