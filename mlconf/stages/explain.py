"""Explain: how the trained model uses its input columns, on validation rows.

Permutation importance (any model), per-row contributions (exact TreeSHAP for xgboost,
sampled Shapley values otherwise) with summary and dependence plots, and partial
dependence / ICE curves for the most important columns. Writes `interpretation.json`
and `plots/explain/*.png`.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.ml.training import target_of

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import TrainConfig
    from mlconf.run_state import RunState

SHAP_MODES = ("auto", "xgboost", "off")
DEPENDENCE_PLOTS = 3


def check_explain_config(ctx: RunState) -> None:
    conf = ctx.conf.explain
    if conf.shap not in SHAP_MODES:
        raise MlconfError(
            f"unknown contribution mode '{conf.shap}'",
            where="config key explain.shap",
            fix=f"use one of: {', '.join(SHAP_MODES)}",
        )
    for key in ("n_repeats", "max_rows", "grid_resolution"):
        if getattr(conf, key) < 1:
            raise MlconfError(
                f"must be at least 1, got {getattr(conf, key)}", where=f"explain.{key}"
            )
    for key in ("top_k", "sampled_rows", "background_rows"):
        if getattr(conf, key) < 0:
            raise MlconfError(f"must be >= 0, got {getattr(conf, key)}", where=f"explain.{key}")


def explained_rows(ctx: RunState) -> tuple[pd.DataFrame, Any, str]:
    """Validation rows (test rows when there is no validation part), target encoded."""
    parts: dict[str, pd.DataFrame] = ctx.parts
    part = "validation" if len(parts["validation"]) else "test"
    frame, y = target_of(ctx.conf, ctx.training).labelled(parts[part])
    return frame[ctx.training.columns], y, part


def draws(conf: TrainConfig) -> bool:
    return conf.explain.enabled


def explain(ctx: RunState) -> None:
    from mlconf.store.atomic import write_json

    conf = ctx.conf.explain
    check_explain_config(ctx)
    if not draws(ctx.conf):
        write_json(ctx.artifact("interpretation.json"), {"enabled": False, "plots": []})
        return
    x, y, part = explained_rows(ctx)
    if len(x) == 0:
        ctx.warn("explain: no validation or test rows to explain")
        write_json(ctx.artifact("interpretation.json"), {"enabled": True, "rows": 0, "plots": []})
        return
    total = len(x)
    if len(x) > conf.max_rows:
        import numpy as np

        keep = np.random.default_rng(ctx.conf.seed).choice(len(x), conf.max_rows, replace=False)
        keep.sort()
        x, y = x.iloc[keep], y[keep]
    seconds: dict[str, float] = {}
    plots: list[dict[str, str]] = []
    document: dict[str, Any] = {
        "enabled": True,
        "part": part,
        "rows": len(x),
        "metric": ctx.conf.problem.primary_metric,
        "n_repeats": conf.n_repeats,
        "sample": _sample(ctx, len(x), total, part),
    }
    start = time.perf_counter()
    importance = _importance(ctx, x, y, plots)
    document["permutation_importance"] = importance
    seconds["permutation_importance"] = time.perf_counter() - start
    start = time.perf_counter()
    document["shap"] = _contributions(ctx, x, plots)
    seconds["contributions"] = time.perf_counter() - start
    start = time.perf_counter()
    top = [r["feature"] for r in importance[: conf.top_k]]
    document["partial_dependence"] = _partial_dependence(ctx, x, top, plots)
    seconds["partial_dependence"] = time.perf_counter() - start
    document["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
    document["plots"] = plots
    # After its plots (the worker keeps the order), so the document never names a missing one.
    ctx.draw("explain", write_json, ctx.artifact("interpretation.json"), document)
    ctx.interpretation = document
    shown = ", ".join(r["feature"] for r in importance[:3])
    ctx.console.print(f"  most important columns: {shown}")


def _importance(
    ctx: RunState, x: pd.DataFrame, y: Any, plots: list[dict[str, str]]
) -> list[dict[str, Any]]:
    from mlconf.ml.interpret import plots as draw
    from mlconf.ml.interpret.importance import permutation_importance

    conf = ctx.conf
    metric = conf.problem.primary_metric
    rows = permutation_importance(
        ctx.pipeline,
        x,
        y,
        metric=metric,
        task=conf.problem.task,
        labels=list(range(len(ctx.training.classes))),
        n_repeats=conf.explain.n_repeats,
        seed=conf.seed,
    )
    path = ctx.artifact("plots", "explain", "permutation_importance.png")
    ctx.draw("explain", draw.importance_bars, rows, path, metric)
    plots.append(
        _plot(
            ctx,
            path,
            "Permutation importance",
            f"How much {metric} gets worse when one column's values are shuffled: the longer "
            "the bar, the more the model relies on that column.",
        )
    )
    return rows


def _contributions(ctx: RunState, x: pd.DataFrame, plots: list[dict[str, str]]) -> dict[str, Any]:
    from mlconf.ml.interpret.contributions import BIAS, explain_rows, feature_sources, is_xgboost

    conf = ctx.conf
    mode = conf.explain.shap
    pipeline = ctx.pipeline
    columns: list[str] = list(ctx.training.columns)
    tree = is_xgboost(pipeline)
    if mode == "off" or (mode == "xgboost" and not tree):
        reason = "explain.shap=off" if mode == "off" else "the model is not xgboost"
        return {"available": False, "reason": reason}
    sources = None
    if tree:
        sources = feature_sources(pipeline, ctx.training.x, columns)
        ctx.explain_sources = sources
        rows = x
    else:
        limit = conf.explain.sampled_rows
        rows = x if len(x) <= limit else x.sample(limit, random_state=conf.seed)
        if len(rows) == 0:
            return {"available": False, "reason": "explain.sampled_rows=0"}
    background = ctx.training.x
    if len(background) > 200:
        background = background.sample(200, random_state=conf.seed)
    frame = explain_rows(
        pipeline,
        rows,
        task=conf.problem.task,
        columns=columns,
        classes=list(ctx.training.classes),
        background=background,
        sources=sources,
        seed=conf.seed,
        samples=16,
    )
    method, units = frame.attrs["method"], frame.attrs["units"]
    what = _explained_output(ctx, units)
    mean_abs = _contribution_plots(ctx, frame, rows, units, what, plots)
    return {
        "available": True,
        "method": method,
        "exact": method == "tree",
        "units": units,
        "explained": what,
        "rows": len(frame),
        "bias": float(frame[BIAS].mean()),
        "mean_abs": mean_abs,
        "feature_sources": sources,
    }


def _contribution_plots(
    ctx: RunState,
    frame: pd.DataFrame,
    rows: pd.DataFrame,
    units: str,
    what: str,
    plots: list[dict[str, str]],
) -> list[dict[str, Any]]:
    """The summary plot and the dependence plots of the top columns; the columns ranked by
    their mean absolute contribution."""
    import numpy as np

    from mlconf.ml.interpret import plots as draw
    from mlconf.ml.interpret.contributions import BIAS, OUTPUT

    named = [c for c in frame.columns if c not in (BIAS, OUTPUT, "_class")]
    mean_abs = sorted(
        ({"feature": c, "mean_abs": float(np.abs(frame[c]).mean())} for c in named),
        key=lambda r: -r["mean_abs"],
    )
    order = [r["feature"] for r in mean_abs]
    path = ctx.artifact("plots", "explain", "contributions_summary.png")
    ctx.draw("explain", draw.contribution_summary, frame, rows, order, path, units)
    plots.append(
        _plot(
            ctx,
            path,
            "Contributions per column",
            f"Left: how much each column moves {what} on average. Right: one dot per row; "
            "right of zero pushes the prediction up, colour shows the column's value.",
        )
    )
    for i, column in enumerate(c for c in order[:DEPENDENCE_PLOTS] if c in rows.columns):
        path = ctx.artifact("plots", "explain", f"dependence_{i + 1}_{_slug(column)}.png")
        ctx.draw("explain", draw.dependence, frame[column], rows[column], path, units)
        plots.append(
            _plot(
                ctx,
                path,
                f"Dependence on {column}",
                f"Each dot is a row: its value of '{column}' and how much that value moved {what}.",
            )
        )
    return mean_abs


def _sample(ctx: RunState, rows: int, total: int, part: str) -> dict[str, Any]:
    """What the number of explained rows means for the importances (also in run.json)."""
    meaning = (
        f"permutation importance, contributions and partial dependence use {rows:,} of the "
        f"{total:,} {part} rows"
        + (
            f" (a seeded random sample, explain.max_rows={ctx.conf.explain.max_rows})"
            if rows < total
            else ""
        )
        + f"; the metric on {rows:,} rows carries sampling noise of the order of "
        f"1/sqrt({rows:,}) = {1 / max(rows, 1) ** 0.5:.3f}, so importances closer than that "
        "are not told apart"
    )
    ctx.sampled("explain", rows, total, meaning)
    note: dict[str, Any] = ctx.record.samples["explain"]
    return note


def _explained_output(ctx: RunState, units: str) -> str:
    classes = ctx.training.classes
    if ctx.conf.problem.task == "regression":
        return "the prediction"
    scale = "log-odds" if units == "margin" else "probability"
    if len(classes) == 2:
        return f"the {scale} of class '{classes[-1]}'"
    return f"the {scale} of each row's predicted class"


def _partial_dependence(
    ctx: RunState, x: pd.DataFrame, top: list[str], plots: list[dict[str, str]]
) -> list[dict[str, Any]]:
    from mlconf.ml.interpret import plots as draw
    from mlconf.ml.interpret.importance import partial_dependence

    conf = ctx.conf
    classes = [str(c) for c in ctx.training.classes]
    if conf.problem.task == "regression":
        output = "prediction"
    elif len(classes) == 2:
        output = f"probability of '{classes[-1]}'"
    else:
        output = "probability of each class"
    curves = []
    for i, column in enumerate(top):
        curve = partial_dependence(
            ctx.pipeline,
            x,
            column,
            task=conf.problem.task,
            resolution=conf.explain.grid_resolution,
            ice_rows=200,
            seed=conf.seed,
        )
        if curve is None:
            curves.append({"feature": column, "skipped": "fewer than two values, or a date"})
            continue
        path = ctx.artifact("plots", "explain", f"partial_dependence_{i + 1}_{_slug(column)}.png")
        ctx.draw("explain", draw.partial_dependence, curve, path, output, classes)
        plots.append(
            _plot(
                ctx,
                path,
                f"Partial dependence on {column}",
                f"The bold line is the model's average {output} if every row had the value on "
                f"the x axis for '{column}'; thin lines are single rows.",
            )
        )
        curves.append(
            {
                "feature": column,
                "categorical": curve["categorical"],
                "output": output,
                "grid": curve["grid"],
                "average": curve["average"],
            }
        )
    return curves


def _plot(ctx: RunState, path: Any, title: str, caption: str) -> dict[str, str]:
    return {"path": path.relative_to(ctx.run_dir).as_posix(), "title": title, "caption": caption}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))[:40] or "column"
