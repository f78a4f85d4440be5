"""`report.html`: one self-contained page per run, and `sweep_report.html` per multirun.

The page needs no network and no JavaScript: CSS is inline, every plot is a data URI,
and a Content-Security-Policy forbids scripts and any outside request. Jinja2 renders
with autoescaping on, so a column named `<script>` shows as text, and bidi control
characters show as their code points (mlconf.report.pages).
"""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import Any

from mlconf.report.content import collect
from mlconf.report.format import fmt, interval
from mlconf.report.pages import environment, render_page
from mlconf.report.run_files import RunFiles, check_run_dir, number
from mlconf.store.atomic import write_text

REPORT_FILE = "report.html"
SWEEP_REPORT_FILE = "sweep_report.html"
MAX_BYTES = 5_000_000
# Room for the text of the page; images get the rest of the size limit.
TEXT_RESERVE = 600_000
PLOT_SECTIONS = ("eda", "selection", "evaluation", "interpretation", "fairness")


TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> Any:
    """One environment per process: each template is compiled once (0.1-0.2 s for the
    report's), and `prepare_report` can compile them before the report is rendered."""
    return environment(TEMPLATES)


def prepare_report() -> None:
    """What rendering a report needs before any run file: its modules imported and its
    templates compiled. A run does it while it waits for its plots (Background.while_waiting)."""
    import mlconf.report.model_card  # noqa: F401 - imported now, used by the report job
    from mlconf.report.images import ImageInliner  # noqa: F401

    env = _environment()
    for name in ("report.html.j2", "macros.html.j2", "style.css", "fold.css"):
        env.get_template(name)


def render_report(
    run_dir: Path, *, max_image_px: int = 900, max_bytes: int = MAX_BYTES, status: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The report's HTML and the view it was rendered from (for the model card and tests)."""
    from mlconf.report.images import ImageInliner

    view = collect(run_dir, status=status)
    env = _environment()
    inliner = ImageInliner(run_dir, max_px=max_image_px, budget=max(0, max_bytes - TEXT_RESERVE))
    for section in PLOT_SECTIONS:
        view[section]["plots"] = [inliner.inline(p) for p in view[section].get("plots", [])]
    view["image_notes"] = inliner.notes
    view["generated"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    html = render_page(env, "report.html.j2", view)
    if len(html.encode("utf-8")) > max_bytes:
        # Tables alone overflowed the reserve: drop every image rather than exceed the limit.
        for section in PLOT_SECTIONS:
            for plot in view[section]["plots"]:
                if plot["uri"]:
                    plot["uri"] = None
                    plot["missing"] = f"not shown to keep the report small; open {plot['path']}"
        view["image_notes"] = [*inliner.notes, "all images left out (report size limit)"]
        html = render_page(env, "report.html.j2", view)
    return html, view


def build_report(
    run_dir: Path | str,
    *,
    max_image_px: int = 900,
    max_bytes: int = MAX_BYTES,
    status: str | None = None,
) -> Path:
    """Write `report.html` into the run folder from whatever artifacts it holds."""
    folder = check_run_dir(run_dir)
    html, _ = render_report(folder, max_image_px=max_image_px, max_bytes=max_bytes, status=status)
    target = folder / REPORT_FILE
    write_text(target, html)
    return target


def build_sweep_report(sweep_dir: Path | str) -> Path:
    """Write `sweep_report.html`: the jobs of a multirun ranked, linked to their reports."""
    import csv

    from mlconf.core.errors import MlconfError

    folder = Path(sweep_dir)
    summary = folder / "sweep_summary.csv"
    if not summary.is_file():
        raise MlconfError(
            f"'{folder}' is not a sweep folder: sweep_summary.csv is missing",
            where="SWEEP_DIR",
            fix="pass a folder written by `mlconf train -m` "
            "(experiments/<experiment>/multirun/<time>-<id>)",
        )
    with summary.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    jobs = []
    for row in rows:
        job = str(row.get("job", ""))
        files = RunFiles(folder / job)
        metrics = files.json("metrics.json") or {}
        primary = metrics.get("primary_metric") or row.get("primary_metric") or ""
        # A summary written before sweeps ranked on validation has no ranked_on: test.
        basis = row.get("ranked_on", "test") or ""
        item = _ranked_score(metrics, basis, primary)
        test = (metrics.get("test") or {}).get("model", {}).get(primary) or {}
        jobs.append(
            {
                "rank": row.get("rank", ""),
                "job": job,
                "overrides": row.get("overrides", ""),
                "status": row.get("status", ""),
                "metric": primary,
                "ranked_on": basis or "-",
                "value": item.get("value"),
                "low": item.get("low"),
                "high": item.get("high"),
                "value_text": fmt(item.get("value")),
                "interval": interval(item),
                "test_text": fmt(test.get("value")),
                "test_interval": interval(test),
                "passed": {"True": "met", "False": "not met"}.get(str(row.get("passed")), "-"),
                "seconds": row.get("seconds", ""),
                "error": row.get("error", ""),
                "link": f"{job}/{REPORT_FILE}" if (folder / job / REPORT_FILE).is_file() else None,
            }
        )
    scale = _bar_positions(jobs)
    view = {
        "title": folder.name,
        "jobs": jobs,
        "scale": scale,
        "metrics": sorted({j["metric"] for j in jobs if j["metric"]}),
        # in ranked order, so held-out scores come before a test fallback
        "bases": " / ".join(
            dict.fromkeys(str(j["ranked_on"]) for j in jobs if j["value"] is not None)
        )
        or "validation",
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    html = render_page(_environment(), "sweep.html.j2", view)
    target = folder / SWEEP_REPORT_FILE
    write_text(target, html)
    return target


def _ranked_score(metrics: dict[str, Any], basis: str, primary: str) -> dict[str, Any]:
    """The score the sweep summary ranked a job on (its `ranked_on`), as value/low/high."""
    if basis == "cv mean":
        return {"value": ((metrics.get("cv") or {}).get(primary) or {}).get("mean")}
    if basis not in ("validation", "test"):
        return {}
    return (metrics.get(basis) or {}).get("model", {}).get(primary) or {}


def _bar_positions(jobs: list[dict[str, Any]]) -> tuple[str, str]:
    """Percent offsets that draw each job's interval and value on one shared scale."""

    def point(v: Any) -> float | None:
        n = number(v)
        return n if n == n else None  # NaN (not equal to itself) has no place on the scale

    points = [
        n
        for j in jobs
        for n in (point(j["low"]), point(j["high"]), point(j["value"]))
        if n is not None
    ]
    lo, hi = (min(points), max(points)) if points else (0.0, 1.0)
    span = (hi - lo) or 1.0
    for j in jobs:
        value = point(j["value"])
        low = point(j["low"]) if point(j["low"]) is not None else value
        high = point(j["high"]) if point(j["high"]) is not None else value
        if value is None or low is None or high is None:
            j["bar"] = None
            continue
        j["bar"] = {
            "left": round(100 * (low - lo) / span, 2),
            "width": round(max(0.5, 100 * (high - low) / span), 2),
            "dot": round(100 * (value - lo) / span, 2),
        }
    return fmt(lo), fmt(hi)
