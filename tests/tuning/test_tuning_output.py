"""What tuning shows: a pruned trial's score reads as partial, and Optuna's plots leave
matplotlib's settings as they found them."""

from __future__ import annotations

import io
from pathlib import Path

import optuna
from rich.console import Console

from mlconf.ml.tuning.progress import TrialProgress
from mlconf.report.tuning_plots import save_tuning_plots


def study_with_a_pruned_trial() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 2:
            trial.report(0.99, step=0)
            raise optuna.TrialPruned()
        return x

    study.optimize(objective, n_trials=4)
    return study


def test_a_pruned_trial_is_shown_with_a_partial_score() -> None:
    study = study_with_a_pruned_trial()
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with TrialProgress(console, "roc_auc", 4, None) as progress:
        for trial in study.trials:
            progress.update(study, trial)
    pruned = next(line for line in out.getvalue().splitlines() if "trial 2:" in line)
    assert "pruned at a partial roc_auc 0.9900" in pruned


def test_tuning_plots_leave_the_plot_style_alone(tmp_path: Path) -> None:
    import matplotlib

    from mlconf.report.figures import pyplot

    pyplot()  # the Agg backend is mlconf's own choice, made before any plot
    before = dict(matplotlib.rcParams)
    save_tuning_plots(study_with_a_pruned_trial(), tmp_path)
    changed = {k for k, v in matplotlib.rcParams.items() if before.get(k) != v}
    assert changed == set()


def test_few_trials_per_range_is_one_warning_naming_the_parameters(tmp_path: Path) -> None:
    """A conditional parameter seen in one trial: Optuna warns per parameter on stderr;
    mlconf says it once, in the run's warnings."""
    import warnings

    study = optuna.create_study(direction="maximize")

    def objective(trial: optuna.Trial) -> float:
        policy = trial.suggest_categorical("policy", ["a", "b"])
        leaves = trial.suggest_int("leaves", 2, 9) if policy == "b" else 0
        return trial.suggest_float("x", 0, 1) + leaves

    study.enqueue_trial({"policy": "b"})
    for _ in range(5):
        study.enqueue_trial({"policy": "a"})
    study.optimize(objective, n_trials=6)
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        written, notes = save_tuning_plots(study, tmp_path)
    assert [p.name for p in written] == ["optimization_history.png", "param_importances.png"]
    assert not [w for w in leaked if "regimes" in str(w.message)]
    assert len(notes) == 1 and "param_importances.png" in notes[0], notes
    assert "leaves" in notes[0] and "may be inaccurate" in notes[0]
