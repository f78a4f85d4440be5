"""Plots of a data profile: target, top associations, correlations, missing shares.

Each is a PNG at 100 dpi, at most 900 px wide, written atomically; matplotlib is imported
here only, so that a run without plots never pays for it.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from mlconf.report.figures import lay_out, one_at_a_time, write_png
from mlconf.store.atomic import write_with

WIDTH = 8.5  # inches at 100 dpi: 850 px
MAX_BARS = 20


def label(name: object, limit: int = 40) -> str:
    """A column name as a plot label: shortened, and `$` escaped so mathtext never parses it."""
    text = str(name)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def write_profile(
    profile: dict[str, Any], corr: Any, folder: Path, run_dir: Path, path: Path
) -> None:
    """The profile's plots, then the profile document (data/profile.json) naming them."""
    from mlconf.store.atomic import write_json

    profile["plots"] = save_profile_plots(profile, corr, folder, run_dir)
    write_json(path, profile)


@one_at_a_time
def save_profile_plots(
    profile: dict[str, Any], corr: Any, folder: Path, run_dir: Path
) -> list[dict[str, str]]:
    """Write the plots the profile supports; return their entries for profile.json."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    makers: list[tuple[str, str, str, Callable[[Any], bool]]] = [
        (
            "target.png",
            "Target distribution",
            "How often each value of the target occurs in the data.",
            partial(_target, profile.get("target")),
        ),
        (
            "associations.png",
            "Strongest associations with the target",
            "Features that tell the most about the target (mutual information); longer bars "
            "mean more information, not necessarily cause.",
            partial(_associations, profile.get("associations", [])),
        ),
        (
            "correlations.png",
            "Correlations between numeric columns",
            "How strongly pairs of numeric columns move together (1 or -1: in lockstep, "
            "0: unrelated).",
            partial(_heatmap, corr),
        ),
        (
            "missing.png",
            "Missing values per column",
            "The share of rows where each column has no value.",
            partial(_missing, profile.get("columns", {})),
        ),
    ]
    written = []
    for name, title, caption, draw in makers:
        figure, axes = plt.subplots(figsize=(WIDTH, 4.5))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # missing glyphs of non-Latin names
                if not draw(axes):
                    continue
                axes.set_title(title)
                lay_out(figure)
                path = folder / name
                write_with(path, partial(_save_png, figure))
        finally:
            plt.close(figure)
        written.append(
            {"path": path.relative_to(run_dir).as_posix(), "title": title, "caption": caption}
        )
    return written


def _save_png(figure: Any, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_png(figure, path)


def _target(target: dict[str, Any] | None, axes: Any) -> bool:
    if not target:
        return False
    if target.get("classes"):
        classes = target["classes"][:MAX_BARS]
        axes.bar([label(c["value"], 20) for c in classes], [c["count"] for c in classes])
        axes.set_ylabel("rows")
        axes.set_xlabel(label(target["name"]))
        axes.tick_params(axis="x", labelrotation=45 if len(classes) > 5 else 0)
        return True
    hist = target.get("histogram")
    if not hist:
        return False
    edges = hist["edges"]
    widths = [b - a for a, b in itertools.pairwise(edges)]
    axes.bar(edges[:-1], hist["counts"], width=widths, align="edge")
    axes.set_xlabel(label(target["name"]))
    axes.set_ylabel("rows")
    return True


def _associations(associations: list[dict[str, Any]], axes: Any) -> bool:
    scored = [a for a in associations if a.get("mutual_info") is not None][:MAX_BARS]
    if not scored:
        return False
    scored.reverse()
    axes.barh([label(a["feature"]) for a in scored], [a["mutual_info"] for a in scored])
    axes.set_xlabel("mutual information with the target (nats)")
    return True


def _heatmap(corr: Any, axes: Any) -> bool:
    if corr is None or corr.shape[0] < 2:
        return False
    names = [label(c, 20) for c in corr.columns]
    image = axes.imshow(corr.to_numpy(dtype=float), vmin=-1, vmax=1, cmap="RdBu_r")
    axes.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(len(names)), names, fontsize=8)
    axes.figure.colorbar(image, ax=axes, label="Pearson r")
    return True


def _missing(columns: dict[str, Any], axes: Any) -> bool:
    shares = sorted(
        ((name, c["missing_share"]) for name, c in columns.items() if c["missing_share"] > 0),
        key=lambda item: -item[1],
    )[:MAX_BARS]
    if not shares:
        return False
    shares.reverse()
    axes.barh([label(n) for n, _ in shares], [s for _, s in shares])
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of rows missing")
    return True
