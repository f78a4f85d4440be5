"""`monitoring_report.html`: one self-contained page per monitor run.

Like the training report: no network, no JavaScript (a Content-Security-Policy forbids
both), CSS inline, plots as data URIs, Jinja2 with autoescaping (a feature called
`<script>` shows as text, a bidi control character as its code point). Plots:
reference-vs-current histograms of the most drifted features, written under `plots/` of
the run's folder.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.monitoring.section_view import section_view
from mlconf.report.format import fmt, pct
from mlconf.report.html import TEMPLATES
from mlconf.report.pages import environment, render_page
from mlconf.store.atomic import write_text

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config.monitoring import MonitoringConfig

# Sections other monitoring parts fill (through command.SECTIONS); shown empty until then.
EXPECTED_SECTIONS = ("performance", "health", "fairness", "impact")


def _environment() -> Any:
    return environment(Path(__file__).parent / "templates", TEMPLATES)


def shown(test: dict[str, Any]) -> str:
    """A test's corrected p-value if it has one, else its statistic."""
    if test.get("p_value") is not None:
        return f"p {fmt(test.get('p_adjusted'))}"
    return fmt(test.get("statistic"))


def _leads(summary: dict[str, Any]) -> dict[str, str]:
    """One line each for drift, prediction drift and data quality, for "At a glance"."""
    drift = summary["drift"]
    if drift.get("note"):
        drift_lead = f"insufficient data: {drift['note']}"
    else:
        drift_lead = (
            f"{len(drift['drifted'])} of {drift['compared']} features drifted "
            f"({pct(drift['share_drifted'])}, level {drift['share_level']})"
        )
    outputs = (summary.get("prediction_drift") or {}).get("outputs", [])
    prediction_lead = ", ".join(f"{r['feature']}: {r['level']}" for r in outputs) or str(
        (summary.get("prediction_drift") or {}).get("note") or "not computed"
    )
    quality = summary["quality"]
    flagged = [
        c["feature"]
        for c in quality["columns"]
        if c.get("missing_level", "ok") != "ok" or c.get("new_level", "ok") != "ok"
    ]
    quality_lead = f"{len(quality['columns'])} columns checked, {len(flagged)} flagged"
    if flagged:
        quality_lead += f" ({', '.join(map(str, flagged[:5]))}{', ...' * (len(flagged) > 5)})"
    if quality.get("missing_features"):
        quality_lead += f"; missing from the data: {', '.join(quality['missing_features'])}"
    return {
        "drift_lead": drift_lead,
        "prediction_lead": prediction_lead,
        "quality_lead": quality_lead,
    }


def render(summary: dict[str, Any], root: Path, max_image_px: int = 900) -> str:
    from mlconf.report.images import ImageInliner

    inliner = ImageInliner(root, max_px=max_image_px, budget=4_000_000)
    features = []
    for row in summary["drift"]["features"]:
        tests = []
        for name, t in row["tests"].items():
            tests.append(
                {
                    "name": name,
                    "statistic": fmt(t.get("statistic")),
                    "p": fmt(t.get("p_adjusted")) if t.get("p_value") is not None else "",
                    "level": t.get("level", "ok"),
                }
            )
        features.append({**row, "tests": tests, "score": fmt(row["score"])})
    sections = summary.get("sections", {})
    section_views = [section_view(n, sections.get(n)) for n in EXPECTED_SECTIONS]
    section_views += [section_view(n, d) for n, d in sections.items() if n not in EXPECTED_SECTIONS]
    prediction = summary.get("prediction_drift") or {}
    quality = summary["quality"]
    view = {
        "s": summary,
        "features": features,
        "plots": [inliner.inline(p) for p in summary.get("plots", [])],
        "alerts": summary.get("alerts", []),
        "delivery_failures": summary.get("delivery_failures", []),
        "non_finite": summary.get("non_finite", []),
        "quality_columns": [
            {
                **c,
                "missing_share": fmt(c["missing_share"]),
                "reference_missing": fmt(c["reference_missing"]),
                "new_share": fmt(c.get("new_share")),
                "new_categories": ", ".join(c.get("new_categories", [])[:10]),
            }
            for c in quality["columns"]
        ],
        "schema": {k: fmt(v) for k, v in quality["schema"].items() if not isinstance(v, dict)},
        "prediction_rows": [
            {
                "output": r["feature"],
                "level": r["level"],
                "tests": ", ".join(f"{n} {shown(t)}" for n, t in r["tests"].items())
                or r.get("note", ""),
            }
            for r in prediction.get("outputs", [])
        ],
        "prediction_note": prediction.get("note"),
        "sections": section_views,
        **_leads(summary),
        "metrics": {
            k: fmt(v.get("value") if isinstance(v, dict) else v)
            for k, v in summary["reference"].get("validation_metrics", {}).items()
        },
        "fmt": fmt,
        "pct": pct,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    return render_page(_environment(), "monitoring_report.html.j2", view)


def write_report(path: Path, summary: dict[str, Any]) -> Path:
    write_text(path, render(summary, path.parent))
    return path


def drift_plots(
    reference: dict[str, Any],
    frame: pd.DataFrame,
    summary: dict[str, Any],
    out_dir: Path,
    settings: MonitoringConfig,
) -> list[dict[str, Any]]:
    """Reference-vs-current histograms (shares per reference bin) of the most drifted features."""
    import numpy as np

    from mlconf.components.drift import histograms
    from mlconf.monitoring.drift import current_values
    from mlconf.report.figures import pyplot, save_figure

    rows = [r for r in summary["drift"]["features"] if r["tests"] and r["level"] != "ok"]
    rows = rows[: settings.drift.plots]
    if not rows:
        return []
    plt = pyplot()
    plots = []
    for index, row in enumerate(rows):
        column = row["feature"]
        profile = reference["columns"][column]
        ref, cur = histograms(profile, current_values(profile, frame[column]))
        ref_share = ref / max(ref.sum(), 1)
        cur_share = cur / max(cur.sum(), 1)
        if profile["kind"] == "numeric":
            edges = [f"{e:.3g}" for e in profile["edges"]]
            labels = [f"< {edges[0]}" if edges else "all"]
            labels += [f"{a}-{b}" for a, b in itertools.pairwise(edges)]
            labels += [f">= {edges[-1]}"] if edges else []
        else:
            labels = [*profile["categories"], "other/new"]
        x = np.arange(len(labels))
        figure, axis = plt.subplots(figsize=(8, 3.2), dpi=100)
        axis.bar(x - 0.2, ref_share, width=0.4, label="reference (training)", color="#7a8aa6")
        axis.bar(x + 0.2, cur_share, width=0.4, label="current", color="#c2410c")
        axis.set_xticks(x)
        axis.set_xticklabels([str(lab)[:14] for lab in labels], rotation=45, ha="right", fontsize=8)
        axis.set_ylabel("share of rows")
        axis.set_title(f"{column} ({row['level']})")
        axis.legend(fontsize=8)
        rel = f"plots/drift_{index:02d}.png"
        save_figure(figure, out_dir / rel)
        plots.append(
            {
                "path": rel,
                "title": f"{column}: reference vs current",
                "caption": f"How the values of {column} spread over the training bins, in "
                "training (grey) and in the current data (orange); bars of different "
                "heights mean the data changed.",
            }
        )
    return plots
