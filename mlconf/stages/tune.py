"""Tune: an Optuna study over the `search/` space, scored by k-fold CV on the training part.

Runs only when `search.space` is set. Each trial's folds are reported to the pruner,
which stops hopeless trials early. The best params replace `model.params` for the
train stage; every trial lands in `trials.csv`, the winner in `best_params.json`, and
the search's history and parameter importances in `plots/`.
With `tune.storage` a database URL, a killed run resumes its study where it stopped.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mlconf.config import ModelConfig
from mlconf.errors import MlconfError
from mlconf.registry import get

if TYPE_CHECKING:
    from mlconf.config import TrainConfig
    from mlconf.stages.context import RunContext


def tune(ctx: RunContext) -> None:
    conf = ctx.conf
    if not conf.search.space:
        return
    import optuna

    from mlconf.stages.crossval import cross_validate
    from mlconf.stages.train import seeded_pipeline, training_data
    from mlconf.store.atomic import write_json, write_with
    from mlconf.tuning.space import parse_space
    from mlconf.tuning.study import open_study, trials_frame

    model_name = tuned_model(conf)
    space = parse_space(dict(conf.search.space))
    tune_conf = conf.tune
    primary = conf.problem.primary_metric
    higher = bool(get("metric", primary).meta.get("greater_is_better", True))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(
        name=tune_conf.study_name or f"{conf.experiment_name}-{model_name}",
        storage=tune_conf.storage,
        direction="maximize" if higher else "minimize",
        sampler=tune_conf.sampler,
        pruner=tune_conf.pruner,
        seed=conf.seed,
        sampler_params=tune_conf.sampler_params,
        pruner_params=tune_conf.pruner_params,
    )
    x, y = training_data(ctx)
    base_params = dict(conf.model.params) if conf.model.name == model_name else {}

    def objective(trial: optuna.Trial) -> float:
        params = {**base_params, **space.suggest(trial)}
        pipeline = seeded_pipeline(ctx, ModelConfig(name=model_name, params=params))

        def report(fold: int, values: dict[str, list[float]]) -> None:
            so_far = [v for v in values[primary] if not math.isnan(v)]
            if so_far:
                trial.report(sum(so_far) / len(so_far), step=fold)
            if trial.should_prune():
                raise optuna.TrialPruned()

        scores = cross_validate(
            ctx, pipeline, x, y, tune_conf.folds, model_name, on_fold=report, quiet=True
        )
        value = scores[primary]["mean"]
        if math.isnan(value):
            raise MlconfError(f"{primary} is undefined on the folds", where="stage tune")
        return value

    def progress(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        best = _best_value(study)
        shown = "pruned" if trial.value is None else f"{primary} {trial.value:.4f}"
        ctx.console.print(f"  trial {trial.number}: {shown} (best {best})", highlight=False)

    stored = len(study.trials)
    study.optimize(
        objective,
        n_trials=tune_conf.n_trials if tune_conf.n_trials > 0 else None,
        timeout=tune_conf.timeout,
        callbacks=[progress],
        catch=(ValueError,),
    )
    frame = trials_frame(study, space)
    write_with(ctx.artifact("trials.csv"), lambda tmp: frame.to_csv(tmp, index=False))
    if _completed(study) == 0:
        raise MlconfError(
            "no trial finished: every one failed or was pruned",
            where="stage tune",
            fix="see trials.csv; widen the search space or use tune.pruner=none",
        )
    from mlconf.report.tuning_plots import save_tuning_plots

    _, skipped = save_tuning_plots(study, ctx.run_dir / "plots")
    for reason in skipped:
        ctx.warn(f"tuning plot skipped: {reason}")
    best = {**base_params, **space.decode(study.best_params)}
    write_json(
        ctx.artifact("best_params.json"),
        {"model": model_name, "params": best, primary: study.best_value},
    )
    ctx.count("tuning", {"trials": len(study.trials) - stored, "study_trials": len(study.trials)})
    conf.model = ModelConfig(name=model_name, params=best)
    ctx.console.print(
        f"  best of {len(study.trials)} trials: {primary} {study.best_value:.4f} "
        f"(trial {study.best_trial.number}; trials.csv, best_params.json)"
    )


def tuned_model(conf: TrainConfig) -> str:
    """The space belongs to one model family; it must be the configured one.

    Also checks the budget, so that both mistakes surface before any data is read.
    """
    if conf.tune.n_trials < 1 and conf.tune.timeout is None:
        raise MlconfError(
            f"tuning needs a budget, but tune.n_trials is {conf.tune.n_trials} and no "
            "tune.timeout is set",
            where="config key tune.n_trials",
            fix="set tune.n_trials=20 (or tune.timeout=<seconds>)",
        )
    if conf.tune.folds < 2:
        raise MlconfError(
            f"tuning scores trials by k-fold CV and needs at least 2 folds, got {conf.tune.folds}",
            where="config key tune.folds",
        )
    owner = conf.search.model or conf.model.name
    if owner != conf.model.name and not conf.model_selection.candidates:
        raise MlconfError(
            f"the search space is for model '{owner}', but the model is '{conf.model.name}'",
            where="config key search.model",
            fix=f"add model={owner}, or pick the search space of {conf.model.name}",
        )
    return owner


def _completed(study: Any) -> int:
    import optuna

    return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def _best_value(study: Any) -> str:
    return f"{study.best_value:.4f}" if _completed(study) else "-"
