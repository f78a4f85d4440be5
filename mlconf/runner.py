"""The one runner: resolve the config into components, run the stages, record the run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from mlconf.components.cluster import cluster_client
from mlconf.components.trackers import open_tracker
from mlconf.config import TrainConfig
from mlconf.config.compose import schema_node
from mlconf.core.background import Background
from mlconf.core.component_registry import REGISTRY
from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.core.names import check_name
from mlconf.core.process_age import mark_run_end
from mlconf.core.secrets import mask_text, secrets_in
from mlconf.run_state import RunState, Stage, log
from mlconf.store.atomic import write_text
from mlconf.store.runs import RunRecord

if TYPE_CHECKING:
    from rich.console import Console


State = TypeVar("State")


@dataclass
class RunResult:
    run_dir: Path
    record: RunRecord
    metrics: dict[str, Any]
    model_dir: Path | None


def typed(cfg: DictConfig | TrainConfig) -> TrainConfig:
    """The config as dataclasses, for attribute access that type checkers follow."""
    if isinstance(cfg, TrainConfig):
        return cfg
    from mlconf.config.compose_errors import unknown_key_error
    from mlconf.config.keys import callable_keys, unknown_keys

    for key in callable_keys(cfg):
        raise MlconfError(
            f"`{key.rpartition('.')[2]}` is not allowed: mlconf configs choose registered "
            "components by name and never name a Python callable",
            where=f"config key {key}",
            fix="remove the key; pick a model, transform or source by its registered `name` "
            "(see `mlconf plugins`), or register your own with @mlconf.register",
        )
    for key, declared in unknown_keys(cfg, TrainConfig):
        raise unknown_key_error(key, declared)
    merged = OmegaConf.merge(schema_node(), cfg)  # merge copies: the schema stays as it was
    obj = OmegaConf.to_object(merged)
    if not isinstance(obj, TrainConfig):
        raise RuntimeError("internal error: expected isinstance(obj, TrainConfig)")
    return obj


def stage_table(conf: TrainConfig) -> dict[str, Stage]:
    """The stages of `conf.data.engine`: the pandas stages, or the Dask engine's partitioned
    stages with the pandas ones run on a sample where a stage needs a whole frame."""
    from mlconf.stages import STAGES

    if conf.data.engine != "pandas" or conf.model.params.get("external_memory"):
        from mlconf.scale.engine import engine_stages

        return engine_stages(conf, STAGES)
    return STAGES


def preflight(conf: TrainConfig, table: dict[str, Stage] | None = None) -> dict[str, Stage]:
    """Check every stage before a single row is read; the stage table to run (`table`, or
    the one `conf` gives)."""
    table = stage_table(conf) if table is None else table
    for stage in conf.stages:
        if stage not in table:
            raise MlconfError(
                f"unknown stage '{stage}'.{did_you_mean(stage, table)}",
                where="config key stages",
                fix=f"use stages from: {', '.join(table)}",
            )
    for checked in table.values():
        checked.check(conf)
    return table


def drawing_modules(conf: TrainConfig, table: dict[str, Stage] | None = None) -> list[str]:
    """The plot modules of the run's stages that draw: none when no stage will (a run
    with its plots and explanations off starts no drawing process)."""
    table = stage_table(conf) if table is None else table
    stages = [table[name] for name in conf.stages if name in table]
    return [stage.plots for stage in stages if stage.plots and stage.draws(conf)]


def _start_drawing(background: Background, conf: TrainConfig, table: dict[str, Stage]) -> None:
    """Start the drawing process (when plots are drawn in one, and some stage draws) before
    the checks, so that its start-up (an interpreter importing matplotlib and pandas) runs
    on the other core while the checks import scikit-learn and xgboost, and is done by the
    first plot (Background.start_drawing). A failed check ends it at once."""
    from mlconf.report.figures import prepare_drawing

    modules = drawing_modules(conf, table)
    if modules:
        background.start_drawing(prepare_drawing, modules)


@contextmanager
def _closed_on_error(background: Background) -> Iterator[None]:
    """The drawing process ends with the run's start when that fails, without waiting for
    its imports (the run state closes it once the run has one)."""
    try:
        yield
    except BaseException:
        background.abandon()
        raise


def _new_record(
    cfg: DictConfig | TrainConfig, conf: TrainConfig, run_dir: Path | str | None
) -> RunRecord:
    """The run folder with its config (credentials hidden) and a first run.json."""
    folder = Path(run_dir) if run_dir is not None else _hydra_run_dir()
    folder.mkdir(parents=True, exist_ok=True)
    secrets = secrets_in(conf)
    if not isinstance(cfg, TrainConfig):
        yaml_text = OmegaConf.to_yaml(cfg, resolve=True)
        write_text(folder / "config.yaml", mask_text(yaml_text, secrets))
    _mask_hydra_files(folder, secrets)
    record = RunRecord(
        run_dir=folder, experiment=conf.experiment_name, seed=conf.seed, secrets=secrets
    )
    record.save()
    return record


def _mask_hydra_files(folder: Path, secrets: list[str]) -> None:
    """Hydra's copies of the config and the overrides in .hydra/ hold URLs as typed: hide
    their credentials there too (they are rewritten only if something was hidden)."""
    for path in sorted((folder / ".hydra").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        masked = mask_text(text, secrets)
        if masked != text:
            write_text(path, masked)


def run(
    cfg: DictConfig | TrainConfig,
    run_dir: Path | str | None = None,
    console: Console | None = None,
    on_metrics: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Execute the configured stages; the run folder records everything, even on failure.

    `on_metrics` (the CLI's summary) is called once the stages have run, while plots and the
    report may still be written in the background; `run` returns when everything is.
    """
    from rich.console import Console

    console = console or Console(stderr=True)
    conf = typed(cfg)
    if conf.problem.task not in ("classification", "regression"):
        raise MlconfError(
            f"unknown task '{conf.problem.task}'",
            where="config key problem.task",
            fix="use classification or regression",
        )
    REGISTRY.import_plugins(list(conf.plugins))
    check_name(conf.experiment_name, "config key experiment_name", kind="experiment name")
    model_name = conf.deploy.model_name
    check_name(model_name, "config key deploy.model_name", kind="model name", forbidden="@:")
    background = Background()  # a wrong MLCONF_DRAWING fails before any stage
    with _closed_on_error(background):
        table = stage_table(conf)
        _start_drawing(background, conf, table)
        stages = preflight(conf, table)  # a config error ends the drawing process at once
        # an unreachable tracking store stops the run here
        tracking = open_tracker(conf, console)
        record = _new_record(cfg, conf, run_dir)
    folder, secrets = record.run_dir, record.secrets
    log.info("run %s of experiment %s in %s", record.id, conf.experiment_name, folder)
    ctx = RunState(conf=conf, run_dir=folder, record=record, console=console, background=background)
    try:
        # A local cluster and what stages open live as long as the stages run, and are
        # closed even when one fails.
        with cluster_client(conf.cluster, console), ctx.resources:
            start = time.perf_counter()
            run_stages(stages, conf.stages, ctx, console, record.timed)
            record.timing["to_metrics"] = round(time.perf_counter() - start, 4)
            if on_metrics is not None:
                on_metrics(_result(ctx))
            ctx.background.wait()
            record.background = dict(ctx.background.seconds)
            record.timing["to_last_artifact"] = round(time.perf_counter() - start, 4)
    except MlconfError as exc:
        record.finish("failed", exc.render())
        log.error("failed: %s", mask_text(exc.render(), secrets))
        raise
    except BaseException as exc:
        record.finish("crashed", f"{type(exc).__name__}: {exc}")
        log.error("crashed: %s", mask_text(f"{type(exc).__name__}: {exc}", secrets))
        raise
    else:
        record.finish("succeeded")
        log.info("succeeded: %s%s", folder, _headline(ctx.metrics))
    finally:
        tracking.log(folder, record, conf)
        mark_run_end()  # a next run in this process counts tune.timeout_from=process from here
    return _result(ctx)


def _result(ctx: RunState) -> RunResult:
    return RunResult(
        run_dir=ctx.run_dir,
        record=ctx.record,
        metrics=ctx.metrics,
        model_dir=ctx.model_dir if RunState.model_dir.made(ctx) else None,
    )


def _headline(metrics: dict[str, Any]) -> str:
    """`; test roc_auc 0.9937 (0.9824 .. 1)` for the log, or nothing if not evaluated."""
    primary = metrics.get("primary_metric")
    found = ((metrics.get("test") or {}).get("model") or {}).get(primary)
    if not isinstance(found, dict) or found.get("value") is None:
        return ""
    low, high = found.get("low"), found.get("high")
    interval = f" ({low:.4g} .. {high:.4g})" if low is not None and high is not None else ""
    return f"; test {primary} {found['value']:.4g}{interval}"


def run_stages(
    stages: Mapping[str, Callable[[State], Any]],
    names: Sequence[str],
    state: State,
    console: Console,
    timed: Callable[[str, float], None],
) -> None:
    """Run the named stages in order over one state, each timed and shown as it ends: the
    loop of a training run and of a monitoring run alike."""
    from mlconf.core.interrupts import raise_if_interrupted

    for name in names:
        start = time.perf_counter()
        with console.status(f"[bold]{name}[/] ...", spinner="dots"):
            stages[name](state)
        seconds = time.perf_counter() - start
        timed(name, seconds)
        log.info("%s done in %.2fs", name, seconds)
        console.print(f"[green]✓[/] {name:<9} {seconds:7.2f}s")
        raise_if_interrupted()  # a Ctrl-C a library swallowed (mlconf.core.interrupts)


def _hydra_run_dir() -> Path:
    from hydra.core.hydra_config import HydraConfig

    # Initialized by an earlier compose in this process is not enough: outside a Hydra app
    # the output folder is never set.
    if HydraConfig.initialized():
        hydra_conf: Any = HydraConfig.get()  # a DictConfig, typed as the dataclass
        output_dir = OmegaConf.select(hydra_conf, "runtime.output_dir", default=None)
        if output_dir:
            return Path(output_dir)
    raise MlconfError(
        "no run folder: call run(cfg, run_dir=...) outside a Hydra app",
        fix="pass run_dir, or run through `mlconf train`",
    )
