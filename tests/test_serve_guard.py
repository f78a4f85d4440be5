"""The service's middleware and dependencies without a model: the API key check, the body
bounds, and the order in which a route's dependencies refuse (mlconf.serve.guard,
mlconf.serve.dependencies)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from mlconf.config import ServeConfig
from mlconf.serve.app import create_app
from mlconf.serve.errors import RequestError
from mlconf.serve.guard import check_key


@pytest.mark.parametrize(
    "headers",
    [
        {b"x-api-key": b"secret"},
        {b"authorization": b"Bearer secret"},
        {b"authorization": b"bearer   secret "},
    ],
)
def test_the_key_is_taken_from_either_header(headers: dict[bytes, bytes]) -> None:
    check_key(headers, "secret")


@pytest.mark.parametrize(
    "headers",
    [{}, {b"x-api-key": b"wrong"}, {b"authorization": b"Basic secret"}, {b"x-api-key": b""}],
)
def test_a_missing_or_wrong_key_is_401(headers: dict[bytes, bytes]) -> None:
    with pytest.raises(RequestError) as refused:
        check_key(headers, "secret")
    assert (refused.value.status, refused.value.kind) == (401, "unauthorized")


def unready_app(tmp_path: Path, **settings: Any) -> TestClient:
    """An app whose model cannot load (so /ready says why) and its test client."""
    config = ServeConfig(**{"reload_interval": None, **settings})
    return TestClient(
        create_app(str(tmp_path / "no-model"), config, f"sqlite:///{tmp_path / 'r.db'}")
    )


def test_feedback_without_a_log_is_409_before_a_missing_model_is_503(tmp_path: Path) -> None:
    with unready_app(tmp_path, log_predictions=False) as client:
        answer = client.post("/feedback", json={"prediction_id": "x", "outcome": 1})
        assert (answer.status_code, answer.json()["error"]) == (409, "feedback_unavailable")
    with unready_app(tmp_path, log_predictions=True) as client:
        answer = client.post("/feedback", json={"prediction_id": "x", "outcome": 1})
        assert (answer.status_code, answer.json()["error"]) == (503, "not_ready")


def test_a_refusal_before_any_route_is_counted_and_json(tmp_path: Path) -> None:
    with unready_app(tmp_path, max_body_bytes=10) as client:
        answer = client.post("/predict", content=b"x" * 11)
        assert answer.status_code == 413
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["error"] == "too_large"
        metrics = client.get("/metrics").text
    assert 'mlconf_serve_errors_total{type="too_large"} 1' in metrics
    assert 'mlconf_serve_requests_total{method="POST",route="/predict",status="413"} 1' in metrics
    assert "mlconf_serve_ready 0" in metrics


def test_start_up_objects_are_frozen_out_of_the_garbage_collector(tmp_path: Path) -> None:
    """A full collection must not re-scan the libraries and the model on a request's time."""
    import gc

    gc.unfreeze()
    try:
        with unready_app(tmp_path, log_predictions=False):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
