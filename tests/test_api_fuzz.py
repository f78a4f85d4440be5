"""API fuzzing: schemathesis drives every operation of the server's own OpenAPI schema,
fetched from the real server on loopback, with valid and invalid requests. No response may
be a 5xx, and every 4xx carries the server's JSON error body {error, message, detail}."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from serve_helpers import running, train_model  # noqa: E402

from mlconf.config import ServeConfig  # noqa: E402
from mlconf.serve.app import create_app  # noqa: E402

# Per operation and generation mode (Hypothesis stops early on operations with few inputs).
EXAMPLES = 100


def check(response: Any, label: str, failures: list[str]) -> None:
    status = response.status_code
    if status >= 500:
        failures.append(f"{label}: {status} {response.text[:300]}")
    elif status >= 400:
        try:
            body = response.json()
        except ValueError:
            failures.append(f"{label}: {status} without a JSON body: {response.text[:200]}")
            return
        if not (isinstance(body, dict) and {"error", "message"} <= set(body)):
            failures.append(f"{label}: {status} body is not {{error, message}}: {body}")
        elif not set(body) <= {"error", "message", "detail"}:
            failures.append(f"{label}: {status} body has unexpected keys: {sorted(body)}")


def fuzz_operation(
    operation: Any, mode: Any, url: str, statuses: Counter[int], failures: list[str]
) -> None:
    """Send up to EXAMPLES generated requests of one operation and mode; record outcomes."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        response = case.call(base_url=url, timeout=30)
        statuses[response.status_code] += 1
        check(response, f"{case.method} {case.formatted_path} ({mode.value})", failures)

    try:
        fuzz()
    except Unsatisfiable:
        # an operation with no parameters and no body has no invalid request
        assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.slow
def test_no_fuzzed_request_gets_a_5xx(tmp_path: Path) -> None:
    model_dir = train_model(tmp_path / "run")
    app = create_app(
        str(model_dir),
        ServeConfig(reload_interval=None, max_body_bytes=50_000, max_records=20),
        f"sqlite:///{tmp_path / 'mlconf.db'}",
    )
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations: list[str] = []
    with running(app) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        for result in schema.get_all_operations():
            operation = result.ok()
            operations.append(operation.label)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz_operation(operation, mode, url, statuses, failures)
    total = sum(statuses.values())
    print(
        f"\nAPI fuzzing: {total} requests over {len(operations)} operations, "
        f"{sum(n for s, n in statuses.items() if s >= 500)} 5xx; statuses {dict(statuses)}"
    )
    assert len(operations) >= 5, operations
    assert failures == [], "\n".join(failures[:20])
    assert total >= 3 * EXAMPLES, statuses
