"""report.html in a real browser: headless Chromium (Debian's `chromium`, installed by .ci/run)
opens a report built from a real small run, and every section, plot and escape is checked
as rendered. The test fails, never skips, when Chromium is missing: CI must run it.

A screenshot and the page are kept in test-artifacts/ (git-ignored; MLCONF_TEST_ARTIFACTS
moves it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import run_train
from pages import assert_sound_page, chromium_or_fail, view_page
from report_fixtures import SCRIPT, SECTIONS, UMLAUT, add_stage_artifacts
from test_report import hostile_csv, hostile_overrides

from mlconf.report import build_report, build_sweep_report


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_or_fail()


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    run_dir = run_train(
        hostile_overrides(hostile_csv(folder / "hostile.csv")), folder / "run"
    ).run_dir
    assert add_stage_artifacts(run_dir) == []  # the real stages wrote every artifact
    return build_report(run_dir)


@pytest.mark.slow
def test_report_renders_in_headless_chromium(chromium: str, report_path: Path) -> None:
    view = view_page(chromium, report_path, "report")
    # tuning-free run: EDA, evaluation x2, explain, fairness images
    assert_sound_page(view, SECTIONS, min_images=5)
    assert view.folded["folded"] >= len(SECTIONS) - 1  # every section but "At a glance"
    # The hostile column name is shown as text and did not become a script or a handler.
    assert SCRIPT in view.facts["text"] and UMLAUT in view.facts["text"]


@pytest.mark.slow
def test_sweep_report_renders_in_headless_chromium(chromium: str, report_path: Path) -> None:
    import pandas as pd

    sweep = report_path.parent.parent / "sweep"
    job = sweep / "0"
    shutil.copytree(report_path.parent, job)
    pd.DataFrame(
        [{"rank": 1, "job": "0", "overrides": f"model={SCRIPT}", "status": "succeeded"}]
    ).to_csv(sweep / "sweep_summary.csv", index=False)
    path = build_sweep_report(sweep)
    view = view_page(
        chromium,
        path,
        "sweep_report",
        link="document.querySelector('a[href$=\"report.html\"]').href",
    )
    assert view.errors == [], view.errors
    assert view.facts["scripts"] == 0 and SCRIPT in view.facts["text"]
    assert view.values["link"] == (job / "report.html").as_uri()


@pytest.mark.slow
def test_narrow_tables_keep_headings_and_numbers_whole(chromium: str, tmp_path: Path) -> None:
    """In a column narrower than its content, a heading or a number is never cut mid-word
    (text cells such as paths may still break, so the page never scrolls sideways)."""
    import json

    from mlconf.report.html import TEMPLATES

    style = (TEMPLATES / "style.css").read_text(encoding="utf-8")
    headings = ["source", "columns", "rows", "missing", "p_value", "statistic"]
    cells = ["0.123456", "12,345", "0.98765", "1,234,567", "0.000012", "3.14159"]
    page = tmp_path / "narrow.html"
    page.write_text(
        f"<!doctype html><meta charset='utf-8'><style>{style}</style>"
        "<div style='width:260px'><table><tr>"
        + "".join(f"<th>{h}</th>" for h in headings)
        + "</tr><tr>"
        + "".join(f"<td class='num'>{c}</td>" for c in cells)
        + "</tr></table></div>",
        encoding="utf-8",
    )
    lines = (
        "JSON.stringify([...document.querySelectorAll('th, td.num')].map(e => {"
        "const r = document.createRange(); r.selectNodeContents(e);"
        "return r.getClientRects().length;}))"
    )
    view = view_page(chromium, page, "narrow_table", lines=lines)
    assert json.loads(view.values["lines"]) == [1] * 12
