"""Serving pieces without a server: request models from a schema, the prediction log's
queue and failure counting, the `mlconf serve` settings parser."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
import pandas as pd
import sqlalchemy as sa
from pydantic import ValidationError
from serve_helpers import gated_log

import mlconf
from mlconf.core.errors import MlconfError
from mlconf.serve.command import settings_of
from mlconf.serve.schema import FieldRule, field_rules, request_model, to_frame
from mlconf.store.artifacts import TrainedModel
from mlconf.store.prediction_log import LoggedRows, PredictionLog, new_row


def cars_like() -> TrainedModel:
    schema = {
        "columns": {
            "Make": {"dtype": "str", "nullable": False},
            "Cylinders": {"dtype": "int", "nullable": False, "allowed": [4, 6, 8]},
            "Year": {"dtype": "int", "nullable": True, "min": 1970, "max": 1985},
            "Origin": {"dtype": "str", "allowed": ["USA", "Japan"]},
        }
    }
    background = pd.DataFrame({"Weight": [1.5, 2.5], "Cylinders": [4, 6]})
    return TrainedModel(
        pipeline=None,
        task="classification",
        target="Origin",
        input_columns=["Make", "Cylinders", "Year", "Weight", "Note"],
        manifest={"schema": schema},
        background=background,
    )


GOOD = {"Make": "ford", "Cylinders": 6, "Year": 1977, "Weight": 2.0, "Note": "x"}


def errors(model: type[Any], data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return [(str(e["loc"][0]), e["type"]) for e in info.value.errors()]


def test_rules_from_schema_then_background_then_any() -> None:
    rules = {r.column: r for r in field_rules(cars_like())}
    assert rules["Cylinders"].allowed == (4, 6, 8)
    assert (rules["Year"].min, rules["Year"].max, rules["Year"].nullable) == (1970, 1985, True)
    assert rules["Weight"].kind == "float"  # from the background rows
    assert rules["Note"].kind == "any"  # neither: any scalar
    assert "Origin" not in rules  # the target is no input


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Cylinders": 5}, ("Cylinders", "literal_error")),
        ({"Cylinders": "6"}, ("Cylinders", "literal_error")),
        ({"Year": 1969}, ("Year", "greater_than_equal")),
        ({"Year": 1977.5}, ("Year", "int_type")),
        ({"Make": None}, ("Make", "string_type")),
        ({"Make": 3}, ("Make", "string_type")),
        ({"Weight": "2"}, ("Weight", "float_type")),
    ],
)
def test_request_model_rules(change: dict[str, Any], expected: tuple[str, str]) -> None:
    model = request_model(field_rules(cars_like()))
    assert errors(model, {**GOOD, **change}) == [expected]


def test_numbers_that_cannot_reach_the_model_are_refused() -> None:
    """Issue 13: an int past int64 overflowed while the frame was built (a 500); an infinite
    number passed a column of any type into the model and the prediction log."""
    rules = [
        FieldRule("n", "int", True),
        FieldRule("x", "any", True),
        FieldRule("f", "float", True),
    ]
    model = request_model(rules)
    good = {"n": 2**63 - 1, "x": 1.7e308, "f": -1.7e308}  # finite extremes are accepted
    frame = to_frame([model.model_validate(good)], rules, cars_like())
    assert frame["n"].tolist() == [2**63 - 1]
    assert errors(model, {**good, "n": 2**63}) == [("n", "less_than_equal")]
    assert errors(model, {**good, "n": -(2**63) - 1}) == [("n", "greater_than_equal")]
    assert ("x", "finite_number") in errors(model, {**good, "x": float("inf")})
    assert errors(model, {**good, "f": float("nan")}) == [("f", "finite_number")]


def test_unknown_category_passes_and_frame_has_training_dtypes() -> None:
    source = cars_like()
    rules = field_rules(source)
    model = request_model(rules)
    records = [model.model_validate({**GOOD, "Make": "never-seen"}), model.model_validate(GOOD)]
    frame = to_frame(records, rules, source)
    assert list(frame.columns) == source.input_columns
    assert frame["Make"].tolist() == ["never-seen", "ford"]
    assert frame["Cylinders"].dtype == "int64"
    assert frame["Weight"].dtype == "float64"
    nulls = to_frame([model.model_validate({**GOOD, "Year": None})], rules, source)
    assert nulls["Year"].isna().all()


def test_extra_fields_setting() -> None:
    rules = field_rules(cars_like())
    assert request_model(rules, "ignore").model_validate({**GOOD, "zzz": 1})
    assert errors(request_model(rules, "reject"), {**GOOD, "zzz": 1}) == [
        ("zzz", "extra_forbidden")
    ]
    with pytest.raises(MlconfError, match="extra_fields"):
        request_model(rules, "drop")


def row(i: int) -> dict[str, Any]:
    return new_row(f"id-{i}", "m", "1", {"a": i}, {"prediction": 1}, 1.0)


def test_prediction_log_tells_which_version_made_a_logged_prediction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    plog = PredictionLog(url, queue_size=100)
    plog.submit([new_row("old", "m", "3", {"a": 1}, {"prediction": 1}, 1.0)])
    assert plog.flush()
    plog.close()
    reopened = PredictionLog(url, queue_size=100)  # a new process: only the table knows
    assert reopened.origin("old") == ("m", "3")
    assert reopened.origin("never") is None
    reopened.close()


def test_prediction_log_writes_in_background(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'log.db'}"
    plog = PredictionLog(url, queue_size=100)
    plog.submit([row(i) for i in range(30)])
    assert plog.known("id-3")  # known before it is written
    assert plog.origin("id-3") == ("m", "1")  # with the model version that made it
    assert plog.flush()
    plog.add_feedback("id-3", {"label": 1})
    plog.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from predictions")).scalar_one() == 30
        assert conn.execute(sa.text("select count(*) from prediction_feedback")).scalar_one() == 1
    engine.dispose()
    assert (plog.written, plog.dropped, plog.failed) == (30, 0, 0)


def test_full_queue_and_failed_writes_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gate = threading.Event()

    plog = gated_log(f"sqlite:///{tmp_path / 'log.db'}", gate, queue_size=2)
    # The writer blocks holding what it took off the queue (it may race a few rows ahead of
    # submit before it blocks); the queue holds two; every other row is dropped, not waited on.
    plog.submit([row(i) for i in range(1000)])
    assert plog.dropped >= 1
    assert any("queue is full" in r.getMessage() for r in caplog.records)
    gate.set()
    assert plog.flush()
    assert plog.written + plog.dropped == 1000
    # the table disappears: writes fail, are counted and logged, submit never raises
    with plog.engine.begin() as conn:
        conn.execute(sa.text("drop table predictions"))
    plog.submit([row(100)])
    assert plog.flush()
    assert plog.failed == 1
    assert any("could not write 1 row" in r.getMessage() for r in caplog.records)
    plog.close()


def parse(args: list[str], project: Path) -> tuple[str, str, Any]:
    """What `mlconf serve ARGS` would serve, run in the folder `project`."""
    conf = project / "conf"
    return settings_of(mlconf.compose("serve", args, config_dir=conf if conf.is_dir() else None))


def test_serve_settings(tmp_path: Path) -> None:
    args = ["model=m@production", "port=9000", "serve.max_records=5"]
    model, url, settings = parse([*args, "deploy.serve.extra_fields=reject"], project=tmp_path)
    assert (model, settings.port, settings.max_records, settings.extra_fields) == (
        "m@production",
        9000,
        5,
        "reject",
    )
    assert url == "sqlite:///experiments/mlconf.db"
    (tmp_path / "conf" / "deploy").mkdir(parents=True)
    (tmp_path / "conf" / "deploy" / "default.yaml").write_text(
        "registry_url: sqlite:///x.db\nserve:\n  port: 7000\n"
    )
    _, url, settings = parse(["model=m"], project=tmp_path)
    assert (url, settings.port) == ("sqlite:///x.db", 7000)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model=m", "prot=1"], "Did you mean 'port'"),
        (["model=m", "port=abc"], "deploy.serve.port"),
        (["model=m", "extra_fields=drop"], "ignore, reject"),
        (["model=m", "workers=0"], "workers=0"),
        (["model=m", "max_records=0"], "max_records must be at least 1"),
        (["model"], "'model' is not KEY=VALUE"),
    ],
)
def test_serve_settings_errors(tmp_path: Path, args: list[str], message: str) -> None:
    with pytest.raises(MlconfError, match=message):
        parse(args, project=tmp_path)


def test_serve_without_a_model_serves_the_experiments_production_version(tmp_path: Path) -> None:
    assert parse([], project=tmp_path)[0] == "breast_cancer@production"
    assert parse(["experiment=cars"], project=tmp_path)[0] == "cars@production"


def test_every_answer_is_strict_json() -> None:
    # Starlette refuses NaN when rendering (a 500); mlconf's answers write null instead.
    import json

    from mlconf.serve.responses import StrictJSONResponse

    body = StrictJSONResponse({"score": float("nan"), "top": [float("inf"), 1.0]}).body
    assert json.loads(body) == {"score": None, "top": [None, 1.0]}


def test_the_service_log_follows_stderr_after_the_command_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mlconf serve` run in-process (a notebook, the tests) must not leave the root logger
    writing to a stream its caller closed: later lines go to the stderr of their time."""
    import io
    import logging

    from mlconf.serve.service_log import configure_service_logging

    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(logging.root, "level", logging.root.level)
    during, after = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", during)
    configure_service_logging()
    logging.getLogger("mlconf.test").warning("while serving")
    assert "while serving" in during.getvalue()
    during.close()
    monkeypatch.setattr(sys, "stderr", after)
    logging.getLogger("mlconf.test").error("later")
    assert "later" in after.getvalue()
    assert "Logging error" not in after.getvalue()


@pytest.mark.parametrize("n", [1, 63, 64, 1000])
def test_prediction_ids_are_unique_version_7_uuids_in_time_order(n: int) -> None:
    """Ids of one moment sort together (the log's index grows at its end); each is a
    standard UUID, whichever way (few or many) it was made."""
    import time
    import uuid

    from mlconf.serve.predicting import new_ids

    first = new_ids(n)
    time.sleep(0.002)
    later = new_ids(n)
    assert len(set(first + later)) == 2 * n
    for text in first + later:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, text)
    assert max(first) < min(later)


def test_ids_not_yet_written_are_known_from_memory_the_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feedback right after a prediction finds its model before the writer wrote the row;
    memory keeps at least the newest _RECENT_IDS ids and forgets the oldest."""
    import mlconf.store.prediction_log as prediction_log

    monkeypatch.setattr(prediction_log, "_RECENT_IDS", 10)
    gate = threading.Event()

    plog = gated_log(f"sqlite:///{tmp_path / 'log.db'}", gate, queue_size=1000)
    for start in range(0, 30, 5):
        plog.submit(
            [
                new_row(f"id-{i}", "m", str(start), {"a": i}, {}, 1.0)
                for i in range(start, start + 5)
            ]
        )
    assert [plog.origin(f"id-{i}") for i in (29, 20)] == [("m", "25"), ("m", "20")]
    assert plog.origin("id-0") is None  # forgotten in memory and not written yet
    gate.set()
    assert plog.flush()
    assert plog.origin("id-0") == ("m", "0")  # written: read back from the table
    plog.close()


def test_the_writer_gathers_rows_into_few_transactions_and_stops_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One commit per request would cost the serving threads CPU and GIL: the writer waits
    (here up to 30 s) until enough rows (here 10) are queued; closing does not wait."""
    import time

    import mlconf.store.prediction_log as prediction_log

    monkeypatch.setattr(prediction_log, "_GATHER_S", 30.0)
    monkeypatch.setattr(prediction_log, "_GATHER_ROWS", 10)
    batches: list[int] = []

    class Counted(PredictionLog):
        def _write(self, batch: list[LoggedRows]) -> None:
            batches.append(sum(map(len, batch)))
            super()._write(batch)

    plog = Counted(f"sqlite:///{tmp_path / 'log.db'}", queue_size=100)
    for i in range(10):
        plog.submit([row(i)])
    assert plog.flush(timeout=20)
    assert batches == [10]
    plog.submit([row(10)])  # fewer than 10: the writer waits for more
    started = time.monotonic()
    plog.close(timeout=20)
    assert time.monotonic() - started < 10
    assert batches == [10, 1] and plog.written == 11
