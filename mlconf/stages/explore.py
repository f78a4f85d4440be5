"""Explore: profile the validated data (data/profile.json) and plot it (plots/explore/).

It reads the frame the earlier stages left (after privacy, so no raw PII is shown) and
changes nothing; its warnings also go into run.json.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.store.atomic import write_json

if TYPE_CHECKING:
    from mlconf.config import ExploreConfig, TrainConfig
    from mlconf.run_state import RunState

MAX_RUN_WARNINGS = 20


def draws(conf: TrainConfig) -> bool:
    return conf.explore.enabled and conf.explore.plots


def explore(ctx: RunState) -> None:
    conf = ctx.conf
    path = ctx.artifact("data", "profile.json")
    if not conf.explore.enabled:
        write_json(path, {"enabled": False, "reason": "explore.enabled is false"})
        return
    from mlconf.ml.explore import profile_and_heatmap

    check_config(conf.explore)
    frame = ctx.frame
    result, heatmap = profile_and_heatmap(
        frame,
        target=conf.problem.target,
        task=conf.problem.task,
        config=conf.explore,
        seed=conf.seed,
        exclude=tuple(conf.data.id_columns),
    )
    result["plots"] = []
    result["sample"] = _sample(ctx, result)
    if draws(conf):
        # Nothing later in the run reads the plots or profile.json (the report does, after
        # the worker has written them): both are written beside the following stages.
        folder = ctx.artifact("plots", "explore", "x").parent
        from mlconf.ml.explore.plots import write_profile

        ctx.draw("explore", write_profile, dict(result), heatmap, folder, ctx.run_dir, path)
    else:
        write_json(path, result)
    for warning in result["warnings"][:MAX_RUN_WARNINGS]:
        ctx.warn(f"explore: {warning['message']}")
    if len(result["warnings"]) > MAX_RUN_WARNINGS:
        ctx.warn(
            f"explore: {len(result['warnings']) - MAX_RUN_WARNINGS} more data warnings in "
            "data/profile.json"
        )
    ctx.count("profile_warnings", len(result["warnings"]))
    sampled = f" (a sample of {result['sampled_rows']:,})" if result["sampled"] else ""
    ctx.console.print(
        f"  profiled {result['rows']:,} rows{sampled} x {len(result['columns'])} columns, "
        f"{len(result['warnings'])} warning(s)"
    )


def _sample(ctx: RunState, result: dict[str, Any]) -> dict[str, Any]:
    """The rows the profile's statistics come from, and what the sample means for them."""
    rows, used = result["rows"], result["sampled_rows"]
    meaning = (
        f"quantiles, histograms, distinct and top values, outliers and correlations use "
        f"{used:,} of {rows:,} rows"
        + (
            f" (a seeded random sample, explore.max_rows={ctx.conf.explore.max_rows})"
            if used < rows
            else ""
        )
        + f", associations with the target at most explore.association_rows="
        f"{ctx.conf.explore.association_rows:,}; missing shares and duplicates count every row"
    )
    ctx.sampled("explore", used, rows, meaning)
    note: dict[str, Any] = ctx.record.samples["explore"]
    return note


def check_config(config: ExploreConfig) -> None:
    """Counts must be positive and shares in [0, 1], named by their config key."""
    for key in ("max_rows", "association_rows", "max_mi_columns", "bins", "heatmap_columns"):
        if getattr(config, key) < 1:
            raise MlconfError(
                f"must be at least 1, not {getattr(config, key)}", where=f"config key explore.{key}"
            )
    for key in (
        "correlation_threshold",
        "high_missing_share",
        "id_like_share",
        "leakage_correlation",
        "leakage_mi_share",
    ):
        if not 0.0 <= getattr(config, key) <= 1.0:
            raise MlconfError(
                f"must be between 0 and 1, not {getattr(config, key)}",
                where=f"config key explore.{key}",
            )
