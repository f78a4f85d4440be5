"""API fuzzing: schemathesis drives every operation of the server's own OpenAPI schema,
fetched from the real server on loopback, with valid and invalid requests. No response may
be a 5xx, and every 4xx carries the server's JSON error body {error, message, detail}.

Hypothesis then sends what a schema does not describe (issue 13): feedback outcomes of any
JSON shape (NaN, 1e999 and numbers of 5,000 digits too) for real prediction ids, arrays and
objects nested up to 30,000 deep, lone UTF-16 surrogates in values and keys, and bodies
sent chunked in random pieces, some past the size limit, to every route. Each answer must
be a 4xx or 2xx in the error format, the next request on the same connection must work, and
only real classes may end up in the feedback table."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from serve_helpers import record, running, train_model  # noqa: E402

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


LIMIT = 50_000


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model(tmp_path_factory.mktemp("fuzz") / "run")


def serve(model_dir: Path, db: Path) -> Any:
    return create_app(
        str(model_dir),
        ServeConfig(reload_interval=None, max_body_bytes=LIMIT, max_records=20),
        f"sqlite:///{db}",
    )


@pytest.mark.slow
def test_no_fuzzed_request_gets_a_5xx(model_dir: Path, tmp_path: Path) -> None:
    app = serve(model_dir, tmp_path / "mlconf.db")
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


# -- what the schema does not describe ---------------------------------------------------------

ROUTES = [
    ("POST", "/predict"),
    ("POST", "/explain"),
    ("POST", "/feedback"),
    ("POST", "/admin/reload"),
    ("GET", "/model"),
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/nope"),
]
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 2**63])  # past float and int64
    | st.floats()  # NaN and infinities too: json.dumps writes them as NaN, Infinity
    | st.text(max_size=30)
    | st.sampled_from(["benign", "malignant", "Benign", "MALIGNANT", " benign"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def with_surrogate(text: str, surrogate: str, at: int) -> str:
    at = at % (len(text) + 1)
    return text[:at] + surrogate + text[at:]


@st.composite
def hostile_bodies(draw: Any, row: dict[str, Any], ids: list[str]) -> bytes:
    kind = draw(st.sampled_from(["deep", "surrogate", "outcome", "digits", "big"]))
    if kind == "digits":  # Python's json reads at most 4300 digits
        digits = b"9" * draw(st.integers(4000, 6000))
        field = draw(st.sampled_from([b"outcome", next(iter(row)).encode()]))
        return b'{"prediction_id": "%s", "%s": %s}' % (
            draw(st.sampled_from(ids)).encode(),
            field,
            digits,
        )
    if kind == "deep":
        depth = draw(st.integers(1, 30_000))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
        return opener * depth + b"1" + closer * depth
    if kind == "surrogate":
        surrogate, text = draw(SURROGATES), draw(st.text(max_size=10))
        at = draw(st.integers(0, 10))
        if draw(st.booleans()):  # in a value of a record or of feedback
            field = draw(st.sampled_from([*row, "prediction_id", "outcome", "extra"]))
            body: Any = {**row, "prediction_id": draw(st.sampled_from(ids)), "outcome": "benign"}
            body[field] = with_surrogate(text, surrogate, at)
        else:  # in a key
            body = {**row, with_surrogate(text, surrogate, at): 1}
        if draw(st.booleans()):
            body = [body]
        return json.dumps(body).encode()  # the surrogate as a \\u escape, as clients send it
    if kind == "outcome":
        prediction_id = draw(st.sampled_from([*ids, "not-an-id"]))
        outcome = draw(JSON_VALUES)
        return json.dumps({"prediction_id": prediction_id, "outcome": outcome}).encode()
    size = draw(st.integers(LIMIT - 100, 3 * LIMIT))
    return b'{"prediction_id": "x", "outcome": "' + b"x" * size + b'"}'


def pieces(body: bytes, cuts: list[int]) -> Iterator[bytes]:
    """`body` in pieces at the cuts: sent chunked, without a Content-Length."""
    start = 0
    for cut in sorted({c % (len(body) + 1) for c in cuts}):
        yield body[start:cut]
        start = cut
    yield body[start:]


def stored_outcomes(db: Path) -> list[Any]:
    conn = sqlite3.connect(db)
    try:
        return [json.loads(r[0]) for r in conn.execute("select outcome from prediction_feedback")]
    finally:
        conn.close()


@pytest.mark.slow
def test_hostile_bodies_never_get_a_5xx(model_dir: Path, tmp_path: Path) -> None:
    import httpx

    db = tmp_path / "mlconf.db"
    row = record(model_dir)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    with running(serve(model_dir, db)) as url, httpx.Client(base_url=url, timeout=60) as client:
        ids = [client.post("/predict", json=row).json()["results"][0]["prediction_id"]]
        ids.append(
            client.post("/predict", json=record(model_dir, 1)).json()["results"][0]["prediction_id"]
        )

        @given(
            route=st.sampled_from(ROUTES),
            body=hostile_bodies(row, ids),
            chunked=st.booleans(),
            cuts=st.lists(st.integers(0, 3 * LIMIT), max_size=6),
        )
        @settings(
            max_examples=300,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(route: tuple[str, str], body: bytes, chunked: bool, cuts: list[int]) -> None:
            method, path = route
            content: Any = pieces(body, cuts) if chunked else body
            headers = {"content-type": "application/json"}
            response = client.request(method, path, content=content, headers=headers)
            statuses[response.status_code] += 1
            label = f"{method} {path} {'chunked ' if chunked else ''}{body[:60]!r}"
            check(response, label, failures)
            if len(body) > LIMIT and response.status_code != 413:
                failures.append(f"{label}: {len(body)} bytes got {response.status_code}")
            if len(response.content) > 20_000:
                failures.append(f"{label}: a {len(response.content)}-byte answer")
            # the connection goes on: the next request on it is answered
            if client.get("/health").status_code != 200:
                failures.append(f"{label}: the next request on the connection failed")

        fuzz()
    outcomes = stored_outcomes(db)
    print(
        f"\nhostile bodies: {sum(statuses.values())} requests, statuses {dict(statuses)}, "
        f"{len(outcomes)} feedback rows stored"
    )
    assert failures == [], "\n".join(failures[:20])
    assert set(outcomes) <= {"benign", "malignant"}, outcomes
    assert statuses[413] and statuses[400] and statuses[422], statuses
