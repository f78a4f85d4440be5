"""monitoring_report.html in headless Chromium, as for the training report: every section
renders, every plot loads, a hostile value stays text. Fails (never skips) without Chromium."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import CARS, LEAN, run_train
from pages import assert_sound_page, chromium_or_fail, view_page
from report_fixtures import SCRIPT
from shift_data import shift

from mlconf.monitoring.command import run_monitor

SECTION_IDS = [
    "glance",
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
    chromium = chromium_or_fail()
    folder = tmp_path_factory.mktemp("monitor_browser")
    run_dir = run_train(["experiment=cars", *LEAN], folder / "run").run_dir
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
    view = view_page(
        chromium,
        report,
        "monitoring_report",
        rows="document.querySelectorAll('#drift-table tr').length",
    )
    assert_sound_page(view, SECTION_IDS, min_images=3)  # Horsepower, Weight_in_lbs, Make
    assert view.folded["folded"] == len(SECTION_IDS) - 1  # every section but "At a glance"
    text = view.facts["text"]
    assert SCRIPT in text
    assert "Horsepower" in text and "no labelled predictions yet" in text
    assert int(view.values["rows"]) == 1 + len(result.summary["drift"]["features"])
