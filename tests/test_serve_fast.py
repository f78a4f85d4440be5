"""The compiled scorer and the fast request path (issue 17, items 1-2).

The compiled scorer must give the full pipeline's answers or not serve at all; the fast
validator and JSON codec must give exactly the answers (and refusals) of the request model
and of `json`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
import httpx
from serve_helpers import record, running, train_model, train_run

from mlconf.config import ServeConfig
from mlconf.core.errors import MlconfError
from mlconf.serve.app import create_app
from mlconf.serve.body import _parse_slowly, parse_json
from mlconf.serve.errors import RequestError
from mlconf.serve.fast.verify import reference_records
from mlconf.serve.loader import Loaded, open_ref, with_compiled_scorer
from mlconf.serve.records import validate_records
from mlconf.serve.schema import columns_frame


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model(tmp_path_factory.mktemp("fast") / "run")


@pytest.fixture(scope="module")
def cars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fast-cars")
    return train_run(
        folder / "run", ("experiment=cars", f"deploy.registry_url=sqlite:///{folder / 'r.db'}")
    )


def load(model_dir: Path, extra_fields: str = "ignore") -> Loaded:
    return open_ref(str(model_dir), "sqlite:///:memory:", extra_fields)


def full(loaded: Loaded, columns: list[list[Any]]) -> tuple[list[Any], Any]:
    return loaded.score(columns_frame(columns, loaded.rules, loaded.model))


def test_compiled_scorer_equals_the_pipeline(cancer: Path, cars: Path) -> None:
    for model_dir in (cancer, cars):
        loaded = load(model_dir)
        assert loaded.scorer is not None, loaded.scorer_note
        assert loaded.scorer_note.startswith("compiled")
        assert_scores_like_the_pipeline(loaded, reference_records(loaded))


def assert_scores_like_the_pipeline(loaded: Loaded, rows: list[dict[str, Any]]) -> None:
    """Labels identical, probabilities within 1e-6 of the full pipeline's."""
    assert loaded.scorer is not None
    columns = validate_records(loaded, rows, len(rows)).columns
    labels, proba = loaded.scorer.score(columns, len(rows))
    want_labels, want_proba = full(loaded, columns)
    assert labels == want_labels
    assert np.max(np.abs(np.asarray(proba) - np.asarray(want_proba))) <= 1e-6


def test_cars_unseen_and_missing_values_score_like_the_pipeline(cars: Path) -> None:
    loaded = load(cars)
    base = record_of(cars)
    rows = [
        {**base, "Make": "a-make-never-seen"},
        {**base, "Horsepower": None, "Miles_per_Gallon": None, "Year": None},
        base,
    ]
    columns = validate_records(loaded, rows, 10).columns
    assert loaded.scorer is not None
    labels, proba = loaded.scorer.score(columns, len(rows))
    want_labels, want_proba = full(loaded, columns)
    assert labels == want_labels
    assert np.allclose(proba, want_proba, atol=1e-6, rtol=0)


def record_of(model_dir: Path) -> dict[str, Any]:
    import pandas as pd

    row = pd.read_parquet(model_dir / "background.parquet").iloc[0]
    return {k: None if pd.isna(v) else getattr(v, "item", lambda v=v: v)() for k, v in row.items()}


def test_a_compiled_scorer_that_disagrees_is_not_used(
    cancer: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlconf.serve.fast import steps

    monkeypatch.setitem(
        steps.NUMERIC, "sklearn.preprocessing._data.StandardScaler", lambda step: lambda x: x
    )
    loaded = load(cancer)
    assert loaded.scorer is None
    assert "disagreed" in loaded.scorer_note


def test_a_step_without_fast_path_keeps_the_full_pipeline(cancer: Path) -> None:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    loaded = load(cancer)
    steps = list(loaded.model.pipeline.steps)
    steps.insert(1, ("custom", FunctionTransformer().fit(None)))
    model = dataclasses.replace(loaded.model, pipeline=Pipeline(steps))
    rebuilt = with_compiled_scorer(dataclasses.replace(loaded, model=model, scorer=None))
    assert rebuilt.scorer is None
    assert "custom" in rebuilt.scorer_note and "FunctionTransformer" in rebuilt.scorer_note


def test_a_plugin_fast_path_is_used_and_verified(
    cancer: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin's `fast_path` meta compiles its own step inside a column set."""
    from sklearn.preprocessing import FunctionTransformer

    from mlconf.core import component_registry

    loaded = load(cancer)
    model = _with_log_step(loaded)
    bare = with_compiled_scorer(dataclasses.replace(loaded, model=model, scorer=None))
    assert bare.scorer is None and "FunctionTransformer" in bare.scorer_note

    def fast_path(step: Any) -> Any:
        return np.tanh if isinstance(step, FunctionTransformer) else None

    registry = component_registry.Registry()
    registry.add("transform", "tanh_plugin", FunctionTransformer, fast_path=fast_path)
    monkeypatch.setattr(component_registry, "REGISTRY", registry)
    with_plugin = with_compiled_scorer(dataclasses.replace(loaded, model=model, scorer=None))
    assert with_plugin.scorer is not None, with_plugin.scorer_note


def _with_log_step(loaded: Loaded) -> Any:
    """A copy of the model whose numeric column set ends with tanh (refitted around it)."""
    import copy

    from sklearn.preprocessing import FunctionTransformer

    model = copy.deepcopy(loaded.model)
    features = model.pipeline.steps[0][1]
    _, branch, cols = features.transformers_[0]
    log = FunctionTransformer(np.tanh, feature_names_out="one-to-one").set_output(
        transform="pandas"
    )
    branch.steps.append(("log", log.fit(np.zeros((1, len(cols))))))
    return model


# -- item 2: the fast validator answers exactly as the request model -------------------------


BAD_VALUES: list[Any] = [None, "1.5", True, float("inf"), 1e9, -1.0, [1], {"a": 1}, 2**70]


def outcome(loaded: Loaded, body: Any) -> Any:
    try:
        return validate_records(loaded, body, 50).columns
    except RequestError as exc:
        return (exc.status, exc.kind, exc.message, exc.detail)


@pytest.mark.parametrize("extra_fields", ["ignore", "reject"])
def test_fast_validation_answers_as_the_request_model(cars: Path, extra_fields: str) -> None:
    loaded = load(cars, extra_fields)
    slow = dataclasses.replace(loaded, validator=None)
    base = record_of(cars)
    bodies: list[Any] = [base, [base, base], {**base, "extra": 1}, [], 3, "x", [base, 7]]
    for column in base:
        bodies.append({k: v for k, v in base.items() if k != column})
        for value in BAD_VALUES:
            bodies.append({**base, column: value})
            bodies.append([base, {**base, column: value}])
    for body in bodies:
        assert outcome(loaded, body) == outcome(slow, body), body


def test_fast_validation_keeps_regex_rules(cars: Path) -> None:
    from mlconf.serve.fast.validate import FastValidator
    from mlconf.serve.schema import request_model

    loaded = load(cars)
    rules = [
        dataclasses.replace(r, regex="[a-z]+") if r.column == "Make" else r for r in loaded.rules
    ]
    record_model = request_model(rules)
    from pydantic import TypeAdapter

    loaded = dataclasses.replace(
        loaded,
        rules=rules,
        record=record_model,
        adapter=TypeAdapter(list[record_model]),  # type: ignore[valid-type]
        validator=FastValidator(rules, "ignore"),
    )
    slow = dataclasses.replace(loaded, validator=None)
    base = record_of(cars)
    for make in ("ford", "Ford", "ford 2", "x"):
        body = {**base, "Make": make}
        assert outcome(loaded, body) == outcome(slow, body)
    assert isinstance(outcome(loaded, {**base, "Make": "Ford"}), tuple)


BODIES = [
    b'{"a": 1.5, "b": [1, 2, null], "c": "\\u00e9\\ud83d\\ude00"}',
    b"[" * 1000 + b"]" * 1000,
    b"[" * 600 + b"]" * 600,
    b"[" * 400 + b"]" * 400,
    b'{"a": NaN}',
    b'{"a": 1e999}',
    b'{"a": 123456789012345678901234567890}',
    b'{"a": "\\udfff"}',
    b"\xef\xbb\xbf{}",
    b"",
    b"  ",
    b'{"a": 1,}',
    b'{"a": "\x01"}',
    b"[" + b",".join([b'{"x": "]]]]"}'] * 600) + b"]",
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_orjson_reads_bodies_as_json_does(body: bytes) -> None:
    def parsed(parse: Any) -> Any:
        try:
            return ("ok", json.dumps(parse(body)))
        except RequestError as exc:
            return (exc.status, exc.kind, exc.message, exc.detail)
        except RecursionError:
            return "recursion"

    assert parsed(parse_json) == parsed(_parse_slowly)


# -- over HTTP: /model says which scorer serves, and a log line says so --------------------


@pytest.fixture
def served_cars(cars: Path, tmp_path: Path) -> Iterator[str]:
    app = create_app(str(cars), ServeConfig(reload_interval=None), f"sqlite:///{tmp_path / 'l.db'}")
    with running(app) as url:
        yield url


def test_model_route_and_log_say_which_scorer_serves(
    served_cars: str, cars: Path, caplog: pytest.LogCaptureFixture
) -> None:
    info = httpx.get(f"{served_cars}/model").json()
    assert info["scorer"]["compiled"] is True
    assert "verified" in info["scorer"]["note"]
    with caplog.at_level(logging.INFO, logger="mlconf.serve"):
        httpx.post(f"{served_cars}/admin/reload", timeout=30).raise_for_status()
    assert any("scorer: compiled" in r.getMessage() for r in caplog.records)
    body = httpx.post(f"{served_cars}/predict", json=record_of(cars), timeout=30).json()
    assert body["results"][0]["prediction"] in ("Europe", "Japan", "USA")


def test_settings_refused(cancer: Path) -> None:
    from mlconf.serve.command import check

    with pytest.raises(MlconfError, match="batch_window_ms"):
        check(ServeConfig(batch_window_ms=-1))
    with pytest.raises(MlconfError, match="batch_max_records"):
        check(ServeConfig(batch_max_records=0))
    assert record(cancer)


def test_the_compiled_xgboost_path_predicts_on_one_thread(cancer: Path) -> None:
    """OpenMP threads waiting for a busy core made single-record latency spike."""
    import json

    from mlconf.serve.fast.model import single_threaded_booster

    final = load(cancer).model.pipeline[-1]
    final = getattr(final, "estimator_", final)  # under a threshold step
    copy = single_threaded_booster(final)

    def threads(booster: Any) -> str:
        return str(json.loads(booster.save_config())["learner"]["generic_param"]["nthread"])

    assert threads(copy) == "1"
    assert threads(final.get_booster()) != "1" or final.n_jobs == 1  # the model keeps its own


@pytest.mark.parametrize(
    ("cores", "n_jobs", "expected"), [(2, None, None), (8, None, "7"), (8, 2, "2")]
)
def test_a_large_batch_leaves_a_core_to_the_event_loop_and_the_log(
    cancer: Path,
    monkeypatch: pytest.MonkeyPatch,
    cores: int,
    n_jobs: int | None,
    expected: str | None,
) -> None:
    """Big batches use the model's threads but one core fewer than the machine has (on 2
    cores: the one-thread booster itself)."""
    import json
    import os

    import mlconf.serve.fast.model as model

    final = load(cancer).model.pipeline[-1]
    final = getattr(final, "estimator_", final)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)
    monkeypatch.setattr(final, "n_jobs", n_jobs)
    few = model.single_threaded_booster(final)
    many = model.many_rows_booster(final, few)
    if expected is None:
        assert many is few
    else:
        config = json.loads(many.save_config())
        assert config["learner"]["generic_param"]["nthread"] == expected


def test_a_large_batch_scores_like_the_pipeline_on_the_models_threads(cars: Path) -> None:
    from mlconf.serve.fast.model import MANY_ROWS

    loaded = load(cars)
    assert loaded.scorer is not None, loaded.scorer_note
    rows = reference_records(loaded)
    assert_scores_like_the_pipeline(loaded, [rows[i % len(rows)] for i in range(MANY_ROWS + 10)])


def test_the_log_keeps_the_records_it_took_unchanged_and_converts_the_rest(cars: Path) -> None:
    loaded = load(cars)
    names = [rule.column for rule in loaded.rules]
    record = record_of(cars)
    same = validate_records(loaded, [record], 1)
    assert same.dicts(names)[0] is record  # no copy on the request path
    extra = validate_records(loaded, [{**record, "zzz": 1}], 1)  # an ignored extra field
    assert extra.dicts(names) == [record]
    if any(isinstance(v, float) for v in record.values()):
        as_int = {k: int(v) if isinstance(v, float) and v.is_integer() else v
                  for k, v in record.items()}  # fmt: skip
        converted = validate_records(loaded, [as_int], 1).dicts(names)[0]
        assert converted == record and converted is not as_int
