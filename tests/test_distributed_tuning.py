"""Several `mlconf train` processes tuning one study on PostgreSQL, one of them killed mid-trial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import ROOT, run_train

from mlconf.core.errors import MlconfError

FAST = [
    "metrics.bootstrap=0",
    "tune.folds=2",
    "explore.enabled=false",
    "explain.enabled=false",
    "report.enabled=false",
    "privacy.scan=false",
]

# A model that, in the worker to be killed, hangs inside its first fit (mid-trial).
HANG = textwrap.dedent(
    """
    import os, time
    from pathlib import Path
    from sklearn.linear_model import LogisticRegression
    from mlconf import register

    class HangingLogistic(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            Path(os.environ["MLCONF_TEST_HANG"]).touch()
            time.sleep(600)

    @register("model", "hanging_logistic")
    def hanging_logistic(task, **params):
        return HangingLogistic(**params)
    """
)


def train(tmp_path: Path, name: str, url: str, *extra: str, env: dict[str, str] | None = None):
    command = [
        sys.executable, "-m", "mlconf.cli.main", "train", "experiment=wine", "model=logistic",
        "search=logistic", "tune.sampler=random", "tune.total_trials=6", f"tune.storage={url}",
        "tune.study_name=wine", "tune.heartbeat_interval=1", "tune.grace_period=3",
        f"deploy.registry_url=sqlite:///{tmp_path / 'mlconf.db'}", *FAST, *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{tmp_path}", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_workers_share_the_total_and_outlive_a_killed_one(
    postgres_url: str, tmp_path: Path
) -> None:
    (tmp_path / "hang_plugin.py").write_text(HANG)
    marker = tmp_path / "hanging"
    doomed = train(
        tmp_path, "doomed", postgres_url, "plugins=[hang_plugin]",
        "model.name=hanging_logistic", "search.model=hanging_logistic",
        env={"MLCONF_TEST_HANG": str(marker)},
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert doomed.poll() is None, doomed.communicate()[0]
        assert time.monotonic() < deadline, "the doomed worker never started its trial"
        time.sleep(0.1)
    workers = [train(tmp_path, f"w{k}", postgres_url) for k in range(2)]
    time.sleep(1.5)  # its trial has a heartbeat; the living workers are starting
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(30)
    for worker in workers:
        out, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, out

    import optuna

    study = optuna.load_study(study_name="wine", storage=postgres_url)
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") + states.count("PRUNED") == 6  # overall, not per worker
    assert "RUNNING" not in states
    # The killed worker's trial (the first) was marked failed through its stopped heartbeat.
    assert study.trials[0].state.name == "FAIL"
    assert all(t.user_attrs.get("over_budget") for t in study.trials[1:] if t.state.name == "FAIL")
    # Each worker seeds its sampler with its own identity: no two trials drew the same C.
    finished = [t.params["C"] for t in study.trials if t.state.name == "COMPLETE"]
    assert len(set(finished)) == len(finished)


def test_unreachable_storage_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://tuner:s3cret-pw@127.0.0.1:9/optuna"
    with pytest.raises(MlconfError) as caught:
        run_train(
            ["search=logistic", "model=logistic", f"tune.storage={url}", *FAST], tmp_path / "run"
        )
    text = caught.value.render()
    assert caught.value.where == "config key tune.storage"
    assert "s3cret-pw" not in text and "tuner:***@127.0.0.1:9/optuna" in text
    assert "database server is running" in text


def test_a_missing_driver_says_what_to_install(tmp_path: Path) -> None:
    url = "postgresql+pg8000://tuner:s3cret-pw@127.0.0.1:9/optuna"  # pg8000 is not installed
    with pytest.raises(MlconfError) as caught:
        run_train(
            ["search=logistic", "model=logistic", f"tune.storage={url}", *FAST], tmp_path / "run"
        )
    text = caught.value.render()
    assert caught.value.where == "config key tune.storage"
    assert "pip install pg8000" in text and "s3cret-pw" not in text
