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
