"""`mlconf serve workers=2` (issue 17, item 5): a real multi-process server on loopback.

Each worker loads and verifies the model; /metrics adds up every worker's counters; a
reload asked of one worker reaches every worker; after a graceful stop the prediction log
holds every prediction id that was answered.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")
import httpx
from loadgen import logged_ids
from serve_helpers import mlconf_serve, record, train_model

REQUESTS = 60


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model(tmp_path_factory.mktemp("workers") / "run")


def counter(text: str, name: str, **labels: str) -> float:
    """The sum of a counter's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            total += float(match.group(2))
    return total


def swapped(url: str, expected: int, timeout: float = 60) -> float:
    """Models swapped in over all workers, once `expected` were seen or `timeout` passed."""
    deadline = time.monotonic() + timeout
    while True:
        text = httpx.get(f"{url}/metrics").text
        found = counter(text, "mlconf_serve_reloads_total", outcome="swapped")
        if found >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


async def _predict_all(url: str, row: dict[str, object]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        calls = [client.post(f"{url}/predict", json=row) for _ in range(REQUESTS)]
        return await asyncio.gather(*calls)


@pytest.mark.slow
def test_two_workers_share_metrics_reloads_and_the_log(model_dir: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'log.db'}"
    args = [f"model={model_dir}", "workers=2", "reload_interval=null", f"registry_url={db}"]
    with mlconf_serve(args, cwd=tmp_path, timeout=120) as served:
        assert swapped(served.url, 2) == 2  # each worker loaded and verified the model
        answers = asyncio.run(_predict_all(served.url, record(model_dir)))
        assert all(a.status_code == 200 for a in answers), answers[0].text
        ids = {a.json()["results"][0]["prediction_id"] for a in answers}
        text = httpx.get(f"{served.url}/metrics").text
        assert counter(text, "mlconf_serve_requests_total", route="/predict") == REQUESTS
        httpx.post(f"{served.url}/admin/reload", timeout=60).raise_for_status()
        assert swapped(served.url, 4) == 4  # the reload reached the other worker too
    assert served.returncode == 0, served.output
    assert served.output.count("scorer: compiled") >= 4  # each worker, at start and reload
    assert ids <= logged_ids(db)
