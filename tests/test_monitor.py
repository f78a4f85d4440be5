"""`mlconf monitor` end to end: train cars, shift a few features on purpose, monitor.

One small run (LEAN) is shared by the module; each test monitors its own current data.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import CARS, LEAN, TRACEBACK, cli, output_of, run_train
from shift_data import shift

from mlconf.core.errors import MlconfError
from mlconf.monitoring.command import SECTIONS, Alert, run_monitor

SHIFTED = ["Horsepower", "Weight_in_lbs", "Make"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("monitor")
    run_dir = run_train(["experiment=cars", *LEAN], folder / "run").run_dir
    return {"folder": folder, "model": run_dir / "model", "db": folder / "mlconf.db"}


def url(trained: dict[str, Path]) -> str:
    return f"sqlite:///{trained['db']}"


def monitor(trained: dict[str, Path], frame: pd.DataFrame, name: str, **kw: object):
    path = trained["folder"] / f"{name}.csv"
    frame.to_csv(path, index=False)
    return run_monitor(
        str(trained["model"]),
        registry_url=url(trained),
        current=path,
        out_dir=trained["folder"] / "out" / name,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.slow
def test_reference_is_saved_with_the_model_and_covered_by_the_manifest(
    trained: dict[str, Path],
) -> None:
    manifest = json.loads((trained["model"] / "manifest.json").read_text())
    reference = json.loads((trained["model"] / "reference.json").read_text())
    assert "reference.json" in manifest["files"]
    assert reference["model_sha256"] == manifest["files"]["pipeline.skops"]
    assert set(reference["columns"]) == set(manifest["input_columns"])
    assert reference["columns"]["Make"]["kind"] == "categorical"
    hp = reference["columns"]["Horsepower"]
    assert hp["kind"] == "numeric" and len(hp["counts"]) == len(hp["edges"]) + 1
    assert hp["missing"] > 0  # cars has missing horsepower
    assert set(reference["prediction"]["label"]["categories"]) == {"USA", "Japan", "Europe"}
    assert "accuracy" in reference["validation_metrics"]


@pytest.mark.slow
def test_alerts_name_exactly_the_shifted_features(trained: dict[str, Path]) -> None:
    cars = pd.read_csv(CARS)
    result = monitor(trained, shift(cars, SHIFTED), "shifted")
    drift = result.summary["drift"]
    assert set(drift["drifted"]) == set(SHIFTED)
    flagged = {
        a.numbers["feature"]
        for a in result.alerts
        if a.kind == "drift" and a.level == "alert" and "feature" in a.numbers
    }
    assert flagged == set(SHIFTED)
    assert result.exit_code == 1
    new = [a for a in result.alerts if a.kind == "quality" and "'Make'" in a.message]
    assert new and "NEW-ford" in new[0].message
    saved = json.loads((result.out_dir / "monitoring.json").read_text())
    assert saved["drift"]["drifted"] == drift["drifted"] and saved["status"] == "alert"
    assert len(saved["plots"]) == 3 and (result.out_dir / saved["plots"][0]["path"]).is_file()
    html = (result.out_dir / "monitoring_report.html").read_text()
    assert "Horsepower" in html and "data:image/png;base64," in html


@pytest.mark.slow
def test_unshifted_data_raises_no_alert(trained: dict[str, Path]) -> None:
    result = monitor(trained, pd.read_csv(CARS), "same")
    assert result.summary["drift"]["drifted"] == []
    assert [a for a in result.alerts if a.level == "alert"] == []
    assert result.exit_code == 0
    assert result.summary["prediction_drift"]["level"] == "ok"


@pytest.mark.slow
def test_missing_feature_is_a_quality_alert_and_the_rest_is_computed(
    trained: dict[str, Path],
) -> None:
    cars = pd.read_csv(CARS).drop(columns=["Acceleration"])
    result = monitor(trained, cars, "missing")
    assert result.summary["quality"]["missing_features"] == ["Acceleration"]
    assert any(a.kind == "quality" and "Acceleration" in a.message for a in result.alerts)
    features = {r["feature"] for r in result.summary["drift"]["features"]}
    assert "Acceleration" not in features and "Horsepower" in features
    assert "not scored" in result.summary["prediction_drift"]["note"]


@pytest.mark.slow
def test_only_new_categories(trained: dict[str, Path]) -> None:
    cars = pd.read_csv(CARS).assign(Make="zz-unknown")
    result = monitor(trained, cars, "newcats")
    make = next(r for r in result.summary["drift"]["features"] if r["feature"] == "Make")
    assert make["level"] == "alert"
    quality = next(c for c in result.summary["quality"]["columns"] if c["feature"] == "Make")
    assert quality["new_share"] == 1.0 and quality["new_categories"] == ["zz-unknown"]


@pytest.mark.slow
def test_reference_of_another_version_is_a_clear_error(trained: dict[str, Path]) -> None:
    other = json.loads((trained["model"] / "reference.json").read_text())
    other["model_sha256"] = "0" * 64
    path = trained["folder"] / "other_reference.json"
    path.write_text(json.dumps(other))
    with pytest.raises(MlconfError, match="another model version"):
        monitor(trained, pd.read_csv(CARS), "other", reference=path)


@pytest.mark.slow
def test_prediction_log_window_and_empty_window(trained: dict[str, Path]) -> None:
    from mlconf.store.prediction_log import PredictionLog, new_row

    db = trained["folder"] / "log.db"
    log_url = f"sqlite:///{db}"
    with pytest.raises(MlconfError, match="is empty"):
        run_monitor(
            str(trained["model"]), registry_url=log_url, window="7d", out_dir=db.parent / "w0"
        )
    cars = shift(pd.read_csv(CARS), ["Horsepower"]).drop(columns=["Origin", "Name"])
    log = PredictionLog(log_url)
    rows = []
    for i, record in enumerate(cars.to_dict(orient="records")):
        inputs = {k: (None if pd.isna(v) else v) for k, v in record.items()}
        rows.append(new_row(f"id-{i}", "cars", "run", inputs, {"prediction": "USA"}, 1.0))
    log.submit(rows)
    assert log.flush()
    log.close()
    result = run_monitor(
        str(trained["model"]), registry_url=log_url, window="1h", out_dir=db.parent / "w1"
    )
    assert result.summary["current"]["rows"] == len(cars)
    assert "prediction log" in result.summary["current"]["source"]
    assert result.summary["drift"]["drifted"] == ["Horsepower"]
    # every logged prediction is USA: the predicted-class distribution drifted
    assert result.summary["prediction_drift"]["level"] == "alert"
    last = run_monitor(
        str(trained["model"]), registry_url=log_url, settings={"last": 50}, out_dir=db.parent / "w2"
    )
    assert last.summary["current"]["rows"] == 50


@pytest.mark.slow
def test_sections_hook_adds_to_the_summary_report_and_alerts(
    trained: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def health(ctx):  # type: ignore[no-untyped-def]
        return {
            "p95_ms": 12.5,
            "rows": [{"window": "1h", "errors": 3}],
            "alerts": [Alert("health", "alert", "p95 latency over SLO", {"p95_ms": 12.5})],
        }

    monkeypatch.setitem(SECTIONS, "health", health)  # restores the built-in health section
    result = monitor(trained, pd.read_csv(CARS), "sections")
    assert result.summary["sections"]["health"]["p95_ms"] == 12.5
    assert result.exit_code == 1 and any(a.kind == "health" for a in result.alerts)
    html = (result.out_dir / "monitoring_report.html").read_text()
    assert "p95 latency over SLO" in html


@pytest.mark.slow
def test_the_config_chooses_the_sections_and_their_order(trained: dict[str, Path]) -> None:
    result = monitor(trained, pd.read_csv(CARS), "chosen", settings={"sections": ["impact"]})
    # the rules' decisions are always recorded after the chosen sections
    assert list(result.summary["sections"]) == ["impact", "decisions"]
    assert list(result.summary["stage_seconds"]) == ["quality", "drift", "prediction", "impact"]
    none = monitor(trained, pd.read_csv(CARS), "none", settings={"sections": []})
    assert list(none.summary["sections"]) == ["decisions"]
    assert none.summary["drift"]["compared"] > 0
    with pytest.raises(MlconfError, match=r"monitoring.sections\[1\].*Did you mean 'health'"):
        monitor(trained, pd.read_csv(CARS), "typo", settings={"sections": ["impact", "helth"]})


@pytest.mark.slow
def test_cli_sweeps_monitoring_settings_like_train(trained: dict[str, Path]) -> None:
    folder = trained["folder"] / "sweep"
    folder.mkdir()
    shutil.copyfile(CARS, folder / "now.csv")
    base = [f"model={trained['model']}", f"registry_url={url(trained)}", "current=now.csv"]
    proc = cli(["monitor", "-m", *base, "drift.numeric=psi,ks"], cwd=folder)
    assert proc.returncode == 0, output_of(proc)
    runs = sorted((folder / "experiments").glob("*/monitoring/*/monitoring.json"))
    tests = [json.loads(p.read_text())["settings"]["drift"]["numeric"] for p in runs]
    assert sorted(tests) == [["ks"], ["psi"]]


@pytest.mark.slow
def test_cli_exit_codes_history_and_watch(trained: dict[str, Path]) -> None:
    folder = trained["folder"]
    shifted = folder / "cli_shifted.csv"
    shift(pd.read_csv(CARS), SHIFTED).to_csv(shifted, index=False)
    same = folder / "cli_same.csv"
    shutil.copyfile(CARS, same)
    base = [f"model={trained['model']}", f"registry_url={url(trained)}"]
    ok = cli(["monitor", *base, f"current={same}", f"out={folder / 'c1'}"], cwd=folder)
    assert ok.returncode == 0, output_of(ok)
    bad = cli(["monitor", *base, f"current={shifted}", f"out={folder / 'c2'}"], cwd=folder)
    assert bad.returncode == 1, output_of(bad)
    assert "Horsepower" in bad.stdout and "monitoring_report.html" in bad.stdout
    for args, message in (
        ([f"current={folder / 'nope.csv'}"], "does not exist"),
        (["window=7x"], "not a duration"),
        (["window=7d", f"registry_url=sqlite:///{folder / 'empty.db'}"], "is empty"),
        (["current=x.csv", "drift.numeric=[psy]"], "Did you mean 'psi'"),
        ([], "no current data"),
    ):
        proc = cli(["monitor", *base, *args], cwd=folder)
        assert proc.returncode == 2, output_of(proc)
        assert message in proc.stderr and TRACEBACK not in output_of(proc)
    watch = cli(
        [
            "monitor",
            *base,
            f"current={same}",
            f"out={folder / 'watch'}",
            "--watch",
            "interval=0.1",
            "times=2",
        ],
        cwd=folder,
    )
    assert watch.returncode == 0, output_of(watch)
    assert sorted(p.name for p in (folder / "watch").iterdir()) == ["0001", "0002"]
    # a watch keeps going through a user error (an empty window is normal at night)
    empty = [f"model={trained['model']}", f"registry_url=sqlite:///{folder / 'quiet.db'}"]
    quiet = cli(["monitor", *empty, "window=1h", "--watch", "interval=0.1", "times=2"], cwd=folder)
    assert quiet.returncode == 2 and quiet.stderr.count("is empty") == 2, output_of(quiet)
    usage = cli(["monitor", "--help"], cwd=folder)
    assert usage.returncode == 0 and "exit codes" in usage.stdout
    history = cli(["monitor", "history", f"registry_url={url(trained)}", "model=cars"], cwd=folder)
    assert history.returncode == 0, output_of(history)
    assert "Horsepower" in history.stdout and "alert" in history.stdout
    assert history.stdout.count("cli_same.csv") >= 3
