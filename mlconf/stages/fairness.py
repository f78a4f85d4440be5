"""Fairness: model metrics per sensitive group, checked against the configured limits.

Sensitive attributes stay out of the features (see ml.features.feature_columns)
unless `use_as_feature: true`, but remain in the held-out rows, where this stage
reads them. Writes `fairness.json` and `plots/fairness/*.png`.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.ml.training import target_of

if TYPE_CHECKING:
    from mlconf.config import TrainConfig
    from mlconf.run_state import RunState


def draws(conf: TrainConfig) -> bool:
    return bool(conf.fairness.sensitive or conf.fairness.intersections)


def fairness(ctx: RunState) -> None:
    from mlconf.ml.fairness.gaps import Resampling
    from mlconf.ml.fairness.metrics import assess, check_fairness_config, groups_json
    from mlconf.ml.fairness.verdict import BROKEN, overall
    from mlconf.store.atomic import write_json

    conf = ctx.conf.fairness
    if not draws(ctx.conf):  # no sensitive attribute: nothing to assess (or draw)
        _not_configured(ctx)
        return
    problem = ctx.conf.problem
    frame = ctx.parts[conf.part]
    check_fairness_config(conf, list(frame.columns))
    classes = list(ctx.training.classes)
    binary = problem.task == "classification" and (
        len(classes) == 2 or problem.positive_class is not None
    )
    frame, y_true = target_of(ctx.conf, ctx.training).labelled(frame)
    y_pred: Any = ctx.pipeline.predict(frame[ctx.training.columns])
    if binary:  # the positive class is the last code (see ml.target.class_order)
        positive = len(classes) - 1
        y_true, y_pred = (y_true == positive).astype(int), (y_pred == positive).astype(int)
    m = ctx.conf.metrics
    resampling = Resampling(m.bootstrap, m.confidence, m.max_bootstrap_rows, ctx.conf.seed)
    results = assess(
        y_true, y_pred, frame, conf, task=problem.task, binary=binary, resampling=resampling
    )
    plots = [_plot(ctx, r, problem.task, binary) for r in results]
    checks = [_clean(c) for r in results for c in r.checks]
    judged = [c["passed"] for c in checks if c["passed"] is not None]
    failed = [c for c in checks if c["verdict"] == BROKEN]
    document = {
        "configured": True,
        "part": conf.part,
        "rows": len(frame),
        "task": problem.task,
        "positive_class": str(classes[-1]) if binary else None,
        "min_group_size": conf.min_group_size,
        "attributes": [
            {
                "attribute": r.attribute,
                "columns": r.columns,
                "use_as_feature": _used(ctx, r.columns),
                "groups": len(r.by_group),
                "small_groups": [str(g) for g in r.by_group.index[r.by_group["small"]]],
            }
            for r in results
        ],
        "groups": [g for r in results for g in groups_json(r)],
        "checks": checks,
        "passed": (not failed) if judged else None,  # no limit confirmed broken
        "verdict": overall([c["verdict"] for c in checks]),
        "confidence": m.confidence,
        "bootstrap": m.bootstrap,
        "on_fail": conf.on_fail,
        "note": None
        if binary or problem.task == "regression"
        else ("multiclass without problem.positive_class: only accuracy per group is compared"),
        "plots": plots,
    }
    write_json(ctx.artifact("fairness.json"), document)
    ctx.fairness = document
    ctx.count("fairness_passed", document["passed"])
    _summary(ctx, document, failed)
    if failed and conf.on_fail == "error":
        names = ", ".join(f"{c['attribute']}: {c['name']}" for c in failed)
        raise MlconfError(
            f"fairness limits not met: {names} (details in fairness.json)",
            where="config group fairness.limits",
            fix="investigate the groups in fairness.json, or set fairness.on_fail=warn",
        )


def _not_configured(ctx: RunState) -> None:
    """fairness.json without groups, naming the features that look like protected ones."""
    from mlconf.ml.fairness.names import sensitive_looking
    from mlconf.store.atomic import write_json

    write_json(
        ctx.artifact("fairness.json"),
        {
            "configured": False,
            "note": "no sensitive attributes (fairness.sensitive)",
            "looks_sensitive": sensitive_looking(ctx.training.columns),
            "plots": [],
        },
    )


def _used(ctx: RunState, columns: list[str]) -> bool:
    return any(c in ctx.training.columns for c in columns)


def _summary(ctx: RunState, document: dict[str, Any], failed: list[dict[str, Any]]) -> None:
    marks = {
        "met": "[green]met[/]",
        "broken": "[red]FAIL[/]",
        "cannot confirm": "[yellow]unsure[/]",
        "not checked": "[dim]n/a[/]",
    }
    for check in document["checks"]:
        ctx.console.print(f"  {marks[check['verdict']]} {check['attribute']}: {check['statement']}")
    for attribute in document["attributes"]:
        if attribute["small_groups"]:
            shown = ", ".join(attribute["small_groups"][:5])
            more = len(attribute["small_groups"]) - 5
            ctx.console.print(
                f"  small groups of {attribute['attribute']} (under {document['min_group_size']} "
                f"rows, not compared): {shown}{f' and {more} more' if more > 0 else ''}"
            )
    for check in failed:
        if document["on_fail"] == "warn":
            ctx.warn(f"fairness: {check['attribute']}: {check['statement']}")


def _plot(ctx: RunState, result: Any, task: str, binary: bool) -> dict[str, str]:
    from mlconf.ml.fairness.plots import group_bars

    if task == "regression":
        metrics, what = ["mae", "rmse"], "mean absolute and root mean squared error"
    elif binary:
        metrics = ["selection_rate", "true_positive_rate", "false_positive_rate"]
        what = "share predicted positive, true and false positive rates"
    else:
        metrics, what = ["accuracy"], "accuracy"
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", result.attribute)[:40] or "attribute"
    path = ctx.artifact("plots", "fairness", f"{slug}.png")
    # Drawn by the background drawing process while the stages go on.
    ctx.draw(
        "fairness", group_bars, result.by_group, metrics, path, f"{what} by {result.attribute}"
    )
    return {
        "path": path.relative_to(ctx.run_dir).as_posix(),
        "title": f"Groups of {result.attribute}",
        "caption": f"The {what} for each group of '{result.attribute}'; similar bars mean the "
        "model treats the groups alike. Hatched bars are groups too small to judge.",
    }


def _clean(check: dict[str, Any]) -> dict[str, Any]:
    """NaN is not JSON: undefined values become null."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in check.items()}
