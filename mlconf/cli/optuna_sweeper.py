"""`hydra/sweeper=mlconf_optuna`: search over any config value or group choice with Optuna.

    mlconf train -m hydra/sweeper=mlconf_optuna hydra.sweeper.n_trials=20 \\
        'model=choice(xgboost,random_forest)' 'split.test_size=interval(0.1,0.3)'

Each trial is one `mlconf train` job; it is scored on the VALIDATION part (never test)
by the problem's primary metric, whose direction says whether to maximise. Jobs run
through the configured launcher, `hydra.sweeper.n_jobs` at a time (joblib: in parallel).
The upstream hydra-optuna-sweeper pins optuna<3; this one uses the installed Optuna.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.errors import CompactHydraException
from hydra.plugins.sweeper import Sweeper

from mlconf.core.errors import MlconfError


class SweeperError(MlconfError, CompactHydraException):
    """Raised inside Hydra: being compact, Hydra prints the message without a traceback."""


@dataclass
class MlconfOptunaSweeperConf:
    # Hydra instantiates its own plugins from this fixed path; user config never names code.
    _target_: str = "hydra_plugins.mlconf_optuna_sweeper.MlconfOptunaSweeper"
    n_trials: int = 20
    n_jobs: int = 1
    sampler: str = "tpe"
    seed: int = 42
    storage: str | None = None
    study_name: str | None = None
    params: dict[str, str] = field(default_factory=dict)


ConfigStore.instance().store(
    group="hydra/sweeper", name="mlconf_optuna", node=MlconfOptunaSweeperConf, provider="mlconf"
)


def distribution(override: Any) -> Any:
    """An Optuna distribution for a sweep override: choice/range/comma list, or interval."""
    import optuna
    from hydra.core.override_parser.types import IntervalSweep

    value = override.value()
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        start, end = value.start, value.end
        if start is None or end is None:
            raise SweeperError(
                f"interval for '{override.get_key_element()}' needs both bounds",
                where="command line",
                fix="write interval(low, high)",
            )
        if isinstance(start, int) and isinstance(end, int):
            return optuna.distributions.IntDistribution(start, end, log=log)
        return optuna.distributions.FloatDistribution(float(start), float(end), log=log)
    return optuna.distributions.CategoricalDistribution(list(override.sweep_string_iterator()))


def job_score(result: Any) -> float | None:
    """The validation value of the primary metric a `mlconf train` job returned."""
    if not isinstance(result, dict):
        return None
    primary = result.get("primary_metric")
    value = result.get("validation", {}).get("model", {}).get(primary, {}).get("value")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


class OptunaSweeper(Sweeper):
    """Ask Optuna for each batch of trials, launch them as jobs, tell it their scores."""

    def __init__(
        self,
        n_trials: int,
        n_jobs: int,
        sampler: str,
        seed: int,
        storage: str | None,
        study_name: str | None,
        params: dict[str, str] | None = None,
    ) -> None:
        self.n_trials = n_trials
        self.n_jobs = max(1, n_jobs)
        self.sampler = sampler
        self.seed = seed
        self.storage = storage
        self.study_name = study_name
        self.params = dict(params or {})
        self.hydra_context: Any = None
        self.config: Any = None
        self.launcher: Any = None

    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def _direction(self) -> str:
        from mlconf.core.component_registry import REGISTRY

        metric = str(self.config.problem.primary_metric)
        higher = REGISTRY.get("metric", metric).meta.get("greater_is_better", True)
        return "maximize" if higher else "minimize"

    def sweep(self, arguments: list[str]) -> Any:
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from omegaconf import OmegaConf

        from mlconf.ml.tuning.study import open_study

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([f"{k}={v}" for k, v in self.params.items()] + arguments)
        fixed = [
            f"{o.get_key_element()}={o.get_value_element_as_str()}"
            for o in overrides
            if not o.is_sweep_override()
        ]
        space = {o.get_key_element(): distribution(o) for o in overrides if o.is_sweep_override()}
        if not space:
            raise SweeperError(
                "the Optuna sweeper has nothing to search",
                where="command line",
                fix="sweep at least one value, e.g. 'model=choice(xgboost,random_forest)' or "
                "'split.test_size=interval(0.1,0.3)'",
            )
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        study = open_study(
            name=self.study_name or f"sweep-{sweep_dir.name}",
            storage=self.storage,
            direction=self._direction(),
            sampler=self.sampler,
            seed=self.seed,
        )
        done = 0
        returns = []
        while done < self.n_trials:
            trials = [study.ask(space) for _ in range(min(self.n_jobs, self.n_trials - done))]
            batch = [fixed + [f"{k}={v}" for k, v in t.params.items()] for t in trials]
            self.validate_batch_is_legal(batch)
            results = self.launcher.launch(batch, initial_job_idx=done)
            for trial, result in zip(trials, results, strict=True):
                score = job_score(result.return_value) if _completed(result) else None
                if score is None:
                    study.tell(trial, state=_failed())
                else:
                    study.tell(trial, score)
            returns.append(results)
            done += len(batch)
        _save_results(study, sweep_dir)
        return returns


def _completed(result: Any) -> bool:
    from hydra.core.utils import JobStatus

    return bool(result.status == JobStatus.COMPLETED)


def _failed() -> Any:
    import optuna

    return optuna.trial.TrialState.FAIL


def _save_results(study: Any, sweep_dir: Path) -> None:
    """The best trial's overrides, so that one `mlconf train` reproduces it."""
    from omegaconf import OmegaConf

    from mlconf.ml.tuning.study import trials_frame
    from mlconf.store.atomic import write_text

    frame = trials_frame(study)
    frame.to_csv(sweep_dir / "optuna_trials.csv", index=False)
    finished = [t for t in study.trials if t.value is not None]
    if not finished:
        return
    best = study.best_trial
    document = {
        "direction": study.direction.name.lower(),
        "best_value": best.value,
        "best_trial": best.number,
        "best_overrides": [f"{k}={v}" for k, v in best.params.items()],
    }
    write_text(sweep_dir / "optimization_results.yaml", OmegaConf.to_yaml(document))
