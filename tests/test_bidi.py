"""Bidirectional control characters in data (a category, a column, a label, an override)
are shown as their code points in every HTML page mlconf writes and in the model card:
never passed through to reorder the text around them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import CITY, add_stage_artifacts, minimal_run

from mlconf.monitoring.report import render
from mlconf.report import build_report, build_sweep_report
from mlconf.report.model_card import md
from mlconf.report.pages import BIDI_CONTROLS, visible_bidi

RLO = "\u202e"
EVERY = "".join(map(chr, BIDI_CONTROLS))


def test_every_bidi_control_is_made_visible() -> None:
    shown = visible_bidi(f"a{EVERY}b")
    assert not any(chr(c) in shown for c in BIDI_CONTROLS)
    assert shown.startswith("a[U+202A][U+202B]") and "[U+2069][U+200E][U+200F][U+061C]b" in shown
    assert visible_bidi("Zürich \u05e9\u05dc\u05d5\u05dd") == "Zürich \u05e9\u05dc\u05d5\u05dd"
    assert md(f"x{RLO}y") == r"x\[U\+202E\]y"  # Markdown shows x[U+202E]y


def _no_bidi(html: str) -> None:
    found = [f"U+{ord(ch):04X}" for ch in html if ord(ch) in BIDI_CONTROLS]
    assert not found, found


def test_training_report_shows_bidi_as_code_points(tmp_path: Path) -> None:
    run_dir = minimal_run(tmp_path / "run")
    add_stage_artifacts(run_dir)
    for path in run_dir.rglob("*"):
        if path.suffix in (".json", ".csv", ".yaml"):
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace(CITY, f"Zü{RLO}rich"), encoding="utf-8")
    html = build_report(run_dir).read_text(encoding="utf-8")
    _no_bidi(html)
    assert "Zü[U+202E]rich" in html


def test_sweep_report_shows_bidi_as_code_points(tmp_path: Path) -> None:
    with (tmp_path / "sweep_summary.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["rank", "job", "overrides", "status", "error"])
        writer.writeheader()
        writer.writerow(
            {"rank": 1, "job": "0", "overrides": f"data.name=a{RLO}b", "status": "failed"}
        )
    html = build_sweep_report(tmp_path).read_text(encoding="utf-8")
    _no_bidi(html)
    assert "a[U+202E]b" in html


def _summary(name: str) -> dict[str, Any]:
    """The smallest monitoring summary the report renders, with `name` in data fields."""
    return {
        "model": {"name": "world", "ref": "world@production", "version": "1"},
        "current": {"source": "current.csv", "rows": 3},
        "reference": {"rows": 10, "validation_metrics": {}},
        "status": "warn",
        "alerts": [{"kind": "quality", "level": "warn", "message": f"new value {name}"}],
        "drift": {
            "features": [
                {
                    "feature": name,
                    "kind": "categorical",
                    "level": "ok",
                    "tests": {},
                    "score": 0.0,
                    "rows": 3,
                }
            ],
            "drifted": [],
            "compared": 1,
            "share_drifted": 0.0,
            "share_level": "ok",
            "correction": "bh",
        },
        "quality": {
            "missing_features": [],
            "schema": {},
            "columns": [
                {
                    "feature": name,
                    "missing_share": 0.0,
                    "reference_missing": 0.0,
                    "missing_level": "ok",
                    "new_share": 0.5,
                    "new_categories": [name],
                }
            ],
        },
        "sections": {"performance": {"skipped_examples": [{"value": name, "reason": name}]}},
        "plots": [],
    }


@pytest.mark.parametrize("name", [f"evil{RLO}txt.exe", "\u2067abc\u2069", "mark\u200f"])
def test_monitoring_report_shows_bidi_as_code_points(tmp_path: Path, name: str) -> None:
    html = render(_summary(name), tmp_path)
    _no_bidi(html)
    assert visible_bidi(name) in html
