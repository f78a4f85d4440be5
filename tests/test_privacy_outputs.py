"""The privacy policy holds on everything mlconf writes: a training run, a served model's
prediction log, a batch scoring's output and quarantine, a monitoring run. Every file they
leave is searched, byte for byte, for the raw personal values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FAST, compose_train, csv_data, quiet_console

pytest.importorskip("fastapi")
import httpx
import sqlalchemy as sa
from serve_helpers import running

from mlconf.config import ColumnSchema, ServeConfig
from mlconf.core.errors import MlconfError
from mlconf.deploy.batch import predict_file
from mlconf.monitoring.command import run_monitor
from mlconf.runner import RunResult, run
from mlconf.serve.app import create_app

SALT = "MLCONF_PII_SALT"
N = 160
# Rows that break the schema, in each protected column: their values end up in reasons.
BAD_EMAIL, BAD_NAME, BAD_PHONE = 7, 11, 13


def people(n: int, seed: int, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    ids = range(start, start + n)
    frame = pd.DataFrame(
        {
            "x": x,
            "email": [f"leaky.person{i}@example.com" for i in ids],
            # few names: the monitor's reference lists every one (unseen ones are shown)
            "full_name": [f"Zyxa{chr(97 + i % 5)} Quorfen" for i in ids],
            "phone": [f"+1 555-{100 + i % 900:03d}-{1000 + i:04d}" for i in ids],
            "y": np.where(x + rng.normal(scale=0.5, size=n) > 0, "yes", "no"),
        }
    )
    frame.loc[BAD_EMAIL, "email"] = f"leaky.person{start + BAD_EMAIL}@@example.com"
    frame.loc[BAD_NAME, "full_name"] = f"zyxa lowercase{start + BAD_NAME}"
    frame.loc[BAD_PHONE, "phone"] = f"+1 555 CALL {start + BAD_PHONE}"
    return frame


def raw_values(*frames: pd.DataFrame) -> set[str]:
    return {str(v) for f in frames for c in ("email", "full_name", "phone") for v in f[c]}


def leaks(folder: Path, values: set[str]) -> list[str]:
    """Every (file, raw value) pair where the file's bytes hold the value."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path}: {v}" for v in values if v.encode("utf-8") in data]
    return found


SCHEMA = {
    "email": r"[^@]+@[^@]+",
    "full_name": r"[A-Z][a-z]+ [A-Z][a-z]+",
    "phone": r"\+[0-9 ()-]+",
}
POLICY = ["+privacy.columns.email=hash", "+privacy.columns.full_name=hash"]
POLICY += ["+privacy.columns.phone=drop"]


def train_people(data: Path, run_dir: Path, *extra: str) -> RunResult:
    """A model of `y` from the people table, its schema checking the personal columns."""
    from omegaconf import open_dict

    cfg = compose_train(
        [
            *csv_data(data, name="people"),
            "problem.target=y",
            "problem.task=classification",
            "problem.positive_class=yes",
            "problem.primary_metric=roc_auc",
            "data.id_columns=[]",
            "schema.on_error=quarantine",
            *POLICY,
            *FAST,
            *extra,
        ]
    )
    with open_dict(cfg):
        for column, pattern in SCHEMA.items():
            cfg.schema.columns[column] = ColumnSchema(regex=pattern)
    result = run(cfg, run_dir=run_dir, console=quiet_console())
    assert result.record.status == "succeeded", result.record.error
    return result


@pytest.mark.slow
def test_no_raw_personal_value_in_any_output(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SALT, "a-long-random-secret")
    given = tmp_path_factory.mktemp("given")  # the user's own files: raw, not searched
    work = tmp_path_factory.mktemp("work")  # everything mlconf writes
    monkeypatch.chdir(work)
    train, score = people(N, 0), people(40, 1, start=N)
    train.to_csv(given / "people.csv", index=False)
    score.drop(columns=["y"]).to_csv(given / "new.csv", index=False)
    db = f"sqlite:///{work / 'mlconf.db'}"

    run_dir = work / "experiments" / "people" / "runs" / "r1"
    result = train_people(given / "people.csv", run_dir, f"deploy.registry_url={db}")
    model_dir = result.run_dir / "model"
    quarantine = pd.read_csv(result.run_dir / "data" / "quarantine.csv")
    assert len(quarantine) == 3 and "phone" not in quarantine.columns
    assert "pii:" in " ".join(quarantine["_reason"]) and "<dropped>" in " ".join(
        quarantine["_reason"]
    )

    app = create_app(str(model_dir), ServeConfig(reload_interval=None), db)
    with running(app) as url:
        records = score.drop(columns=["y"]).to_dict("records")
        answer = httpx.post(f"{url}/predict", json=records[:20], timeout=30)
        assert answer.status_code == 200, answer.text
        for record in records[20:25]:
            assert httpx.post(f"{url}/predict", json=record, timeout=30).status_code == 200
        pid = answer.json()["results"][0]["prediction_id"]
        assert httpx.post(f"{url}/feedback", json={"prediction_id": pid, "outcome": "yes"})
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        logged = conn.execute(sa.text("select inputs from predictions")).scalars().all()
    engine.dispose()
    assert len(logged) == 25
    assert all('"pii:' in row and "phone" not in row for row in logged)

    summary = predict_file(
        str(model_dir),
        str(given / "new.csv"),
        work / "scored.csv",
        chunk_rows=16,
        registry_url=db,
        keep=["email"],
    )
    assert summary.quarantined == 2 and summary.quarantine is not None
    bad = pd.read_csv(summary.quarantine)
    assert "phone" not in bad.columns and bad["email"].str.startswith("pii:").all()
    assert pd.read_csv(work / "scored.csv")["email"].str.startswith("pii:").all()

    run_monitor(str(model_dir), registry_url=db, current=given / "new.csv", out_dir=work / "m1")
    run_monitor(str(model_dir), registry_url=db, settings=["last=100"], out_dir=work / "m2")

    found = leaks(work, raw_values(train, score))
    assert not found, "\n".join(found[:20])


def test_a_kept_column_the_policy_drops_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SALT, "secret")
    frame = people(60, 2)
    frame.to_csv(tmp_path / "p.csv", index=False)
    result = train_people(
        tmp_path / "p.csv",
        tmp_path / "run",
        f"deploy.registry_url=sqlite:///{tmp_path / 'r.db'}",
        "stages=[load,validate,privacy,prepare,split,select,tune,train,evaluate,save]",
    )
    with pytest.raises(MlconfError, match=r"privacy policy drops column\(s\) 'phone'") as caught:
        predict_file(
            str(result.run_dir / "model"),
            str(tmp_path / "p.csv"),
            tmp_path / "out.csv",
            chunk_rows=100,
            registry_url=f"sqlite:///{tmp_path / 'r.db'}",
            keep=["phone"],
        )
    assert caught.value.where == "keep="
    assert not (tmp_path / "out.csv").exists()
