"""Request micro-batching (issue 17, item 3): concurrent requests scored together, each
answered with its own rows; a lone request is not held; a bad record fails only its request."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("fastapi")
import httpx
from serve_helpers import record, running, train_model

from mlconf.config import ServeConfig
from mlconf.serve import batching
from mlconf.serve.app import create_app
from mlconf.serve.batching import MicroBatcher
from mlconf.serve.errors import RequestError


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model(tmp_path_factory.mktemp("batching") / "run")


def serve(model_dir: Path, tmp_path: Path, window_ms: float) -> Any:
    settings = ServeConfig(reload_interval=None, batch_window_ms=window_ms)
    return create_app(str(model_dir), settings, f"sqlite:///{tmp_path / 'log.db'}")


async def _post_all(url: str, bodies: list[Any]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(*(client.post(f"{url}/predict", json=b) for b in bodies))


def test_concurrent_requests_are_batched_and_answered_alike(
    model_dir: Path, tmp_path: Path
) -> None:
    rows = [record(model_dir, i) for i in range(24)]
    bad = {**rows[5], "mean radius": -1.0}  # breaks the schema's 0..100 rule
    bodies: list[Any] = [*rows[:5], bad, *rows[6:]]
    app = serve(model_dir, tmp_path, window_ms=300)
    with running(app) as url:
        alone = [httpx.post(f"{url}/predict", json=r, timeout=30).json() for r in rows]
        before = app.state.service.batcher.batches
        answers = asyncio.run(_post_all(url, bodies))
        batches = app.state.service.batcher.batches - before
    assert answers[5].status_code == 422
    assert answers[5].json()["detail"][0]["field"] == "mean radius"
    for i, answer in enumerate(answers):
        if i == 5:
            continue
        assert answer.status_code == 200, answer.text
        [got], [want] = answer.json()["results"], alone[i]["results"]
        assert got["prediction"] == want["prediction"]
        assert got["probabilities"] == want["probabilities"]
    assert batches < len(bodies) - 1  # some requests shared a batch


def test_a_lone_request_is_not_held_for_the_window(model_dir: Path, tmp_path: Path) -> None:
    with running(serve(model_dir, tmp_path, window_ms=5000)) as url:
        row = record(model_dir)
        httpx.post(f"{url}/predict", json=row, timeout=30).raise_for_status()
        started = time.monotonic()
        httpx.post(f"{url}/predict", json=row, timeout=30).raise_for_status()
        assert time.monotonic() - started < 2.5  # far below the 5 s window


def test_a_batch_the_model_refuses_fails_only_the_refused_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model refusing one request's records in a batch: the others still get answers."""

    def score(loaded: Any, columns: list[list[Any]], size: int) -> Any:
        if "bad" in columns[0]:
            raise ValueError("cannot score 'bad'")
        return list(columns[0]), None

    monkeypatch.setattr(batching, "score", score)

    async def main() -> list[Any]:
        batcher = MicroBatcher(window_s=0.2, max_records=100)
        scopes: list[dict[str, Any]] = [{} for _ in range(3)]
        for scope in scopes:
            batcher.enter(scope)
        loaded: Any = SimpleNamespace(rules=["x"])
        calls = [
            batcher.score(scope, loaded, [[value]], 1)
            for scope, value in zip(scopes, ["a", "bad", "c"], strict=True)
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    first, refused, third = asyncio.run(main())
    assert first == (["a"], None) and third == (["c"], None)
    assert isinstance(refused, RequestError) and refused.status == 422
    assert "cannot score 'bad'" in refused.message
