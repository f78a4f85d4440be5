"""One bar chart per attribute: selection rate, TPR and FPR (or error) per group."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlconf.interpret.plots import WIDTH, pyplot, save

if TYPE_CHECKING:
    import pandas as pd

MAX_GROUPS = 30


def group_bars(by_group: pd.DataFrame, metrics: list[str], path: Path, title: str) -> None:
    """Grouped bars; small groups are hatched and every bar's group shows its row count."""
    import numpy as np

    plt = pyplot()
    shown = by_group.sort_values("count", ascending=False).head(MAX_GROUPS)
    metrics = [m for m in metrics if m in shown.columns]
    positions = np.arange(len(shown))
    width = 0.8 / max(len(metrics), 1)
    figure, axes = plt.subplots(figsize=(WIDTH, 4.8))
    for k, metric in enumerate(metrics):
        values = shown[metric].to_numpy(dtype=float)
        bars = axes.bar(positions + k * width, np.nan_to_num(values), width, label=metric)
        for bar, small in zip(bars, shown["small"], strict=True):
            if small:
                bar.set_hatch("//")
                bar.set_alpha(0.5)
    labels = [
        f"{_short(str(g))}\nn={int(n)}{' (small)' if s else ''}"
        for g, n, s in zip(shown.index, shown["count"], shown["small"], strict=True)
    ]
    axes.set_xticks(positions + width * (len(metrics) - 1) / 2, labels, fontsize="small")
    if len(shown) > 6:
        axes.tick_params(axis="x", labelrotation=45)
    axes.set_title(_short(title, 80))
    axes.legend(fontsize="small")
    save(figure, path)


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
