"""Validate: cast types, check the schema (pandera), and make sure the target is usable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.core.component_registry import require
from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.ml.casting import cast_columns
from mlconf.stages.privacy import planned_policy

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import TrainConfig
    from mlconf.run_state import RunState


def validate(ctx: RunState) -> None:
    conf = ctx.conf
    frame = cast_columns(ctx.frame, conf.prepare.cast)
    if conf.schema.columns:
        from mlconf.ml.validation import validate as check_schema

        try:
            result = check_schema(frame, conf.schema, source=f"data '{conf.data.name}'")
        except MlconfError as exc:  # its table shows values: none raw of a protected column
            raise planned_policy(ctx, frame).error(exc, frame) from None
        bad = result.quarantined
        if len(bad):
            ctx.privacy = ctx.privacy or planned_policy(ctx, frame)
            rows = bad.drop(columns=["_row", "_reasons"]).set_axis(bad["_row"].to_numpy())
            ctx.set_aside(rows, bad["_reasons"].to_numpy(), "validate")
            ctx.warn(
                f"{len(bad)} row(s) failed the schema and were quarantined "
                f"(see {ctx.run_dir / 'data' / 'quarantine.csv'})"
            )
        frame = result.valid
        ctx.count("schema_failures", len(result.failures))
    ctx.frame = _usable_target(ctx, frame)


def _usable_target(ctx: RunState, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without a target are set aside; a target with nothing to learn stops the run."""
    import pandas as pd

    problem = ctx.conf.problem
    target = frame[problem.target]
    if target.isna().all():
        raise MlconfError(
            f"target column '{problem.target}' has no values (all {len(frame)} missing)",
            where="config key problem.target",
            fix="choose a column that holds the outcome, or fix the data source",
        )
    missing = target.isna()
    if missing.any():
        ctx.privacy = ctx.privacy or planned_policy(ctx, frame)
        ctx.set_aside(frame[missing], f"target '{problem.target}' is missing", "validate")
        ctx.warn(f"{int(missing.sum())} row(s) have no target value and were quarantined")
        frame = frame[~missing]
    if problem.task == "classification":
        classes = frame[problem.target].astype(str).unique()
        if len(classes) < 2:
            raise MlconfError(
                f"target '{problem.target}' has only one class ({classes[0]!r}): "
                "there is nothing to tell apart",
                where="config key problem.target",
                fix="check the data (a filter in the query?), or use a target with two or "
                "more classes",
            )
        if problem.positive_class is not None and str(problem.positive_class) not in set(classes):
            raise MlconfError(
                f"positive class {problem.positive_class!r} is not a value of "
                f"'{problem.target}'.{did_you_mean(str(problem.positive_class), classes)} "
                f"Values: {', '.join(sorted(classes)[:20])}",
                where="config key problem.positive_class",
            )
    elif problem.task == "regression":
        numeric = pd.to_numeric(frame[problem.target], errors="coerce")
        bad = numeric.isna()
        if bad.all():
            raise MlconfError(
                f"target '{problem.target}' is not numeric, but problem.task is regression",
                where="config key problem.task",
                fix="use task: classification for a categorical target",
            )
        if bad.any():
            ctx.privacy = ctx.privacy or planned_policy(ctx, frame)
            ctx.set_aside(frame[bad], f"target '{problem.target}' is not a number", "validate")
            frame = frame[~bad]
        frame = frame.assign(**{problem.target: numeric[~bad]})
    else:
        raise MlconfError(
            f"unknown task '{problem.task}'",
            where="config key problem.task",
            fix="use classification or regression",
        )
    return frame


def check(conf: TrainConfig) -> None:
    """Every schema rule names a registered check."""
    for column, rules in conf.schema.columns.items():
        for i, rule in enumerate(rules.checks):
            require("check", rule.name, f"schema.columns.{column}.checks[{i}].name")
