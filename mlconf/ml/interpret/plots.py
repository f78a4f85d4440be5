"""Interpretation plots (matplotlib, Agg, 100 dpi, at most 900 px wide), written atomically."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.report.figures import lay_out, one_at_a_time, write_png
from mlconf.store.atomic import write_with

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

WIDTH = 8.8  # inches at 100 dpi: 880 px
MAX_BARS = 20


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, path: Path) -> None:
    """Write the figure as PNG atomically and free it."""
    plt = pyplot()
    lay_out(figure)
    write_with(path, partial(write_png, figure))
    plt.close(figure)


@one_at_a_time
def importance_bars(rows: list[dict[str, Any]], path: Path, metric: str) -> None:
    plt = pyplot()
    top = rows[:MAX_BARS][::-1]
    figure, axes = plt.subplots(figsize=(WIDTH, 1.5 + 0.3 * len(top)))
    axes.barh(
        [_short(r["feature"]) for r in top],
        [r["mean"] for r in top],
        xerr=[r["std"] for r in top],
        color="#4c72b0",
    )
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel(f"drop in {metric} when the column is shuffled")
    axes.set_title("Permutation importance (validation rows)")
    save(figure, path)


@one_at_a_time
def contribution_summary(
    contributions: pd.DataFrame, values: pd.DataFrame, order: list[str], path: Path, units: str
) -> None:
    """Mean |contribution| bars beside a beeswarm-like scatter coloured by the column's value."""
    import numpy as np

    plt = pyplot()
    top = order[:MAX_BARS][::-1]
    figure, (bars, swarm) = plt.subplots(
        1, 2, figsize=(WIDTH, 1.5 + 0.3 * len(top)), sharey=True, width_ratios=[1, 2]
    )
    means = [float(np.abs(contributions[c]).mean()) for c in top]
    positions = np.arange(len(top))
    bars.barh(positions, means, color="#4c72b0")
    bars.set_yticks(positions, [_short(c) for c in top])
    bars.set_xlabel(f"mean |contribution| ({units})")
    rng = np.random.default_rng(0)
    cmap = plt.get_cmap("coolwarm").with_extremes(bad="grey")
    scatter = None
    for y, column in enumerate(top):
        x = contributions[column].to_numpy(dtype=float)
        colour = _scaled(values[column]) if column in values else np.full(len(x), np.nan)
        jitter = rng.uniform(-0.3, 0.3, len(x))
        scatter = swarm.scatter(
            x, y + jitter, c=colour, cmap=cmap, vmin=0, vmax=1, s=6, alpha=0.7, plotnonfinite=True
        )
    swarm.axvline(0, color="black", linewidth=0.8)
    swarm.set_xlabel(f"contribution per row ({units})")
    if scatter is not None:
        bar = figure.colorbar(scatter, ax=swarm, ticks=[0, 1])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("column value (grey: not numeric)")
    figure.suptitle("What drives the predictions")
    save(figure, path)


@one_at_a_time
def dependence(contribution: pd.Series, value: pd.Series, path: Path, units: str) -> None:
    """One column's value against its contribution, row by row."""
    import numpy as np

    from mlconf.components._columns import column_kind

    plt = pyplot()
    figure, axes = plt.subplots(figsize=(WIDTH * 0.75, 4.5))
    y = contribution.to_numpy(dtype=float)
    if column_kind(value.dtype) == "numeric":
        axes.scatter(value.to_numpy(dtype=float), y, s=8, alpha=0.6, color="#4c72b0")
    else:
        labels = value.astype(object).where(value.notna(), "(missing)").astype(str)
        levels = list(labels.value_counts().index[:MAX_BARS])
        keep = labels.isin(levels).to_numpy()
        x = np.asarray([levels.index(v) for v in labels[keep]], dtype=float)
        x += np.random.default_rng(0).uniform(-0.25, 0.25, len(x))
        axes.scatter(x, y[keep], s=8, alpha=0.6, color="#4c72b0")
        axes.set_xticks(range(len(levels)), [_short(v, 14) for v in levels], rotation=45)
    axes.axhline(0, color="black", linewidth=0.8)
    axes.set_xlabel(_short(str(value.name), 60))
    axes.set_ylabel(f"contribution ({units})")
    axes.set_title(f"How '{_short(str(value.name), 40)}' moves the prediction")
    save(figure, path)


@one_at_a_time
def partial_dependence(curve: dict[str, Any], path: Path, output: str, classes: list[str]) -> None:
    """ICE lines (thin) and their average (bold) over the column's grid."""
    import numpy as np

    plt = pyplot()
    figure, axes = plt.subplots(figsize=(WIDTH * 0.75, 4.5))
    individual: np.ndarray = curve["individual"]
    grid = curve["grid"]
    x = np.arange(len(grid)) if curve["categorical"] else np.asarray(grid, dtype=float)
    from matplotlib.collections import LineCollection

    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, lines in enumerate(individual):
        colour = colours[k % len(colours)]
        # One collection, not one line artist per row: the same pixels, drawn in a
        # fraction of the time (each artist costs a layout and a draw call of its own).
        rows = [np.column_stack([x, line]) for line in lines[:50]]
        axes.add_collection(LineCollection(rows, colors=colour, alpha=0.15, linewidths=0.7))
        label = classes[k] if len(individual) > 1 and k < len(classes) else "average"
        axes.plot(x, lines.mean(axis=0), color=colour, linewidth=2.5, label=label)
    if curve["categorical"]:
        axes.set_xticks(x, [_short(str(v), 14) for v in grid], rotation=45)
    axes.set_xlabel(_short(curve["feature"], 60))
    axes.set_ylabel(output)
    axes.set_title(f"Partial dependence on '{_short(curve['feature'], 40)}' (thin: single rows)")
    axes.legend(loc="best", fontsize="small")
    save(figure, path)


def _scaled(value: pd.Series) -> np.ndarray:
    """Values scaled to 0..1 by rank for colouring; nan (grey) for non-numeric or missing."""
    import numpy as np

    from mlconf.components._columns import column_kind

    if column_kind(value.dtype) != "numeric":
        return np.full(len(value), np.nan)
    ranks = value.rank(pct=True).to_numpy(dtype=float)
    return ranks


def _short(text: Any, limit: int = 30) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
