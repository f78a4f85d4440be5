"""Tune: an Optuna study over the `search/` space, scored by k-fold CV on the training part.

Runs only when `search.space` is set. Each trial's folds are reported to the pruner,
which stops hopeless trials early. The best params replace `model.params` for the
train stage; every trial lands in `trials.csv`, the winner in `best_params.json`, and
the search's history and parameter importances in `plots/`.
With `tune.storage` a database URL, a killed run resumes its study where it stopped, and
with `tune.total_trials` many workers share one study until it holds that many trials.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mlconf.config import ModelConfig
from mlconf.core.component_registry import get
from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    from mlconf.config import TrainConfig
    from mlconf.run_state import RunState


def tune(ctx: RunState) -> None:
    conf = ctx.conf
    if not conf.search.space:
        return
    import optuna

    from mlconf.ml.tuning.deadline import first_trial_warning, tuning_deadline
    from mlconf.ml.tuning.fidelity import Fidelity, say_budget
    from mlconf.ml.tuning.space import parse_space

    # From here, the start of tuning, tune.timeout runs to the run's end (or from the
    # process's start: tune.timeout_from=process).
    deadline = tuning_deadline(ctx, conf.tune.timeout, conf.tune.timeout_from)
    model_name = tuned_model(conf, ctx.model.name)
    space = parse_space(dict(conf.search.space))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = configured_study(conf, model_name)
    plan = _plan(ctx, model_name, space)
    _enqueue_starts(ctx, study, plan)
    later = sum(len(part) for name, part in ctx.parts.items() if name != "train")
    budget = replace(conf.tune, timeout=deadline.seconds)  # what is left of it
    fidelity = Fidelity(study, budget, len(ctx.training.x), later)
    warming = _warm_up(ctx)  # imports the plots and later stages need, while trials run
    objective = _objective(ctx, plan, deadline, fidelity)
    try:
        mine = _run_trials(ctx, study, objective, deadline)
    finally:
        warming.join()
    family, best = _save_results(ctx, study, plan, mine)
    say_budget(ctx, deadline, fidelity)
    # the final fit stops adding trees at its tail (unless the budget covers the trials only)
    ctx.tuning_deadline = deadline if conf.tune.reserve_refit else None
    for line in first_trial_warning(mine, deadline, _is_default):
        ctx.warn(line)
    ctx.model = ModelConfig(name=family, params=best)
    kept = " (the default configuration: no trial beat it)" if _is_default(study.best_trial) else ""
    ran = sum(t.state.name != "WAITING" for t in study.trials)
    ctx.console.print(
        f"  best of {ran} trials: {conf.problem.primary_metric} "
        f"{study.best_value:.4f} (trial {study.best_trial.number}{kept}; trials.csv, "
        "best_params.json)"
    )


def _warm_up(ctx: RunState) -> Any:
    """The later stages' imports, made while the trials run (mlconf.ml.tuning.warm)."""
    from mlconf.ml.tuning.warm import warm_up

    return warm_up(ctx.conf.stages)


def _plan(ctx: RunState, model_name: str, space: Any) -> Any:
    """The families this study trains, each with its untuned params; warns where a space
    cannot reach a family's default."""
    from mlconf.ml.tuning.families import AUTO, SEP, Plan, auto_families, family_fit, without
    from mlconf.ml.tuning.start import default_outside

    auto, task = model_name == AUTO, ctx.conf.problem.task
    families = auto_families(space) if auto else (model_name,)
    base: dict[str, dict[str, Any]] = {}
    threaded: list[str] = []
    left_out: list[str] = []
    for family in families:
        params = dict(ctx.model.params) if ctx.model.name == family else {}
        base[family] = params
        defaults, other = family_fit(family, params, task, space, auto)
        if "n_jobs" in defaults:
            threaded.append(family)
        if other:
            ctx.warn(
                f"search.space: {', '.join(other)} left out of the search: {family} for {task} "
                "does not take them (its estimator for the other task does)"
            )
            left_out.extend(other)
        for line in default_outside(space, family, defaults, f"{family}{SEP}" if auto else ""):
            ctx.warn(line)
    threads = ctx.model.params.get("n_jobs")
    if ctx.conf.tune.n_jobs > 1:  # parallel trials, one thread each
        threads = 1
    elif isinstance(threads, bool) or not isinstance(threads, int) or threads <= 0:
        threads = None
    return Plan(
        space=without(space, left_out),
        base=base,
        auto=auto,
        threaded=frozenset(threaded),
        model_threads=threads,
    )


def _enqueue_starts(ctx: RunState, study: Any, plan: Any) -> None:
    """Default configuration(s) first, then the portfolio (a new study only)."""
    from mlconf.ml.tuning.families import within
    from mlconf.ml.tuning.start import enqueue, starts, usable_portfolio

    entries = within(plan.space, ctx.conf.search.space, ctx.conf.search.portfolio)
    portfolio = usable_portfolio(plan.space, entries, ctx.warn, plan.families if plan.auto else ())
    planned = starts(plan.space, plan.families, portfolio)
    if not ctx.conf.tune.default_first:
        planned = [s for s in planned if s.role != "default"]
    enqueued = enqueue(study, planned)
    if enqueued:
        ctx.count("tuning_starts", enqueued)


def _is_default(trial: Any) -> bool:
    from mlconf.ml.tuning.start import DEFAULT, START

    return bool(trial.user_attrs.get(START) == DEFAULT)


def _objective(ctx: RunState, plan: Any, deadline: Any, fidelity: Any) -> Any:
    """One trial: the suggested params cross-validated on the training part (or its first
    fold: `fidelity`), its folds reported to the pruner (or its boosting rounds, when the
    model prunes by round); its cost recorded for the refit reserve."""
    import optuna

    from mlconf.ml.crossval import cross_validate
    from mlconf.ml.training import seeded_pipeline
    from mlconf.ml.tuning.fidelity import fold_rounds
    from mlconf.ml.tuning.rounds import fold_callbacks, round_clock, round_pruning
    from mlconf.ml.tuning.rungs import climb, deadline_only, rung_rows
    from mlconf.ml.tuning.trees import TREES, fold_trees, refit_params

    conf, training, tune_conf = ctx.conf, ctx.training, ctx.conf.tune
    primary = conf.problem.primary_metric

    def objective(trial: optuna.Trial) -> float:
        family, params, default = plan.trial(trial)
        if tune_conf.n_jobs > 1 and family in plan.threaded:
            params["n_jobs"] = 1  # parallel trials, one thread each (tune.n_jobs)
        by_rounds = None if plan.auto or default else round_pruning(ctx, family, plan)
        if by_rounds is not None:
            params["eval_metric"] = by_rounds.metric.eval_metric
        model = ModelConfig(name=family, params=params)
        pipeline = seeded_pipeline(conf, model, ctx.pipeline_privacy)
        folds: list[Any] = []
        clocks: list[Any] = []
        last = [False]

        def report(fold: int, values: dict[str, list[float]]) -> None:
            last[0] = fidelity.enough(trial, fold, values["fit_seconds"])
            trees = [fold_trees(p[-1]) for p in folds]
            if not default and trees and all(t is not None for t in trees):
                trial.set_user_attr(TREES, trees)
            so_far = [v for v in values[primary] if not math.isnan(v)]
            if not default:  # the default is never pruned: it is the bar to beat
                if so_far and by_rounds is None:
                    trial.report(sum(so_far) / len(so_far), step=fold)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            if not last[0]:  # after the last fold the trial's work is done
                deadline.check(trial)

        def watch_rounds(fold: int, fold_pipeline: Any) -> None:
            folds.append(fold_pipeline)
            if family == "xgboost" and "callbacks" not in params:
                every, model = tune_conf.prune_every_rounds, fold_pipeline[-1]
                clocks.append(round_clock())
                hooks = fold_callbacks(trial, fold, by_rounds, every, deadline, clocks[-1], model)
                model.set_params(callbacks=hooks)

        def run(fit_rows: int = 0, **hooks: Any) -> dict[str, Any]:
            data = (conf, len(training.classes), pipeline, training.x, training.y, tune_conf.folds)
            hooks.update(label=family, metrics=[primary], watch_rows=tune_conf.watch_rows)
            with plan.thread_limit(family):
                return cross_validate(*data, fit_rows=fit_rows, **hooks)

        rows = rung_rows(fidelity.fold_rows, tune_conf.subsample_rows) if by_rounds else 0
        if rows:  # first a sample of the rows (mlconf.ml.tuning.rungs)
            one = {"before_fit": deadline_only(trial, deadline), "stop_after": lambda _f: True}
            climb(trial, rows, lambda n: float(run(n, **one)[primary]["mean"]))
            deadline.check(trial)
        scores = run(on_fold=report, before_fit=watch_rounds, stop_after=lambda _f: last[0])
        trees = trial.user_attrs.get(TREES) or []
        rounds, boosting = [fold_rounds(p[-1]) for p in folds], [c.boosting() for c in clocks]
        fidelity.finish(
            trial, rounds, refit_params(params, trees), boosting, scores["predict_seconds"]["folds"]
        )
        value: float = scores[primary]["mean"]
        if math.isnan(value):
            raise MlconfError(f"{primary} is undefined on the folds", where="stage tune")
        return value

    return objective


def _save_results(
    ctx: RunState, study: Any, plan: Any, mine: list[Any]
) -> tuple[str, dict[str, Any]]:
    """trials.csv, the plots, best_params.json and (across families) leaderboard.csv; the
    best trial's family and the params the final fit uses (learned tree count, if any)."""
    from mlconf.ml.tuning.families import replay
    from mlconf.ml.tuning.study import trials_frame
    from mlconf.ml.tuning.trees import TREES, refit_params
    from mlconf.report.tuning_plots import save_tuning_plots
    from mlconf.store.atomic import write_json, write_with

    frame = trials_frame(study, plan.space)
    write_with(ctx.artifact("trials.csv"), lambda tmp: frame.to_csv(tmp, index=False))
    if _completed(study) == 0:
        raise MlconfError(
            "no trial finished: every one failed or was pruned",
            where="stage tune",
            fix="see trials.csv; widen the search space or use tune.pruner=none",
        )
    for note in save_tuning_plots(study, ctx.run_dir / "plots")[1]:
        ctx.warn(note)
    trial = study.best_trial
    family, params, _ = plan.trial(replay(trial))
    trees = list(trial.user_attrs.get(TREES) or [])
    best = refit_params(params, trees)
    if plan.auto:
        _save_leaderboard(ctx, study)
    write_json(
        ctx.artifact("best_params.json"),
        {
            "model": family,
            "params": best,
            ctx.conf.problem.primary_metric: study.best_value,
            "trial": trial.number,
            "default": _is_default(trial),
            "trees_per_fold": trees,
            "overrides": [f"model={family}", *as_overrides("model.params", best)],
        },
    )
    counts = {
        "trials": len(mine),
        "study_trials": sum(t.state.name != "WAITING" for t in study.trials),
        "sampler_seed": sampler_seed(ctx.conf),
    }
    ctx.count("tuning", counts)
    return family, best


def _save_leaderboard(ctx: RunState, study: Any) -> None:
    """Each family's best trial (search.model: auto), as the run's leaderboard."""
    from mlconf.ml.tuning.families import family_board
    from mlconf.store.atomic import write_with

    primary = ctx.conf.problem.primary_metric
    higher = get("metric", primary).meta.get("greater_is_better", True)
    board = family_board(study.trials, primary, higher)
    write_with(ctx.artifact("leaderboard.csv"), lambda tmp: board.to_csv(tmp, index=False))
    ctx.leaderboard = board


def _run_trials(ctx: RunState, study: Any, objective: Any, deadline: Any) -> list[Any]:
    """Run this worker's trials (`tune.n_trials`, or up to the study's `tune.total_trials`)
    until `deadline` (tune.timeout) is spent: then no trial starts, and the objective stops
    a running one (mlconf.ml.tuning.deadline).

    Returns the trials this process ran; on a shared study the others' are not among them.
    """
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    from mlconf.core.interrupts import raise_if_interrupted
    from mlconf.ml.tuning.budget import run_to_total
    from mlconf.ml.tuning.fidelity import reserve_for_best
    from mlconf.ml.tuning.progress import TrialProgress

    tune_conf = ctx.conf.tune
    mine: list[Any] = []
    total = tune_conf.total_trials
    shown = total if total is not None else tune_conf.n_trials
    metric = ctx.conf.problem.primary_metric
    # Parallel trials get one thread each, OpenMP models too (hist_gb has no n_jobs).
    threads = threadpool_limits(limits=1) if tune_conf.n_jobs > 1 else nullcontext()
    with threads, TrialProgress(ctx.console, metric, shown, tune_conf.timeout) as bar:
        # After each trial: its line, then a Ctrl-C the trial's library swallowed, the budget.
        after = [
            bar.update,
            raise_if_interrupted,
            reserve_for_best(deadline, tune_conf.reserve_refit),
        ]
        if total is not None:
            done = sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)
            if done:
                ctx.console.print(f"  study has {done} of its {total} trials already")
            return run_to_total(
                study,
                objective,
                total=total,
                timeout=tune_conf.timeout,
                callbacks=after,
                catch=(ValueError,),
            )
        if tune_conf.storage is not None:  # trials of killed runs: FAIL, not RUNNING forever
            from mlconf.ml.tuning.study import fail_stale

            fail_stale(study)
        study.optimize(
            objective,
            n_trials=tune_conf.n_trials if tune_conf.n_trials > 0 else None,
            n_jobs=tune_conf.n_jobs,
            callbacks=[*after, lambda _study, trial: mine.append(trial), deadline.stop_study],
            catch=(ValueError,),
        )
    return mine


def sampler_seed(conf: TrainConfig) -> int:
    """The run's seed, or, for workers sharing one stored study's budget, the seed mixed with
    the host and process: started together with one config, they would otherwise all draw
    the same parameters. QMC keeps the shared seed: its points spread out only when every
    worker walks the same scrambled sequence."""
    from mlconf.ml.tuning.budget import worker_seed

    tune_conf = conf.tune
    shared = tune_conf.total_trials is not None and tune_conf.storage is not None
    return worker_seed(conf.seed) if shared and tune_conf.sampler != "qmc" else conf.seed


def configured_study(conf: TrainConfig, model_name: str) -> Any:
    """The study `tune.*` names, opened (or created) in its storage.

    The runner calls this before loading any data when a storage is set, so a URL that
    cannot be opened, or a study stored with the other direction, fails at once.
    """
    from mlconf.ml.tuning.study import open_study

    tune_conf = conf.tune
    seed = sampler_seed(conf)
    higher = get("metric", conf.problem.primary_metric).meta.get("greater_is_better", True)
    return open_study(
        name=tune_conf.study_name or f"{conf.experiment_name}-{model_name}",
        storage=tune_conf.storage,
        direction="maximize" if higher else "minimize",
        sampler=tune_conf.sampler,
        pruner=tune_conf.pruner,
        seed=seed,
        sampler_params=tune_conf.sampler_params,
        pruner_params=tune_conf.pruner_params,
        heartbeat_interval=tune_conf.heartbeat_interval,
        grace_period=tune_conf.grace_period,
    )


def as_overrides(prefix: str, params: dict[str, Any]) -> list[str]:
    """Command-line overrides that give `params` back exactly (`mlconf train ...`)."""
    import json

    def text(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int | float):
            return repr(value)
        if (
            isinstance(value, str)
            and value.replace("_", "").isalnum()
            and value
            not in (
                "null",
                "true",
                "false",
            )
        ):
            return value
        return json.dumps(value)

    return [f"++{prefix}.{name}={text(value)}" for name, value in params.items()]


def tuned_model(conf: TrainConfig, current: str | None = None) -> str:
    """The space belongs to one model family; it must be the configured one.

    Also checks the budget, so that both mistakes surface before any data is read.
    """
    from mlconf.ml.tuning.fidelity import check_scoring

    total = conf.tune.total_trials
    if total is not None and total < 1:
        raise MlconfError(
            f"tune.total_trials must be 1 or more, got {total}",
            where="config key tune.total_trials",
            fix="set tune.total_trials=100 (the study's trials over all workers), or null",
        )
    if not 1 <= conf.tune.heartbeat_interval < conf.tune.grace_period:
        raise MlconfError(
            f"tune.heartbeat_interval ({conf.tune.heartbeat_interval} s) must be at least 1 "
            f"and below tune.grace_period ({conf.tune.grace_period} s), or living workers' "
            "trials would be marked failed",
            where="config key tune.heartbeat_interval",
            fix="e.g. tune.heartbeat_interval=60 tune.grace_period=120",
        )
    if conf.tune.n_trials < 1 and conf.tune.timeout is None and total is None:
        raise MlconfError(
            f"tuning needs a budget, but tune.n_trials is {conf.tune.n_trials} and no "
            "tune.timeout is set",
            where="config key tune.n_trials",
            fix="set tune.n_trials=20 (or tune.timeout=<seconds>)",
        )
    if conf.tune.timeout is not None and conf.tune.timeout <= 0:
        raise MlconfError(
            f"tune.timeout must be a positive number of seconds, got {conf.tune.timeout}",
            where="config key tune.timeout",
            fix="set tune.timeout=300, or tune.timeout=null for no time limit",
        )
    if conf.tune.prune_every_rounds < 0:
        raise MlconfError(
            f"tune.prune_every_rounds must be 0 (per fold only) or more, "
            f"got {conf.tune.prune_every_rounds}",
            where="config key tune.prune_every_rounds",
        )
    if conf.tune.n_jobs < 1 or (conf.tune.n_jobs > 1 and total is not None):
        raise MlconfError(
            f"tune.n_jobs must be 1 or more, and 1 with tune.total_trials, got {conf.tune.n_jobs}",
            where="config key tune.n_jobs",
            fix="set tune.n_jobs=1 (trials in turn) or 2 (two at once, one thread each); "
            "workers sharing tune.total_trials run as separate processes",
        )
    check_scoring(conf.tune.scoring, conf.tune.holdout_rows, conf.tune.holdout_share)
    if conf.tune.folds < 2:
        raise MlconfError(
            f"tuning scores trials by k-fold CV and needs at least 2 folds, got {conf.tune.folds}",
            where="config key tune.folds",
        )
    model = current or conf.model.name  # the model chosen so far (select may change it)
    owner = conf.search.model or model
    if owner == "auto":  # the family is searched (mlconf.ml.tuning.families)
        return owner
    if owner != model and not conf.model_selection.candidates:
        raise MlconfError(
            f"the search space is for model '{owner}', but the model is '{model}'",
            where="config key search.model",
            fix=f"add model={owner}, or pick the search space of {model}",
        )
    return owner


def _completed(study: Any) -> int:
    import optuna

    return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def tuned_families(conf: TrainConfig) -> tuple[str, ...]:
    """The model families the search may train (several under search.model: auto)."""
    if not conf.search.space:
        return ()
    from mlconf.ml.tuning.families import AUTO, auto_families
    from mlconf.ml.tuning.space import parse_space

    owner = tuned_model(conf)
    return auto_families(parse_space(dict(conf.search.space))) if owner == AUTO else (owner,)


def check(conf: TrainConfig) -> None:
    """The search space parses, its models and portfolio exist, and a shared study's storage
    opens."""
    if not conf.search.space:
        return
    from mlconf.ml.tuning.deadline import tuning_seconds
    from mlconf.ml.tuning.families import AUTO, family_fit
    from mlconf.ml.tuning.space import parse_space
    from mlconf.ml.tuning.start import usable_portfolio

    tuning_seconds(conf.tune.timeout, conf.tune.timeout_from)  # one it cannot keep fails here
    space = parse_space(dict(conf.search.space))
    auto = tuned_model(conf) == AUTO
    for family in tuned_families(conf):
        family_fit(family, {}, conf.problem.task, space, auto)
    usable_portfolio(space, list(conf.search.portfolio), _ignore)
    if conf.tune.storage:
        configured_study(conf, tuned_model(conf))


def _ignore(_message: str) -> None:
    """Warnings wait for the tune stage, which records them in the run (ctx.warn)."""
