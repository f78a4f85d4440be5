"""One bar chart per attribute: selection rate, TPR and FPR (or error) per group."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlconf.ml.interpret.plots import WIDTH, pyplot, save

if TYPE_CHECKING:
    import pandas as pd

MAX_GROUPS = 30


def group_bars(by_group: pd.DataFrame, metrics: list[str], path: Path, title: str) -> None:
    """Grouped bars; small groups are hatched and every bar's group shows its row count."""
    import numpy as np
    from matplotlib.patches import Patch

    plt = pyplot()
    shown = by_group.sort_values("count", ascending=False).head(MAX_GROUPS)
    metrics = [m for m in metrics if m in shown.columns]
    positions = np.arange(len(shown))
    width = 0.8 / max(len(metrics), 1)
    figure, axes = plt.subplots(figsize=(WIDTH, 5.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, metric in enumerate(metrics):
        values = shown[metric].to_numpy(dtype=float)
        x = positions + k * width
        bars = axes.bar(x, np.nan_to_num(values), width, color=colours[k % len(colours)])
        for bar, small, value in zip(bars, shown["small"], values, strict=True):
            if small:
                bar.set_hatch("//")
                bar.set_alpha(0.5)
            if np.isnan(value):  # undefined, e.g. a true positive rate without positives
                axes.text(bar.get_x() + width / 2, 0.01, "n/a", ha="center", fontsize="x-small")
    labels = [
        f"{_short(_value_part(str(g)))}\nn={int(n)}{' small' if s else ''}"
        for g, n, s in zip(shown.index, shown["count"], shown["small"], strict=True)
    ]
    axes.set_xticks(positions + width * (len(metrics) - 1) / 2, labels, fontsize="small")
    if len(shown) > 4 or max(map(len, labels), default=0) > 24:
        axes.tick_params(axis="x", labelrotation=30)
        for label in axes.get_xticklabels():
            label.set_horizontalalignment("right")
    axes.set_title(_short(title, 90), fontsize="medium")
    handles = [
        Patch(facecolor=colours[k % len(colours)], label=m.replace("_", " "))
        for k, m in enumerate(metrics)
    ]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="small group"))
    axes.legend(handles=handles, fontsize="small")
    save(figure, path)


def _value_part(label: str) -> str:
    """'sex=F, region=north' -> 'F, north': the attribute names are in the title."""
    if "=" not in label:
        return label
    return ", ".join(part.split("=", 1)[-1] for part in label.split(", "))


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
