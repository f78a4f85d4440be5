"""MLflow's `/invocations` and the Open Inference Protocol v2 (issue 17, item 4), against a
real uvicorn server on loopback: the same answers and the same refusals as `/predict`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
import httpx
from serve_helpers import record, running, train_model

from mlconf.config import ServeConfig
from mlconf.serve.app import create_app


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model(tmp_path_factory.mktemp("protocols") / "run")


@pytest.fixture(scope="module")
def url(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("protocols-db") / "log.db"
    app = create_app(str(model_dir), ServeConfig(reload_interval=None), f"sqlite:///{db}")
    with running(app) as base:
        yield base


@pytest.fixture(scope="module")
def rows(model_dir: Path) -> list[dict[str, Any]]:
    return [record(model_dir, i) for i in range(4)]


def post(url: str, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=30)


def predicted(url: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = post(url, "/predict", rows)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def mlflow_bodies(rows: list[dict[str, Any]]) -> dict[str, Any]:
    columns = list(rows[0])
    return {
        "dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in rows]},
        "dataframe_records": rows,
        "instances": rows,
        "inputs": {c: [r[c] for r in rows] for c in columns},
    }


@pytest.mark.parametrize("key", ["dataframe_split", "dataframe_records", "instances", "inputs"])
def test_mlflow_invocations_formats(url: str, rows: list[dict[str, Any]], key: str) -> None:
    want = [r["prediction"] for r in predicted(url, rows)]
    response = post(url, "/invocations", {key: mlflow_bodies(rows)[key]})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": want}


def test_mlflow_refusals_match_predict(url: str, rows: list[dict[str, Any]]) -> None:
    bad = [rows[0], {**rows[1], "mean radius": "big"}]
    expected = post(url, "/predict", bad)
    got = post(url, "/invocations", {"dataframe_records": bad})
    assert (got.status_code, got.json()) == (expected.status_code, expected.json())
    assert expected.status_code == 422
    for body in ({}, {"dataframe_records": rows, "instances": rows}, {"instances": [[1, 2]]}):
        refused = post(url, "/invocations", body)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_format", body
    split = {"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}
    refused = post(url, "/invocations", split)
    assert refused.json()["detail"][0]["field"] == "dataframe_split.data[0]"
    assert httpx.get(f"{url}/ping").status_code == 200


def v2_body(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "req-1",
        "inputs": [
            {"name": c, "shape": [len(rows)], "datatype": "FP64", "data": [r[c] for r in rows]}
            for c in rows[0]
        ],
    }


def test_v2_health_and_metadata(url: str, rows: list[dict[str, Any]]) -> None:
    assert httpx.get(f"{url}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{url}/v2/health/ready").json() == {"ready": True}
    assert httpx.get(f"{url}/v2").json()["name"] == "mlconf"
    meta = httpx.get(f"{url}/v2/models/breast_cancer").json()
    assert meta["name"] == "breast_cancer"
    assert [i["name"] for i in meta["inputs"]] == list(rows[0])
    assert {i["datatype"] for i in meta["inputs"]} == {"FP64"}
    assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba", "prediction_id"]
    assert httpx.get(f"{url}/v2/models/breast_cancer/ready").json()["ready"] is True
    unknown = httpx.get(f"{url}/v2/models/other")
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_model"


def test_v2_infer_answers_as_predict(url: str, rows: list[dict[str, Any]]) -> None:
    want = predicted(url, rows)
    response = post(url, "/v2/models/breast_cancer/infer", v2_body(rows))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "req-1" and body["model_name"] == "breast_cancer"
    outputs = {o["name"]: o for o in body["outputs"]}
    assert outputs["predict"]["data"] == [r["prediction"] for r in want]
    assert outputs["predict"]["datatype"] == "BYTES"
    proba = outputs["predict_proba"]
    classes = proba["parameters"]["classes"]
    assert proba["shape"] == [len(rows), len(classes)]
    flat = [r["probabilities"][c] for r in want for c in classes]
    assert proba["data"] == pytest.approx(flat, abs=1e-12)
    assert len(set(outputs["prediction_id"]["data"])) == len(rows)
    column = v2_body(rows)
    column["inputs"][0]["data"] = [[v] for v in column["inputs"][0]["data"]]  # shape [N, 1]
    assert post(url, "/v2/models/breast_cancer/infer", column).status_code == 200


def test_v2_refusals_match_predict(url: str, rows: list[dict[str, Any]]) -> None:
    bad = [rows[0], {**rows[1], "mean radius": -5.0}]
    expected = post(url, "/predict", bad)
    got = post(url, "/v2/models/breast_cancer/infer", v2_body(bad))
    assert (got.status_code, got.json()) == (expected.status_code, expected.json())
    short = v2_body(rows)
    short["inputs"][0]["data"] = short["inputs"][0]["data"][:1]
    refused = post(url, "/v2/models/breast_cancer/infer", short)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_format"
    assert post(url, "/v2/models/other/infer", v2_body(rows)).status_code == 404
