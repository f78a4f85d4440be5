"""`tune.total_trials`: one budget for a study shared by several workers, on PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from mlconf.ml.tuning.budget import OVER_BUDGET, run_to_total
from mlconf.ml.tuning.study import open_study


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1, 1)
    time.sleep(0.05)  # long enough for the workers' trials to overlap
    return -(x**2)


def states(study: optuna.Study) -> list[str]:
    return [t.state.name for t in study.get_trials(deepcopy=False)]


pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")


def test_workers_together_finish_exactly_the_total(postgres_url: str) -> None:
    ran: dict[int, list[optuna.trial.FrozenTrial]] = {}
    workers = [
        open_study(
            name="shared", storage=postgres_url, direction="maximize", sampler="random", seed=k
        )
        for k in range(2)
    ]

    def worker(k: int) -> None:
        ran[k] = run_to_total(workers[k], objective, total=6)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    study = open_study(name="shared", storage=postgres_url, direction="maximize")
    finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(finished) == 6
    assert "RUNNING" not in states(study)
    # Trials started in a race past the total end as FAIL, marked and not counted.
    surplus = [t for t in study.trials if t.state == TrialState.FAIL]
    assert all(t.user_attrs.get(OVER_BUDGET) for t in surplus)
    assert sorted(t.number for k in ran for t in ran[k]) == [t.number for t in finished]
    assert all(ran.values()), "every worker ran some of the trials"
    # A worker joining a finished study runs nothing.
    assert run_to_total(study, objective, total=6) == []


def test_a_trial_started_in_a_race_past_the_total_ends_at_once(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another worker starts the last trial between our count and our ask: ours is surplus."""
    study = open_study(name="race", storage=postgres_url, direction="maximize")
    other = open_study(name="race", storage=postgres_url, direction="maximize")
    real = study.get_trials
    calls = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        seen = real(*args, **kwargs)
        if not calls:
            other.ask()  # the other worker's trial, right after our count
        calls.append(1)
        return seen

    study.get_trials = racing  # type: ignore[method-assign]
    fitted = []
    with caplog.at_level(logging.WARNING):
        mine = run_to_total(
            study, lambda t: fitted.append(t) or 0.0, total=1, timeout=1.0, poll=0.1
        )
    assert mine == [] and fitted == []
    assert states(study) == ["RUNNING", "FAIL"]
    assert study.trials[1].user_attrs == {OVER_BUDGET: True}
    assert "failed" not in caplog.text


def test_a_dead_workers_trial_is_failed_by_heartbeat_and_replaced(postgres_url: str) -> None:
    """A RUNNING trial whose heartbeat stopped counts until the grace period, then is redone."""
    dead = open_study(
        name="s", storage=postgres_url, direction="maximize", heartbeat_interval=1, grace_period=2
    )
    orphan = dead.ask()
    dead._storage.record_heartbeat(orphan._trial_id)  # type: ignore[attr-defined]
    # ... and its worker dies: no more beats, no tell.
    alive = open_study(
        name="s", storage=postgres_url, direction="maximize", heartbeat_interval=1, grace_period=2
    )
    started = time.monotonic()
    mine = run_to_total(alive, objective, total=3, poll=0.2)
    assert [t.state.name for t in mine] == ["COMPLETE"] * 3
    assert states(alive) == ["FAIL", "COMPLETE", "COMPLETE", "COMPLETE"]
    assert alive.trials[0].number == orphan.number
    assert time.monotonic() - started < 60


def test_failing_trials_stop_the_worker_instead_of_looping(postgres_url: str) -> None:
    study = open_study(name="f", storage=postgres_url, direction="maximize")

    def broken(trial: optuna.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise ValueError("no")

    mine = run_to_total(study, broken, total=2, catch=(ValueError,))
    assert [t.state.name for t in mine] == ["FAIL", "FAIL"]


def test_timeout_stops_waiting_for_other_workers(postgres_url: str) -> None:
    study = open_study(name="t", storage=postgres_url, direction="maximize")
    study.ask()  # another worker's trial, still running (no heartbeat yet)
    started = time.monotonic()
    assert run_to_total(study, objective, total=1, timeout=0.5, poll=0.1) == []
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("overrides", "mixed"),
    [
        (["tune.total_trials=10"], False),  # in memory: one process, reproducible
        (["tune.total_trials=10", "tune.storage=sqlite:///s.db"], True),
        (["tune.total_trials=10", "tune.storage=sqlite:///s.db", "tune.sampler=qmc"], False),
        (["tune.storage=sqlite:///s.db"], False),  # every run adds its own n_trials
    ],
)
def test_only_workers_sharing_a_stored_budget_mix_their_seed(
    overrides: list[str], mixed: bool
) -> None:
    from helpers import compose_train

    from mlconf.runner import typed
    from mlconf.stages.tune import sampler_seed

    conf = typed(compose_train(["seed=7", *overrides]))
    assert (sampler_seed(conf) != 7) is mixed
