"""monitoring_report.html in headless Chromium, as for the training report: every section
renders, every plot loads, a hostile value stays text. Fails (never skips) without Chromium."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from cdp import INSTALL_HINT, Browser, find_chromium
from helpers import CARS, FAST, run_train
from report_fixtures import SCRIPT
from shift_data import shift
from test_report_browser import ARTIFACTS, PAGE_FACTS

from mlconf.monitor.command import run_monitor

SECTION_IDS = [
    "alerts",
    "drift",
    "plots",
    "prediction",
    "quality",
    "section-performance",
    "section-health",
    "section-fairness",
    "section-impact",
    "section-decisions",
]


@pytest.mark.slow
def test_monitoring_report_renders_in_headless_chromium(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail(INSTALL_HINT)
    folder = tmp_path_factory.mktemp("monitor_browser")
    run_dir = run_train(["experiment=cars", *FAST], folder / "run").run_dir
    current = shift(pd.read_csv(CARS), ["Horsepower", "Weight_in_lbs"])
    current.loc[:40, "Make"] = SCRIPT  # a hostile never-seen category
    path = folder / "current.csv"
    current.to_csv(path, index=False)
    result = run_monitor(
        str(run_dir / "model"),
        registry_url=f"sqlite:///{folder / 'mlconf.db'}",
        current=path,
        out_dir=folder / "monitoring",
    )
    report = result.out_dir / "monitoring_report.html"
    with Browser(chromium) as page:
        page.open(report.as_uri())
        facts = json.loads(page.evaluate(PAGE_FACTS))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = page.screenshot(ARTIFACTS / "monitoring_report.png")
        shutil.copyfile(report, ARTIFACTS / "monitoring_report.html")
        rows = page.evaluate("document.querySelectorAll('#drift-table tr').length")
        errors = page.errors()
    assert errors == [], errors
    assert facts["charset"] == "UTF-8"
    assert [s["id"] for s in facts["sections"]] == SECTION_IDS
    for s in facts["sections"]:
        assert s["heading"] and s["height"] > 0, s
    assert len(facts["images"]) >= 3  # Horsepower, Weight_in_lbs, Make
    for image in facts["images"]:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
    assert facts["scripts"] == 0 and facts["handlers"] == 0
    assert SCRIPT in facts["text"]
    assert "Horsepower" in facts["text"] and "no labelled predictions yet" in facts["text"]
    assert int(rows) == 1 + len(result.summary["drift"]["features"])
    assert shot.stat().st_size > 10_000
