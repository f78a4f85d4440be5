"""Issue 13 on the serving side, against the real server (uvicorn on loopback, real SQLite,
a real registry): feedback outcomes are checked against the model version that made the
prediction (item 1), bodies are bounded on every route (item 3), deep nesting and lone
surrogates are a 4xx that leaves the connection usable (item 5), and the schema's regex
rules are applied at the door with bounded work (item 8)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
import httpx
from serve_helpers import record, running, train_model, train_run

from mlconf.config import ColumnSchema, ServeConfig
from mlconf.serve.app import create_app

# RE2 cannot run the lookahead, and the nested alternation backtracks exponentially on a
# long run of letters that ends in one it cannot match ("a" * 36 + "!" took `re` minutes).
REDOS = "(?=[a-z])([a-z]|[a-z])+"
CRAFTED = "a" * 40 + "!"
LIMIT = 50_000


@dataclass
class Models:
    root: Path
    cancer: Path  # classes "benign", "malignant"
    cars: Path  # classes "Europe", "Japan", "USA"; Make must match REDOS
    diabetes: Path  # a regression

    def db(self, name: str) -> str:
        return f"sqlite:///{self.root / name}"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    root = tmp_path_factory.mktemp("feedback")
    make = ColumnSchema(dtype="str", nullable=False, regex=REDOS)
    return Models(
        root,
        train_model(root / "cancer"),
        train_run(root / "cars", ("experiment=cars",), {"Make": make}),
        train_run(root / "diabetes", ("experiment=diabetes",)),
    )


def settings(**overrides: Any) -> ServeConfig:
    return ServeConfig(**{"reload_interval": None, "max_body_bytes": LIMIT, **overrides})


@contextmanager
def serving(model: Path | str, db: str, **overrides: Any) -> Iterator[httpx.Client]:
    """The real server for `model` on loopback, and one keep-alive client for it."""
    app = create_app(str(model), settings(**overrides), db)
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def cars_record(model_dir: Path, **changes: Any) -> dict[str, Any]:
    import pandas as pd

    frame = pd.read_parquet(model_dir / "background.parquet")
    return {**json.loads(frame.iloc[[0]].to_json(orient="records"))[0], **changes}


def predict(client: httpx.Client, row: dict[str, Any]) -> str:
    response = client.post("/predict", json=row)
    assert response.status_code == 200, response.text
    return str(response.json()["results"][0]["prediction_id"])


def feedback(client: httpx.Client, prediction_id: str, outcome: Any) -> httpx.Response:
    return client.post("/feedback", json={"prediction_id": prediction_id, "outcome": outcome})


def raw(client: httpx.Client, path: str, content: bytes | Iterator[bytes]) -> httpx.Response:
    return client.post(path, content=content, headers={"content-type": "application/json"})


def stored(db: str, prediction_id: str) -> list[Any]:
    """The outcomes stored for `prediction_id`, oldest first."""
    conn = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        rows = conn.execute(
            "select outcome from prediction_feedback where prediction_id = ? order by id",
            (prediction_id,),
        ).fetchall()
    finally:
        conn.close()
    return [json.loads(r[0]) for r in rows]


def assert_refused(response: httpx.Response, status: int, error: str, *expect: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    for text in expect:
        assert text in response.text, f"{text!r} not in {response.text}"
    assert len(response.content) < 5_000, "an error must not echo a whole oversized value"


# -- item 1: outcomes are checked ------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "rule"),
    [
        ("maybe", "class"),
        ("Benign", "class"),  # a wrong case is another label
        (1, "class"),
        (True, "class"),
        ({"label": "benign"}, "class"),
        (["benign"], "class"),
        ("x" * 40_000, "class"),
    ],
    ids=["maybe", "wrong_case", "number", "boolean", "object", "array", "40k_string"],
)
def test_a_classifier_refuses_outcomes_that_are_not_its_classes(
    models: Models, outcome: Any, rule: str
) -> None:
    """Issue 13 item 1: each of these was stored with 200 and stopped `mlconf monitor`."""
    db = models.db("classes.db")
    with serving(models.cancer, db) as client:
        pid = predict(client, record(models.cancer))
        response = feedback(client, pid, outcome)
        assert_refused(response, 422, "validation", '"field":"outcome"', "benign", "malignant")
        assert response.json()["detail"][0]["rule"] == rule
        assert feedback(client, pid, "malignant").status_code == 200
    assert stored(db, pid) == ["malignant"]


def test_a_regression_takes_finite_numbers_only(models: Models) -> None:
    db = models.db("regression.db")
    with serving(models.diabetes, db) as client:
        pid = predict(client, record(models.diabetes))
        for outcome in ("abc", "NaN", "12.5", True, None, [1.0]):
            response = feedback(client, pid, outcome)
            assert_refused(response, 422, "validation", "outcome")
        for literal in (b"NaN", b"Infinity", b"-Infinity"):
            body = b'{"prediction_id": "%s", "outcome": %s}' % (pid.encode(), literal)
            assert_refused(raw(client, "/feedback", body), 400, "invalid_number")
        for huge in (b"1e999", b"-1e999", b"1" + b"0" * 400):  # inf, -inf, an int past float
            body = b'{"prediction_id": "%s", "outcome": %s}' % (pid.encode(), huge)
            assert_refused(raw(client, "/feedback", body), 422, "validation", '"rule":"finite"')
        assert feedback(client, pid, 151).status_code == 200
        assert feedback(client, pid, 75.5).status_code == 200
    assert stored(db, pid) == [151, 75.5]


def test_outcomes_are_stored_as_the_class_itself(models: Models) -> None:
    """A multiclass model: the exact class is stored; a wrong case is refused."""
    db = models.db("multiclass.db")
    with serving(models.cars, db) as client:
        pid = predict(client, cars_record(models.cars))
        response = feedback(client, pid, "usa")
        assert_refused(response, 422, "validation", "USA", "Europe", "Japan")
        assert response.json()["detail"][0]["allowed"] == ["Europe", "Japan", "USA"]
        assert feedback(client, pid, "Japan").status_code == 200
    assert stored(db, pid) == ["Japan"]


def test_outcomes_follow_the_version_that_made_the_prediction(models: Models) -> None:
    """Two versions of one registered name with other classes: an outcome is checked against
    the version that made its prediction, also by a service that never served that version;
    an id of another model is refused."""
    from mlconf.store.model_registry import ModelRegistry

    db = models.db("registry.db")
    registry = ModelRegistry(db)

    def register(name: str, model_dir: Path) -> int:
        version = registry.register(
            name,
            model_dir.parent,
            model_dir,
            alias=None,
            forced=True,
            metrics={},
            criteria_passed=None,
        )
        return int(version.version)

    first, second = register("m", models.cancer), register("m", models.cars)
    register("other", models.diabetes)
    registry.promote("m", first, "production")
    with serving("m@production", db) as client:
        old = predict(client, record(models.cancer))
        registry.promote("m", second, "production")
        assert client.post("/admin/reload").json()["model_version"] == str(second)
        new = predict(client, cars_record(models.cars))
        assert feedback(client, old, "malignant").status_code == 200
        assert_refused(feedback(client, old, "USA"), 422, "validation", f"version {first}")
        assert_refused(feedback(client, new, "malignant"), 422, "validation", f"version {second}")
        assert feedback(client, new, "USA").status_code == 200
    with serving("other", db) as other:
        foreign = predict(other, record(models.diabetes))
    with serving("m@production", db) as client:  # a new process: version 1 from the registry
        assert feedback(client, old, "benign").status_code == 200
        assert_refused(feedback(client, old, "Benign"), 422, "validation", "benign")
        assert_refused(feedback(client, foreign, 3.0), 409, "other_model", "'other'")
        assert_refused(feedback(client, "no-such-id", "USA"), 404, "unknown_prediction")
    assert stored(db, old) == ["malignant", "benign"]
    assert stored(db, new) == ["USA"]
    assert stored(db, foreign) == []


def test_feedback_body_shape_is_named(models: Models) -> None:
    with serving(models.cancer, models.db("shape.db")) as client:
        cases = [
            ({"outcome": "benign"}, "prediction_id"),
            ({"prediction_id": "", "outcome": "benign"}, "prediction_id"),
            ({"prediction_id": "x" * 65, "outcome": "benign"}, "prediction_id"),
            ({"prediction_id": 7, "outcome": "benign"}, "prediction_id"),
            ({"prediction_id": "abc"}, "outcome"),
            ({"prediction_id": "abc", "outcome": None}, "outcome is null"),
            ([{"prediction_id": "abc", "outcome": "benign"}], "JSON object"),
        ]
        for body, expect in cases:
            assert_refused(client.post("/feedback", json=body), 422, "validation", expect)


# -- item 3: every route counts streamed bodies ----------------------------------------------


def chunks(size: int, piece: int = 10_000) -> Iterator[bytes]:
    """A JSON string of `size` bytes, sent chunked (no Content-Length)."""
    yield b'{"prediction_id": "x", "outcome": "'
    for _ in range(size // piece):
        yield b"x" * piece
    yield b'"}'


ROUTES = [
    ("POST", "/predict"),
    ("POST", "/explain"),
    ("POST", "/feedback"),
    ("POST", "/admin/reload"),
    ("GET", "/model"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/nope"),
]


def test_a_chunked_body_over_the_limit_is_refused_on_every_route(models: Models) -> None:
    """Issue 13 item 3: a 30 MB chunked body to /feedback was stored (200)."""
    db = models.db("chunked.db")
    with serving(models.cancer, db) as client:
        pid = predict(client, record(models.cancer))
        for method, path in ROUTES:
            headers = {"content-type": "application/json"}
            response = client.request(method, path, content=chunks(3 * LIMIT), headers=headers)
            assert_refused(response, 413, "too_large", f"{LIMIT} bytes")
        # a chunked body under the limit is read as usual
        body = json.dumps({"prediction_id": pid, "outcome": "benign"}).encode()
        response = raw(client, "/feedback", iter([body[:10], body[10:]]))
        assert response.status_code == 200, response.text
        assert client.get("/health").status_code == 200
    assert stored(db, pid) == ["benign"]


# -- item 5: crafted bodies are a 4xx, and the connection goes on ------------------------------


@pytest.mark.parametrize("path", ["/predict", "/explain", "/feedback"])
def test_deep_nesting_is_a_400(models: Models, path: str) -> None:
    with serving(models.cancer, models.db("deep.db")) as client:
        for depth in (1000, 20_000):
            response = raw(client, path, b"[" * depth + b"]" * depth)
            assert_refused(response, 400, "too_deep")
            assert client.get("/health").status_code == 200  # the same connection goes on
        for depth in (10, 500, 990):  # deep but parseable: refused as a wrong shape
            response = raw(client, path, b"[" * depth + b"]" * depth)
            assert 400 <= response.status_code < 500, response.text


def test_lone_surrogates_are_a_400(models: Models) -> None:
    row = cars_record(models.cars)
    with serving(models.cars, models.db("surrogates.db")) as client:
        pid = predict(client, row)
        bodies = {
            "/predict": [
                {**row, "Make": "\udfff"},  # a string column
                {**row, "Make": "ford\ud800"},
                {**row, "Year": "\udfff"},  # an int column: echoed as the wrong type
                {**row, "\udfff": 1},  # a key
            ],
            "/explain": [{**row, "Make": "\udfff"}],
            "/feedback": [
                {"prediction_id": "\udfff", "outcome": "USA"},
                {"prediction_id": pid, "outcome": "\ud800"},
            ],
        }
        for path, cases in bodies.items():
            for body in cases:
                # json.dumps writes a lone surrogate as the escape \udfff, as a client would
                response = raw(client, path, json.dumps(body).encode())
                assert_refused(response, 400, "invalid_unicode", "surrogate")
                assert client.get("/health").status_code == 200
        # a complete pair is text
        assert predict(client, {**row, "Make": "ford"})
        assert feedback(client, pid, "USA").status_code == 200
        text = json.dumps({**row, "Make": "\U0001f697"})  # the pair \ud83d\ude97
        response = raw(client, "/predict", text.encode())
        assert response.status_code == 422  # a real character, but it breaks the regex rule
        assert response.json()["detail"][0]["rule"] == "regex"


def test_a_surrogate_on_a_number_column_of_the_cancer_model(models: Models) -> None:
    row = record(models.cancer)
    with serving(models.cancer, models.db("surrogate_float.db")) as client:
        body = json.dumps({**row, "mean radius": "\udfff"}).encode()
        assert_refused(raw(client, "/predict", body), 400, "invalid_unicode")
        assert client.get("/health").status_code == 200


# -- item 8: regex rules at the door -----------------------------------------------------------


def test_regex_rules_are_applied_at_the_door(models: Models) -> None:
    row = cars_record(models.cars)
    with serving(models.cars, models.db("regex.db")) as client:
        assert client.get("/model").json()["schema"]["Make"]["regex"] == REDOS
        assert predict(client, {**row, "Make": "volvo"})
        response = client.post("/predict", json=[{**row, "Make": "Ford"}, row])
        assert_refused(response, 422, "validation", '"field":"Make"', '"rule":"regex"', REDOS)
        assert response.json()["detail"][0]["record"] == 0
        # the crafted value is refused in bounded time, naming the rule and how to fix it
        response = client.post("/predict", json=[row, {**row, "Make": CRAFTED}, row])
        assert_refused(response, 422, "validation", "schema.columns.Make.regex")
        [problem] = response.json()["detail"]
        assert (problem["record"], problem["rule"]) == (1, "regex_timeout")
        response = client.post("/explain", json={**row, "Make": CRAFTED})
        assert_refused(response, 422, "validation", "regex_timeout")
        assert client.get("/health").status_code == 200
