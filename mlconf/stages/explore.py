"""Explore: profile the validated data (data/profile.json) and plot it (plots/explore/).

It reads the frame the earlier stages left (after privacy, so no raw PII is shown) and
changes nothing; its warnings also go into run.json.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.store.atomic import write_json

if TYPE_CHECKING:
    from mlconf.stages.context import RunContext

MAX_RUN_WARNINGS = 20


def explore(ctx: RunContext) -> None:
    conf = ctx.conf
    path = ctx.artifact("data", "profile.json")
    if not conf.explore.enabled:
        write_json(path, {"enabled": False, "reason": "explore.enabled is false"})
        return
    from mlconf.explore import profile_and_heatmap

    frame = ctx["frame"]
    result, heatmap = profile_and_heatmap(
        frame,
        target=conf.problem.target,
        task=conf.problem.task,
        config=conf.explore,
        seed=conf.seed,
        exclude=tuple(conf.data.id_columns),
    )
    result["plots"] = []
    if conf.explore.plots:
        from mlconf.explore.plots import save_profile_plots

        folder = ctx.artifact("plots", "explore", "x").parent
        result["plots"] = save_profile_plots(result, heatmap, folder, ctx.run_dir)
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
