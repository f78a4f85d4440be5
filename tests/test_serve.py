"""`mlconf serve`: the real server under uvicorn on a free loopback port, spoken to with httpx."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
import httpx
import sqlalchemy as sa
from serve_helpers import record, running, train_model

from mlconf.config import ServeConfig
from mlconf.serve.app import create_app


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model(tmp_path_factory.mktemp("serve") / "run")


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'mlconf.db'}"


def settings(**overrides: Any) -> ServeConfig:
    return ServeConfig(**{"reload_interval": None, **overrides})


@pytest.fixture(scope="module")
def base(model_dir: Path, db_url: str) -> Iterator[str]:
    """One server for the read-only tests of this module."""
    app = create_app(str(model_dir), settings(max_body_bytes=50_000, max_records=20), db_url)
    with running(app) as url:
        yield url


@pytest.fixture(scope="module")
def row(model_dir: Path) -> dict[str, Any]:
    return record(model_dir)


def post(url: str, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, json=body, timeout=30, **kwargs)


def test_predict_one_record(base: str, row: dict[str, Any]) -> None:
    response = post(f"{base}/predict", row)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == "breast_cancer"
    assert body["model_version"]
    [result] = body["results"]
    assert result["prediction"] in ("benign", "malignant")
    assert set(result["probabilities"]) == {"benign", "malignant"}
    assert sum(result["probabilities"].values()) == pytest.approx(1.0)
    assert len(result["prediction_id"]) == 36


def test_predict_a_list(base: str, model_dir: Path) -> None:
    rows = [record(model_dir, i) for i in range(3)]
    body = post(f"{base}/predict", rows).json()
    assert len(body["results"]) == 3
    assert len({r["prediction_id"] for r in body["results"]}) == 3


def test_extra_fields_are_ignored_by_default(base: str, row: dict[str, Any]) -> None:
    assert post(f"{base}/predict", {**row, "patient_name": "x"}).status_code == 200


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"mean radius": "12.5"}, "mean radius", "float_type"),
        ({"mean radius": -1.0}, "mean radius", "greater_than_equal"),
        ({"mean radius": 1000.0}, "mean radius", "less_than_equal"),
        ({"mean texture": None}, None, None),  # nullable: left to the pipeline's imputers
        ({"mean texture": "abc"}, "mean texture", "float_type"),
        ({"mean texture": True}, "mean texture", "float_type"),
    ],
)
def test_bad_values_get_422_naming_field_and_rule(
    base: str, row: dict[str, Any], change: dict[str, Any], field: str | None, rule: str | None
) -> None:
    response = post(f"{base}/predict", {**row, **change})
    if field is None:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation"
    assert any(
        d["field"] == field and d["rule"] == rule and d["record"] == 0 for d in body["detail"]
    ), body


def test_missing_column_in_second_record(base: str, row: dict[str, Any]) -> None:
    partial = {k: v for k, v in row.items() if k != "worst area"}
    body = post(f"{base}/predict", [row, partial]).json()
    assert body["detail"] == [
        {"record": 1, "field": "worst area", "rule": "missing", "message": "Field required"}
    ]


@pytest.mark.parametrize(
    ("content", "status", "error"),
    [
        (b'{"mean radius": 1', 400, "malformed_json"),
        (b"", 400, "malformed_json"),
        (b"\xff\xfe", 400, "malformed_json"),
        (b'{"mean radius": NaN}', 400, "invalid_number"),
        (b'[{"mean radius": Infinity}]', 400, "invalid_number"),
        (b"[]", 422, "empty"),
        (b"3", 422, "validation"),
        (b"[1, 2]", 422, "validation"),
    ],
)
def test_malformed_bodies(base: str, content: bytes, status: int, error: str) -> None:
    response = httpx.post(
        f"{base}/predict", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    ("content", "media_type"),
    [(b"\xff", "application/json"), (b'{"a": "\xe9"}', "application/json; charset=latin-1")],
)
def test_bodies_fastapi_cannot_parse_get_the_error_format(
    base: str, content: bytes, media_type: str
) -> None:
    """Found by schemathesis: a body that is not UTF-8 made FastAPI answer its own 400 with
    only `detail`; it now has the server's {error, message} format."""
    response = httpx.post(f"{base}/feedback", content=content, headers={"content-type": media_type})
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert {"error", "message"} <= set(body), body


def test_huge_number_is_a_422(base: str, row: dict[str, Any]) -> None:
    text = json.dumps({**row, "mean texture": 1.0}).replace(
        '"mean texture": 1.0', '"mean texture": 1e999'
    )
    response = httpx.post(
        f"{base}/predict", content=text, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "mean texture"


def test_size_limits(base: str, row: dict[str, Any]) -> None:
    # declared Content-Length past max_body_bytes
    big = [row] * 200
    response = post(f"{base}/predict", big)
    assert response.status_code == 413
    assert "50000 bytes" in response.json()["message"]

    # chunked (no Content-Length): counted while it streams in
    def chunks() -> Iterator[bytes]:
        yield b"["
        for i in range(200):
            yield (b"," if i else b"") + json.dumps(row).encode()
        yield b"]"

    response = httpx.post(
        f"{base}/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    # more records than max_records, under the byte limit
    tiny = {"mean radius": 1.0}
    response = post(f"{base}/predict", [tiny] * 21)
    assert response.status_code == 413
    assert response.json()["error"] == "too_many_records"


def test_explain(base: str, row: dict[str, Any]) -> None:
    body = post(f"{base}/explain", [row, row]).json()
    assert body["method"] == "tree"
    assert len(body["contributions"]) == 2
    first = body["contributions"][0]
    assert "mean radius" in first and "_bias" in first and "_output" in first


def test_model_health_ready_docs(base: str) -> None:
    assert httpx.get(f"{base}/health").json() == {"status": "ok"}
    assert httpx.get(f"{base}/ready").json()["ready"] is True
    model = httpx.get(f"{base}/model").json()
    assert model["schema"]["mean radius"] == {
        "type": "float",
        "nullable": True,
        "min": 0.0,
        "max": 100.0,
    }
    assert model["schema"]["worst area"]["type"] == "float"
    assert "roc_auc" in model["metrics"]
    assert httpx.get(f"{base}/docs").status_code == 200
    assert "/predict" in httpx.get(f"{base}/openapi.json").json()["paths"]


def test_metrics_exposition(base: str, row: dict[str, Any]) -> None:
    post(f"{base}/predict", row)
    post(f"{base}/predict", {"mean radius": "x"})
    text = httpx.get(f"{base}/metrics").text
    assert 'mlconf_serve_requests_total{method="POST",route="/predict",status="200"}' in text
    assert 'mlconf_serve_requests_total{method="POST",route="/predict",status="422"}' in text
    assert 'mlconf_serve_request_duration_seconds_bucket{route="/predict",le="+Inf"}' in text
    assert "# TYPE mlconf_serve_request_duration_seconds histogram" in text
    assert 'mlconf_serve_errors_total{type="validation"}' in text
    assert "mlconf_serve_predictions_total{prediction=" in text
    assert 'mlconf_serve_model_info{name="breast_cancer"' in text
    assert 'mlconf_serve_prediction_log_rows_total{state="failed"} 0' in text
    assert "mlconf_serve_ready 1" in text


def test_feedback_round_trip(base: str, row: dict[str, Any], db_url: str) -> None:
    prediction = post(f"{base}/predict", row).json()["results"][0]
    pid = prediction["prediction_id"]
    response = post(f"{base}/feedback", {"prediction_id": pid, "outcome": "malignant"})
    assert response.status_code == 200, response.text
    assert post(f"{base}/feedback", {"prediction_id": "nope", "outcome": 1}).status_code == 404
    bad = post(f"{base}/feedback", {"outcome": 1})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "prediction_id"
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        for _ in range(100):  # the writer thread logs off the request path
            logged = conn.execute(
                sa.text("select inputs, outputs, model_name from predictions where id = :i"),
                {"i": pid},
            ).first()
            if logged:
                break
            threading.Event().wait(0.05)
        assert logged is not None
        assert json.loads(logged.inputs)["mean radius"] == row["mean radius"]
        assert json.loads(logged.outputs)["prediction"] == prediction["prediction"]
        outcome = conn.execute(
            sa.text("select outcome from prediction_feedback where prediction_id = :i"), {"i": pid}
        ).scalar_one()
    engine.dispose()
    assert json.loads(outcome) == "malignant"


def test_extra_fields_reject(model_dir: Path, row: dict[str, Any], db_url: str) -> None:
    app = create_app(str(model_dir), settings(extra_fields="reject", log_predictions=False))
    with running(app) as url:
        response = post(f"{url}/predict", {**row, "patient_name": "x"})
        assert response.status_code == 422
        assert response.json()["detail"][0] == {
            "record": 0,
            "field": "patient_name",
            "rule": "extra_forbidden",
            "message": "Extra inputs are not permitted",
            "input": "x",
        }
        # with the log off, feedback says why it cannot be stored
        assert post(f"{url}/feedback", {"prediction_id": "a", "outcome": 1}).status_code == 409


def test_api_key(
    model_dir: Path, row: dict[str, Any], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    monkeypatch.setenv("TEST_SERVE_KEY", "s3cret")
    app = create_app(str(model_dir), settings(api_key_env="TEST_SERVE_KEY"), db_url)
    with running(app) as url:
        assert httpx.get(f"{url}/health").status_code == 200
        assert post(f"{url}/predict", row).status_code == 401
        wrong = post(f"{url}/predict", row, headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401
        assert "X-API-Key" in wrong.json()["message"]
        assert httpx.get(f"{url}/ready").status_code == 401
        assert post(f"{url}/predict", row, headers={"X-API-Key": "s3cret"}).status_code == 200
        bearer = {"Authorization": "Bearer s3cret"}
        assert post(f"{url}/predict", row, headers=bearer).status_code == 200
        assert "unauthorized" in httpx.get(f"{url}/metrics", headers=bearer).text


def test_api_key_env_unset_is_refused(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlconf.core.errors import MlconfError

    monkeypatch.delenv("TEST_SERVE_UNSET", raising=False)
    with pytest.raises(MlconfError, match="TEST_SERVE_UNSET"):
        create_app(str(model_dir), settings(api_key_env="TEST_SERVE_UNSET"))


def test_tampered_artifact_is_refused(
    model_dir: Path, tmp_path: Path, row: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    tampered = tmp_path / "model"
    shutil.copytree(model_dir, tampered)
    data = bytearray((tampered / "pipeline.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tampered / "pipeline.skops").write_bytes(bytes(data))
    caplog.set_level(logging.ERROR, logger="mlconf.serve")
    app = create_app(str(tampered), settings(log_predictions=False))
    with running(app) as url:
        assert httpx.get(f"{url}/health").status_code == 200
        ready = httpx.get(f"{url}/ready")
        assert ready.status_code == 503
        assert "does not match its manifest" in ready.json()["reason"]
        response = post(f"{url}/predict", row)
        assert response.status_code == 503
        assert response.json()["error"] == "not_ready"
        assert "mlconf_serve_ready 0" in httpx.get(f"{url}/metrics").text
    assert any("refused" in r.getMessage() and "sha256" in r.getMessage() for r in caplog.records)


def _served_copy(model_dir: Path, tmp_path: Path) -> Path:
    """A copy of the model folder to serve and then replace, as version v1."""
    served = tmp_path / "model"
    shutil.copytree(model_dir, served)
    _new_version(served, "v1")
    return served


def _new_version(folder: Path, version: str) -> None:
    """Make the served folder another model version (a new run id in its manifest)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["run_id"] = version
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_reload_swaps_models_without_dropping_requests(
    model_dir: Path, tmp_path: Path, row: dict[str, Any]
) -> None:
    served = _served_copy(model_dir, tmp_path)
    app = create_app(str(served), settings(log_predictions=False))
    with running(app) as url:
        assert post(f"{url}/predict", row).json()["model_version"] == "v1"
        _new_version(served, "v2")
        statuses: list[int] = []
        versions: set[str] = set()

        def client() -> None:
            with httpx.Client(timeout=30) as http:
                for _ in range(15):
                    response = http.post(f"{url}/predict", json=row)
                    statuses.append(response.status_code)
                    versions.add(response.json().get("model_version"))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        reloaded = httpx.post(f"{url}/admin/reload", timeout=30).json()
        for thread in threads:
            thread.join()
        assert reloaded["reloaded"] is True
        assert reloaded["previous_version"] == "v1"
        assert reloaded["model_version"] == "v2"
        assert set(statuses) == {200}
        assert versions <= {"v1", "v2"}
        assert post(f"{url}/predict", row).json()["model_version"] == "v2"
        # a tampered replacement is refused; the good model keeps serving
        data = bytearray((served / "pipeline.skops").read_bytes())
        data[100] ^= 0xFF
        (served / "pipeline.skops").write_bytes(bytes(data))
        failed = httpx.post(f"{url}/admin/reload", timeout=30)
        assert failed.status_code == 409
        assert failed.json()["detail"]["serving"] == "v2"
        assert httpx.get(f"{url}/ready").status_code == 200
        assert 'mlconf_serve_reloads_total{outcome="failed"} 1' in httpx.get(f"{url}/metrics").text


def test_reload_interval_picks_up_a_new_version(
    model_dir: Path, tmp_path: Path, row: dict[str, Any]
) -> None:
    served = _served_copy(model_dir, tmp_path)
    app = create_app(str(served), settings(log_predictions=False, reload_interval=0.2))
    with running(app) as url:
        _new_version(served, "v2")
        for _ in range(100):
            if httpx.get(f"{url}/ready").json()["model_version"] == "v2":
                break
            threading.Event().wait(0.05)
        assert post(f"{url}/predict", row).json()["model_version"] == "v2"


@pytest.mark.slow
def test_mlconf_serve_command(model_dir: Path, tmp_path: Path, row: dict[str, Any]) -> None:
    """`mlconf serve` in its own process, as a user starts it."""
    from serve_helpers import mlconf_serve

    db = f"registry_url=sqlite:///{tmp_path / 'mlconf.db'}"
    with mlconf_serve([f"model={model_dir}", db], tmp_path) as served:
        assert post(f"{served.url}/predict", row).status_code == 200
    output = served.output
    assert "serving model breast_cancer" in output, output
    # a new registry database is migrated quietly, as in a training run's console
    assert "alembic" not in output and "Context impl" not in output, output


def test_mlconf_serve_help_and_errors(run_cli: Any) -> None:
    shown = run_cli(["serve", "--help"])
    assert shown.returncode == 0
    assert "model=REF" in shown.stdout
    wrong = run_cli(["serve", "model=x", "prot=1"])
    assert wrong.returncode == 2
    assert "Did you mean 'port'" in wrong.stderr


def test_one_pass_scoring_matches_the_model(model_dir: Path) -> None:
    """Loaded.score runs the transforms once; it must agree with TrainedModel's methods."""
    import numpy as np

    from mlconf.serve.loader import open_ref

    loaded = open_ref(str(model_dir), "sqlite://")
    frame = loaded.model.background
    assert frame is not None
    labels, proba = loaded.score(frame)
    assert labels == loaded.model.predict(frame).tolist()
    expected = loaded.model.predict_proba(frame)
    assert expected is not None
    np.testing.assert_allclose(np.asarray(proba), expected)


def test_serve_a_registry_alias_and_follow_promotion(
    model_dir: Path, tmp_path: Path, row: dict[str, Any]
) -> None:
    """model=NAME@production resolves in the registry; a promotion is picked up on reload."""
    from mlconf.store.model_registry import ModelRegistry

    url = f"sqlite:///{tmp_path / 'mlconf.db'}"
    registry = ModelRegistry(url)
    versions = []
    for run in ("run_a", "run_b"):
        copy = tmp_path / run / "model"
        shutil.copytree(model_dir, copy)
        _new_version(copy, run)
        registered = registry.register(
            "cancer",
            tmp_path / run,
            copy,
            alias=None,
            forced=False,
            metrics={},
            criteria_passed=True,
        )
        versions.append(registered.version)
    registry.promote("cancer", versions[0], "production")
    app = create_app("cancer@production", settings(), url)
    with running(app) as base_url:
        first = post(f"{base_url}/predict", row).json()
        assert (first["model_name"], first["model_version"]) == ("cancer", str(versions[0]))
        registry.promote("cancer", versions[1], "production")
        reloaded = httpx.post(f"{base_url}/admin/reload", timeout=30).json()
        assert reloaded["model_version"] == str(versions[1])
        assert post(f"{base_url}/predict", row).json()["model_version"] == str(versions[1])
    unknown = create_app("cancer@nope", settings(log_predictions=False), url)
    with running(unknown) as base_url:
        assert "production" in httpx.get(f"{base_url}/ready").json()["reason"]
