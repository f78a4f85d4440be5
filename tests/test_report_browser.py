"""report.html in a real browser: headless Chromium (Debian's `chromium`, installed by .ci/run)
opens a report built from a real small run, and every section, plot and escape is checked
as rendered. The test fails, never skips, when Chromium is missing: CI must run it.

A screenshot and the page are kept in test-artifacts/ (git-ignored; MLCONF_TEST_ARTIFACTS
moves it).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from cdp import INSTALL_HINT, Browser, find_chromium
from helpers import ROOT, run_train
from report_fixtures import SCRIPT, SECTIONS, UMLAUT, add_stage_artifacts
from test_report import hostile_csv, hostile_overrides

from mlconf.report import build_report, build_sweep_report

ARTIFACTS = Path(os.environ.get("MLCONF_TEST_ARTIFACTS", ROOT / "test-artifacts"))

PAGE_FACTS = """JSON.stringify({
  sections: [...document.querySelectorAll('main > section')].map(s => ({
    id: s.id,
    heading: (s.querySelector('h2') || {}).innerText || '',
    height: s.getBoundingClientRect().height,
  })),
  images: [...document.images].map(i => ({
    alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
  })),
  scripts: document.scripts.length,
  handlers: document.querySelectorAll('[onerror],[onload],[onclick]').length,
  text: document.body.innerText,
  charset: document.characterSet,
})"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.fail(INSTALL_HINT)
    return found


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    run_dir = run_train(
        hostile_overrides(hostile_csv(folder / "hostile.csv")), folder / "run"
    ).run_dir
    add_stage_artifacts(run_dir)  # stages on other branches; real ones win where present
    return build_report(run_dir)


@pytest.mark.slow
def test_report_renders_in_headless_chromium(chromium: str, report_path: Path) -> None:
    with Browser(chromium) as page:
        page.open(report_path.as_uri())
        facts = json.loads(page.evaluate(PAGE_FACTS))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = page.screenshot(ARTIFACTS / "report.png")
        shutil.copyfile(report_path, ARTIFACTS / "report.html")
        errors = page.errors()
    assert errors == [], errors
    assert facts["charset"] == "UTF-8"
    assert [s["id"] for s in facts["sections"]] == SECTIONS
    for s in facts["sections"]:
        assert s["heading"] and s["height"] > 0, s
    assert len(facts["images"]) >= 5  # tuning-free run: EDA, evaluation x2, explain, fairness
    for image in facts["images"]:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
    # The hostile column name is shown as text and did not become a script or a handler.
    assert facts["scripts"] == 0 and facts["handlers"] == 0
    assert SCRIPT in facts["text"] and UMLAUT in facts["text"]
    assert shot.stat().st_size > 10_000


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
    with Browser(chromium) as page:
        page.open(path.as_uri())
        facts = json.loads(page.evaluate(PAGE_FACTS))
        link = page.evaluate("document.querySelector('a[href$=\"report.html\"]').href")
        page.screenshot(ARTIFACTS / "sweep_report.png")
        errors = page.errors()
    assert errors == [], errors
    assert facts["scripts"] == 0 and SCRIPT in facts["text"]
    assert link == (job / "report.html").as_uri()
