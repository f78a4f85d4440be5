"""The stages of a run on the dask engine (`data.engine: dask`).

load, validate, prepare, split, train and evaluate go partition by partition (lazy
loading, partitioned validation, external-memory training, streamed evaluation). Stages
that need a whole frame in memory (privacy, explore, select, tune, explain, fairness, and
the monitoring reference and explanation background that save keeps) run unchanged on a
seeded sample of `data.sample_rows` valid rows, and say so.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.component_registry import REGISTRY
from mlconf.core.errors import MlconfError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import TrainConfig
    from mlconf.run_state import RunState, Stage
    from mlconf.scale.partitioned import ScaleState

ENGINES = ("pandas", "dask")
SAMPLED = ("privacy", "explore", "select", "tune", "explain", "fairness")
SPLITS = ("holdout", "group")


def check_engine(conf: TrainConfig) -> None:
    """Refuse, before any data is read, what the dask engine cannot do."""
    engine = conf.data.engine
    if engine not in ENGINES:
        raise MlconfError(
            f"unknown engine '{engine}'.{did_you_mean(engine, ENGINES)}",
            where="config key data.engine",
            fix="use pandas (in memory) or dask (partitioned, larger than memory)",
        )
    external = bool(conf.model.params.get("external_memory"))
    if engine == "pandas":
        if external:
            raise MlconfError(
                "model.params.external_memory streams the training data from partitions, "
                "which needs the dask engine",
                where="config key model.params.external_memory",
                fix="add data.engine=dask (with a folder or glob of Parquet/CSV files), or "
                "remove model.params.external_memory",
            )
        return
    if external and conf.model.name != "xgboost":
        raise MlconfError(
            f"external-memory training is xgboost's; model '{conf.model.name}' has none",
            where="config key model.params.external_memory",
            fix="use model=xgboost, or set model.params.external_memory=false",
        )
    if len(conf.data.sources) != 1:
        raise MlconfError(
            "the dask engine reads one source; joining sources needs them in memory",
            where="config key data.sources",
            fix="join the sources beforehand into one partitioned table, or use data.engine=pandas",
        )
    from mlconf.scale.lazy import check_kind

    for name, source in conf.data.sources.items():
        check_kind(name, source)
    if conf.data.sample_rows < 100:
        raise MlconfError(
            f"data.sample_rows={conf.data.sample_rows} is too small a sample",
            where="config key data.sample_rows",
            fix="use at least 100 (default 100000)",
        )
    if conf.split.method not in SPLITS:
        raise MlconfError(
            f"split '{conf.split.method}' needs every row in memory",
            where="config key split.method",
            fix="with data.engine=dask use split=holdout (a seeded draw per row) or split=group "
            "(a seeded draw per group value)",
        )
    if conf.split.folds > 1:
        raise MlconfError(
            "cross-validation folds need every training row in memory",
            where="config key split.folds",
            fix="set split.folds=0 with data.engine=dask",
        )
    if conf.prepare.outliers.method != "none" and conf.prepare.outliers.action == "quarantine":
        raise MlconfError(
            "quarantining outliers needs the whole column's quantiles",
            where="config key prepare.outliers.action",
            fix="use action clip or flag (fitted inside the pipeline) with data.engine=dask",
        )
    for column, rules in conf.schema.columns.items():
        if rules.unique:
            raise MlconfError(
                f"uniqueness of '{column}' cannot be checked one partition at a time",
                where=f"config key schema.columns.{column}.unique",
                fix="check it where the data is made, and set unique: false",
            )


def engine_stages(conf: TrainConfig, in_memory: Mapping[str, Stage]) -> dict[str, Stage]:
    """The stage table for `conf.data.engine`, after checking the combination: the dask
    stages, and the in-memory (pandas) ones run on a sample where a stage needs a frame.
    Every stage keeps its in-memory check: the config means the same on both engines."""
    check_engine(conf)
    if conf.data.engine == "pandas":
        return dict(in_memory)
    own: dict[str, Callable[[RunState], None]] = {
        "load": load,
        "validate": validate,
        "prepare": prepare,
        "split": split,
        "train": train,
        "evaluate": evaluate,
    }
    return {
        name: replace(stage, run=own.get(name) or _on_sample(name, stage.run))
        for name, stage in in_memory.items()
    }


def _state(ctx: RunState) -> ScaleState:
    state: ScaleState = ctx.partitions
    return state


def _on_sample(name: str, stage: Callable[[RunState], None]) -> Callable[[RunState], None]:
    if name not in SAMPLED:
        return stage

    def sampled(ctx: RunState) -> None:
        state = _state(ctx)
        conf = ctx.conf
        idle = (name == "select" and not conf.model_selection.candidates) or (
            name == "tune" and not conf.search.space
        )
        if not idle:
            ctx.console.print(
                f"  {name}: on a seeded sample of {len(ctx.frame):,} of {state.sample_of:,} "
                "valid rows (data.sample_rows)"
            )
        stage(ctx)
        if name == "privacy":  # rows quarantined so far must not keep raw PII either
            state.quarantine.publish(ctx)

    return sampled


# --- the partitioned stages ---------------------------------------------------------------


def load(ctx: RunState) -> None:
    from mlconf.scale.lazy import fingerprint, open_table
    from mlconf.scale.partitioned import QuarantineStream, ScaleState

    conf = ctx.conf
    ((name, source),) = conf.data.sources.items()
    table = open_table(name, source)
    columns_all = list(table.columns)
    for column in conf.data.drop_columns:
        if column not in table.columns:
            raise MlconfError(
                f"cannot drop columns that are not in the data: {column}",
                where="config key data.drop_columns",
                fix=f"remove '{column}' from data.drop_columns (the data has: "
                f"{', '.join(columns_all[:30])})",
            )
    columns = [c for c in table.columns if c not in conf.data.drop_columns]
    target = conf.problem.target
    if target not in columns:
        raise MlconfError(
            f"target column '{target}' is not in the data.{did_you_mean(target, columns)}"
            f" Columns: {', '.join(columns[:30])}",
            where="config key problem.target",
            fix="set problem.target to the column you want to predict",
        )
    for column in conf.data.id_columns:
        if column not in columns:
            raise MlconfError(
                f"id column '{column}' is not in the data.{did_you_mean(column, columns)}",
                where="config key data.id_columns",
                fix="list only columns of the data in data.id_columns",
            )
    ctx.record.fingerprints[name] = {
        "kind": source.kind,
        "location": source.path,
        "sha256": fingerprint(table.files),
        "files": len(table.files),
        "columns": len(columns),
    }
    # The working copies of the data (valid rows, then the parts) live in a hidden folder
    # of the run that is removed when the run's context is released.
    work = tempfile.TemporaryDirectory(prefix=".scale-", dir=ctx.run_dir)
    ctx.resources.callback(work.cleanup)
    ctx.partitions = ScaleState(
        table=table,
        work=Path(work.name),
        quarantine=QuarantineStream(ctx.run_dir, Path(work.name), columns),
    )
    ctx.console.print(
        f"  dask engine: {len(table.files)} {source.kind} partition(s), {len(columns)} columns"
    )


def validate(ctx: RunState) -> None:
    from mlconf.scale.partitioned import validate_pass

    state = _state(ctx)
    sample = validate_pass(ctx, state)
    ctx.count("rows_loaded", state.rows_loaded)
    ctx.count("rows_valid", state.rows_valid)
    bad = state.quarantine.rows
    if bad:
        ctx.warn(
            f"{bad} row(s) failed validation and were quarantined "
            f"(see {ctx.run_dir / 'data' / 'quarantine.csv'})"
        )
    ctx.frame = sample
    ctx.console.print(
        f"  validated {state.rows_loaded:,} rows in {state.table.partitions} partition(s); "
        f"sample {len(sample):,} rows"
    )


def prepare(ctx: RunState) -> None:
    from mlconf.ml.features import feature_columns
    from mlconf.scale.partitioned import prepare_pass

    state = _state(ctx)
    if ctx.conf.fairness.sensitive or ctx.conf.fairness.intersections:
        from mlconf.ml.fairness.metrics import check_fairness_config

        check_fairness_config(ctx.conf.fairness, list(ctx.frame.columns))
    sample = prepare_pass(ctx, state, ctx.frame)
    if not feature_columns(ctx.conf, sample):
        raise MlconfError(
            "no feature columns are left after preparation",
            where="config group prepare",
            fix="loosen prepare.missing.drop_columns_over, or check data.id_columns",
        )
    ctx.count("rows_prepared", sum(state.part_rows.values()))
    ctx.frame = sample


def split(ctx: RunState) -> None:
    from mlconf.ml.leakage import leakage_checks
    from mlconf.ml.training import training_data
    from mlconf.scale.partitioned import row_parts
    from mlconf.scale.rows import PART_NAMES
    from mlconf.store.atomic import write_json

    conf = ctx.conf
    state = _state(ctx)
    for part in ("train", "test"):
        if state.part_rows.get(part, 0) == 0:
            raise MlconfError(
                f"the {part} part is empty ({sum(state.part_rows.values())} rows in all)",
                where="config group split",
                fix="use a test_size between 0 and 1, or supply more rows",
            )
    if conf.problem.task == "classification" and len(state.part_classes["train"]) < 2:
        raise MlconfError(
            "the train part holds only one class",
            where="config group split",
            fix="use a different split or more rows",
        )
    sample: pd.DataFrame = ctx.frame
    codes = row_parts(ctx, sample)
    parts = {name: sample[codes == i] for i, name in enumerate(PART_NAMES)}
    leakage_checks(conf, sample, parts, ctx.warn)
    key = conf.split.group_column or "row number"
    write_json(
        ctx.artifact("data", "split.json"),
        {
            "engine": "dask",
            "rule": f"u = splitmix64({key}, seed={conf.seed}) in [0, 1): test if u < "
            f"{conf.split.test_size}, validation if u < test_size + (1 - test_size) * "
            f"{conf.split.validation_size}, else train",
            "rows": state.part_rows,
            "sample_rows": {name: len(f) for name, f in parts.items()},
        },
    )
    ctx.parts = parts
    # The sample's training rows stand for the training part wherever a frame is needed
    # (the preprocessing's fit, the monitoring reference, the explanation background); the
    # classes come from the tally over every partition.
    ctx.training = training_data(conf, parts, ctx.warn, classes_from=state.part_classes["train"])
    ctx.count("split", dict(state.part_rows))
    ctx.console.print(
        "  split " + ", ".join(f"{name} {n:,}" for name, n in state.part_rows.items())
    )


def _loader(ctx: RunState, columns: list[str]) -> Callable[[Path], tuple[pd.DataFrame, Any]]:
    """Read one part file: its feature columns and its encoded target."""
    from mlconf.ml.training import target_of
    from mlconf.scale.partitioned import read_part

    # Only plain values in the closure: a Dask cluster's workers receive this function.
    target = target_of(ctx.conf, ctx.training)

    def load(path: Path) -> tuple[pd.DataFrame, Any]:
        rows, y = target.labelled(read_part(path, [*columns, target.column]))
        return rows[columns], y

    return load


def train(ctx: RunState) -> None:
    import numpy as np

    from mlconf.config import ModelConfig
    from mlconf.ml.pipeline import make_model
    from mlconf.ml.thresholds import apply
    from mlconf.ml.training import fit, seeded_pipeline, target_of, validation_data

    conf = ctx.conf
    state = _state(ctx)
    training = ctx.training
    load = _loader(ctx, training.columns)
    pipeline = seeded_pipeline(conf, ctx.model, ctx.pipeline_privacy)
    files = state.part_files["train"]
    held_out = validation_data(target_of(conf, training), ctx.parts["validation"], training.columns)
    _fit(ctx, state, pipeline, load, held_out)
    # The dummy ignores the features: its prior comes from every training target.
    target_only = _loader(ctx, [])  # no feature column is read for the prior
    targets = np.concatenate([target_only(p)[1] for p in files])
    baseline = make_model(ModelConfig(name="dummy"), conf.problem.task)
    ctx.baseline = fit(baseline, np.zeros((len(targets), 1)), targets, "dummy")
    ctx.pipeline, ctx.threshold = apply(
        conf,
        ctx.model.name,
        len(training.classes),
        pipeline,
        lambda: held_out,
        ctx.warn,
        ctx.console.print,
    )
    if ctx.threshold is not None:
        ctx.count("decision_threshold", ctx.threshold.threshold)


def _fit(
    ctx: RunState,
    state: ScaleState,
    pipeline: Any,
    load: Callable[[Path], tuple[pd.DataFrame, Any]],
    held_out: tuple[pd.DataFrame, Any] | None,
) -> None:
    """Fit on every training partition: streamed into xgboost's external memory, read by a
    cluster's workers, or (neither configured) read into memory."""
    import numpy as np
    import pandas as pd

    from mlconf.ml.training import fit

    training = ctx.training
    files = state.part_files["train"]
    sampled = f"  fitting the preprocessing on {len(training.y):,} sampled training rows; "
    if ctx.model.params.get("external_memory"):
        from mlconf.scale.external import fit_external

        ctx.console.print(
            f"{sampled}streaming {state.part_rows['train']:,} rows in {len(files)} "
            f"partition(s) into xgboost's external memory"
        )
        features = fit(pipeline[:-1], training.x, training.y, "features")
        fit_external(
            pipeline[-1],
            features,
            files,
            load,
            n_classes=len(training.classes),
            validation_files=state.part_files["validation"],
        )
    elif REGISTRY.get("model", ctx.model.name).meta.get("needs_cluster"):
        from mlconf.components.xgboost_dask import lazy_parts

        ctx.console.print(
            f"{sampled}the cluster's workers read {state.part_rows['train']:,} rows in "
            f"{len(files)} partition(s)"
        )
        features = fit(pipeline[:-1], training.x, training.y, "features")
        watch = state.part_files["validation"] if pipeline[-1].early_stopping_rounds else []
        eval_set = [lazy_parts(watch, load, features)] if watch else None
        try:
            pipeline[-1].fit(*lazy_parts(files, load, features), eval_set=eval_set, verbose=False)
        except FileNotFoundError as exc:  # raised on a worker that does not see the run folder
            raise MlconfError(
                f"a Dask worker cannot read the run's part file '{exc.filename}'",
                where="config key cluster.address (with data.engine=dask)",
                fix="run the workers where the run folder is readable at the same path (a "
                "shared file system), or train with model=xgboost "
                "model.params.external_memory=true on this machine",
            ) from exc
    else:
        ctx.warn(
            "data.engine=dask without model.params.external_memory: the "
            f"{state.part_rows['train']:,} training rows are read into memory to fit the model"
        )
        loaded = [load(p) for p in files]
        x = pd.concat([x for x, _ in loaded])
        y = np.concatenate([y for _, y in loaded])
        del loaded
        fit(pipeline, x, y, ctx.model.name, held_out)
        del x


def evaluate(ctx: RunState) -> None:
    """Metrics on every validation and test row, streamed partition by partition: only the
    truth and predictions (a few numbers a row) are kept, never the features."""
    import numpy as np
    import pandas as pd

    from mlconf.ml.assessment import Trained, assess
    from mlconf.ml.scoring import ROLES, Predicted, predict_part
    from mlconf.ml.training import target_of
    from mlconf.scale.partitioned import read_part

    state = _state(ctx)
    training = ctx.training
    target = target_of(ctx.conf, training)
    models = {"model": ctx.pipeline, "baseline": ctx.baseline}
    wanted = [*training.columns, target.column]
    predicted: dict[str, Predicted] = {}
    for part in ("validation", "test"):
        pieces = [
            predict_part(target, training.columns, models, read_part(p, wanted), ctx.warn)
            for p in state.part_files[part]
        ]
        pieces = [p for p in pieces if len(p.rows)]
        if not pieces:
            continue

        def joined(values: list[Any]) -> Any:
            return None if values[0] is None else np.concatenate(values)

        predicted[part] = Predicted(
            pd.Index(np.concatenate([p.rows.to_numpy() for p in pieces])),
            np.concatenate([p.y_true for p in pieces]),
            {
                role: (
                    joined([p.by_role[role][0] for p in pieces]),
                    joined([p.by_role[role][1] for p in pieces]),
                )
                for role in ROLES
            },
        )
    trained = Trained(ctx.conf, training.classes, ctx.threshold, ctx.cv, ctx.run_dir)
    ctx.metrics, ctx.test_scores = assess(trained, predicted, ctx.conf.data.sample_rows)
    ctx.record.counts["passed_success_criteria"] = ctx.metrics["passed"]
