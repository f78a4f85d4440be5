"""Studies from config: samplers and pruners by name, storage by URL, resuming, trials table."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest

from mlconf.core.errors import MlconfError
from mlconf.ml.tuning import study as tuning
from mlconf.ml.tuning.space import parse_space
from mlconf.ml.tuning.study import (
    PRUNERS,
    SAMPLERS,
    make_pruner,
    make_sampler,
    open_study,
    trials_frame,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {
    "x": {"type": "float", "low": -5.0, "high": 5.0},
    "kind": {"type": "categorical", "choices": ["a", "b"]},
    "y": {"type": "int", "low": 0, "high": 4, "when": {"kind": "b"}},
}


def objective(trial: optuna.Trial) -> float:
    params = parse_space(SPACE).suggest(trial)
    trial.set_user_attr("fold", 1)
    return -(params["x"] ** 2) + params.get("y", 0)


# --- samplers and pruners by name ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("tpe", optuna.samplers.TPESampler),
        ("random", optuna.samplers.RandomSampler),
        ("qmc", optuna.samplers.QMCSampler),
    ],
)
def test_sampler_by_name(name: str, cls: type) -> None:
    assert isinstance(make_sampler(name, seed=3), cls)


def test_tpe_is_multivariate_and_grouped_and_params_override() -> None:
    sampler = make_sampler("tpe", seed=3)
    assert sampler._multivariate is True  # type: ignore[attr-defined]
    assert sampler._group is True  # type: ignore[attr-defined]
    custom = make_sampler("tpe", seed=3, params={"n_startup_trials": 4, "group": False})
    assert custom._n_startup_trials == 4  # type: ignore[attr-defined]
    assert custom._group is False  # type: ignore[attr-defined]


def test_same_seed_same_parameters() -> None:
    def first_params(seed: int) -> list[dict[str, object]]:
        study = open_study(name="s", storage=None, direction="maximize", seed=seed)
        study.optimize(objective, n_trials=12)
        return [t.params for t in study.trials]

    assert first_params(7) == first_params(7)
    assert first_params(7) != first_params(8)


@pytest.mark.parametrize(
    ("name", "package"),
    [("cmaes", "cmaes"), ("gp", "torch")],
)
def test_sampler_missing_package_says_what_to_install(
    name: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tuning.importlib.util.find_spec
    monkeypatch.setattr(
        tuning.importlib.util,
        "find_spec",
        lambda mod, *a: None if mod == package else real(mod, *a),
    )
    with pytest.raises(MlconfError) as caught:
        make_sampler(name, seed=0)
    assert f"pip install {SAMPLERS[name].install}" in str(caught.value)
    assert package in SAMPLERS[name].install


def test_unknown_sampler_lists_names_and_closest() -> None:
    with pytest.raises(MlconfError) as caught:
        make_sampler("tpee", seed=0)
    message = str(caught.value)
    assert "Did you mean 'tpe'" in message
    assert all(name in message for name in SAMPLERS)
    assert caught.value.where == "config key tune.sampler"


def test_sampler_parameter_typo_names_closest() -> None:
    with pytest.raises(MlconfError) as caught:
        make_sampler("tpe", seed=0, params={"n_startup_trails": 5})
    assert "Did you mean 'n_startup_trials'" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "params", "cls"),
    [
        ("none", None, optuna.pruners.NopPruner),
        ("median", {"n_startup_trials": 2}, optuna.pruners.MedianPruner),
        ("percentile", {"percentile": 25.0}, optuna.pruners.PercentilePruner),
        ("successive_halving", None, optuna.pruners.SuccessiveHalvingPruner),
        ("hyperband", {"min_resource": 1, "max_resource": 9}, optuna.pruners.HyperbandPruner),
    ],
)
def test_pruner_by_name(name: str, params: dict[str, object] | None, cls: type) -> None:
    assert isinstance(make_pruner(name, params), cls)
    assert name in PRUNERS


def test_pruner_errors_name_the_problem() -> None:
    with pytest.raises(MlconfError, match="Did you mean 'median'"):
        make_pruner("medain")
    with pytest.raises(MlconfError, match="missing a required argument: 'percentile'"):
        make_pruner("percentile")
    with pytest.raises(MlconfError, match="rejected its parameters"):
        make_pruner("percentile", {"percentile": 150.0})


def test_pruner_prunes_in_a_study() -> None:
    study = open_study(
        name="p",
        storage=None,
        direction="maximize",
        pruner="median",
        pruner_params={"n_startup_trials": 2, "n_warmup_steps": 0},
    )

    def curve(trial: optuna.Trial) -> float:
        level = trial.suggest_float("level", 0.0, 1.0)
        for step in range(5):
            trial.report(level, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return level

    study.optimize(curve, n_trials=15)
    states = set(trials_frame(study)["state"])
    assert "PRUNED" in states and "COMPLETE" in states


# --- storage ------------------------------------------------------------------------------------


@pytest.mark.parametrize("storage", [None, "memory"])
def test_memory_storage(storage: str | None) -> None:
    study = open_study(name="m", storage=storage, direction="minimize", seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert len(study.trials) == 3
    assert study.direction == optuna.study.StudyDirection.MINIMIZE


# A separate process, as after a crash: same study name and seed, five more trials.
RESUME = textwrap.dedent(
    """
    import json, sys
    import optuna
    from mlconf.ml.tuning.space import parse_space
    from mlconf.ml.tuning.study import open_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = parse_space(json.loads(sys.argv[2]))
    study = open_study(name="resume", storage=sys.argv[1], direction="maximize", seed=11)
    study.optimize(lambda trial: -(space.suggest(trial)["x"] ** 2), n_trials=5)
    print(len(study.trials))
    """
)


def test_sqlite_study_resumes_in_a_new_process(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "er" / "study.db"
    url = f"sqlite:///{db}"
    study = open_study(name="resume", storage=url, direction="maximize", seed=11)
    assert db.parent.is_dir()
    study.optimize(objective, n_trials=5)
    first = [t.params for t in study.trials]

    proc = subprocess.run(
        [sys.executable, "-c", RESUME, url, json.dumps(SPACE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "10"

    again = open_study(name="resume", storage=url, direction="maximize", seed=11)
    finished = again.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(finished) == 10
    # The resumed sampler continues instead of replaying the first trials' parameters.
    assert [t.params for t in finished[5:]] != first
    assert not any(t.params == p for t in finished[5:] for p in first)
    # A worker killed mid-trial is marked failed by the next one, through the heartbeat.
    assert again._storage.get_heartbeat_interval() == tuning.HEARTBEAT_INTERVAL  # type: ignore[attr-defined]


CRASH = textwrap.dedent(
    """
    import os, sys, time
    import optuna
    from mlconf.ml.tuning.study import open_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(name="crash", storage=sys.argv[1], direction="maximize")

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        time.sleep(1.0)  # the heartbeat thread records its first beat (late on a busy machine)
        os._exit(9)  # the worker dies mid-trial, after its first heartbeat

    study.optimize(objective, n_trials=1)
    """
)


def test_trial_of_a_killed_worker_is_marked_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    proc = subprocess.run(
        [sys.executable, "-c", CRASH, url], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 9, proc.stderr
    monkeypatch.setattr(tuning, "GRACE_PERIOD", 1)
    time.sleep(2.2)  # SQLite timestamps have one-second resolution
    study = open_study(name="crash", storage=url, direction="maximize")
    assert [t.state.name for t in study.trials] == ["RUNNING"]
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE"]


def test_relative_sqlite_path_creates_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    open_study(name="rel", storage="sqlite:///studies/x.db", direction="maximize")
    assert (tmp_path / "studies" / "x.db").is_file()


def test_reopening_with_the_other_direction_is_an_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    open_study(name="d", storage=url, direction="maximize")
    with pytest.raises(MlconfError) as caught:
        open_study(name="d", storage=url, direction="minimize")
    assert "created to maximize" in str(caught.value)


def test_bad_direction_is_an_error() -> None:
    with pytest.raises(MlconfError, match="Did you mean 'maximize'"):
        open_study(name="x", storage=None, direction="maximise")


def test_bad_url_is_an_error() -> None:
    with pytest.raises(MlconfError) as caught:
        open_study(name="x", storage="not a url", direction="maximize")
    assert "'not a url' is not a database URL" in str(caught.value)
    assert caught.value.where == "config key tune.storage"


def test_unusable_database_names_url_without_password(tmp_path: Path) -> None:
    # A folder is not a database file: SQLAlchemy fails to open it.
    with pytest.raises(MlconfError) as caught:
        open_study(name="x", storage=f"sqlite:///{tmp_path}", direction="maximize")
    assert f"sqlite:///{tmp_path}" in str(caught.value)
    assert caught.value.fix

    # A server URL whose driver or server is missing: the password never shows.
    with pytest.raises(MlconfError) as caught:
        open_study(
            name="x",
            storage="postgresql://tuner:s3cret-pw@127.0.0.1:9/optuna",
            direction="maximize",
        )
    assert "s3cret-pw" not in str(caught.value)
    assert "postgresql://tuner:***@127.0.0.1:9/optuna" in str(caught.value)


# --- trials table -------------------------------------------------------------------------------


def test_trials_frame_columns_and_order() -> None:
    study = open_study(name="f", storage=None, direction="maximize", seed=1)
    study.optimize(objective, n_trials=8)
    frame = trials_frame(study, parse_space(SPACE))
    assert list(frame.columns) == [
        "number",
        "state",
        "value",
        "duration_s",
        "param_x",
        "param_kind",
        "param_y",
        "user_attr_fold",
    ]
    assert list(frame["number"]) == list(range(8))
    assert set(frame["state"]) == {"COMPLETE"}
    assert (frame["duration_s"] >= 0).all()
    assert frame["param_y"].isna().tolist() == [k == "a" for k in frame["param_kind"]]


def test_trials_frame_of_empty_study() -> None:
    study = open_study(name="e", storage=None, direction="maximize")
    frame = trials_frame(study)
    assert frame.empty
    assert list(frame.columns) == ["number", "state", "value", "duration_s"]


def test_importing_the_study_module_does_not_import_optuna() -> None:
    code = "import sys, mlconf.ml.tuning.study; print('optuna' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_a_trial_killed_before_its_first_heartbeat_fails_after_the_grace_period(
    tmp_path: Path,
) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = tuning.open_study(
        name="s", storage=url, direction="maximize", heartbeat_interval=1, grace_period=2
    )
    silent = study.ask()  # created RUNNING; its worker died before beating
    beating = study.ask()
    study._storage.record_heartbeat(beating._trial_id)
    tuning.fail_stale(study)
    assert {t.state for t in study.get_trials()} == {optuna.trial.TrialState.RUNNING}
    with sqlite3.connect(tmp_path / "s.db") as conn:  # both started an hour ago
        conn.execute("UPDATE trials SET datetime_start = datetime(datetime_start, '-1 hour')")
    tuning.fail_stale(study)
    states = {t.number: t.state for t in study.get_trials()}
    assert states[silent.number] == optuna.trial.TrialState.FAIL
    assert states[beating.number] == optuna.trial.TrialState.RUNNING  # it beats: alive


CLAIM_ENQUEUED = textwrap.dedent(
    """
    import json, sys, warnings
    import optuna
    from mlconf.ml.tuning.study import _open_rdb
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="claims", storage=_open_rdb(sys.argv[1]))
    claimed, errors = [], []
    while True:
        trial = study.ask()  # takes the next enqueued (WAITING) trial, if any is left
        if "queued" not in trial.user_attrs:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        claimed.append(trial.number)
        try:
            study.tell(trial, 1.0)
        except Exception as exc:  # another worker ran and told the same trial
            errors.append(str(exc))
    print(json.dumps({"claimed": claimed, "errors": errors}))
    """
)


def test_workers_sharing_a_sqlite_study_never_claim_the_same_enqueued_trial(
    tmp_path: Path,
) -> None:
    """Python's sqlite3 read a trial's state outside any transaction, so two workers both saw
    an enqueued trial WAITING and both ran it ("Cannot tell a COMPLETE trial"): 66 claims of
    60 trials by 3 workers before the fix."""
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    study = optuna.create_study(study_name="claims", storage=tuning._open_rdb(url))
    for x in range(60):
        study.enqueue_trial({"x": float(x)}, user_attrs={"queued": True})
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIM_ENQUEUED, url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    try:
        results = [json.loads(worker.communicate(timeout=120)[0]) for worker in workers]
    finally:  # a timeout must not leave a worker behind
        for worker in workers:
            worker.kill()
            worker.wait()
    assert [worker.returncode for worker in workers] == [0, 0, 0]
    claimed = [number for result in results for number in result["claimed"]]
    assert sorted(claimed) == list(range(60))
    assert not [error for result in results for error in result["errors"]]
