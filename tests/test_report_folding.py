"""Both reports open with "At a glance" and fold every other section under its heading, so
a reader sees the verdict first and opens only what they need (printing shows everything)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from report_fixtures import html_of, stage_run
from test_monitor_report_view import HEALTH, IMPACT

from mlconf.monitoring.report import render


def assert_glance_first_and_the_rest_folded(html: str) -> None:
    ids = re.findall(r'<section id="([^"]+)">', html)
    assert ids[0] == "glance" and len(ids) > 3
    for section_id in ids[1:]:
        body = html.split(f'<section id="{section_id}">', 1)[1].split("</section>", 1)[0]
        assert body.lstrip().startswith('<details class="fold"><summary><h2>'), section_id
        assert body.rstrip().endswith("</details>"), section_id
    assert "@media print" in html


def test_training_report_reads_at_a_glance(tmp_path: Path) -> None:
    assert_glance_first_and_the_rest_folded(html_of(stage_run(tmp_path / "run")))


def monitoring_summary() -> dict[str, Any]:
    return {
        "model": {"name": "m", "ref": "m:1", "version": 1},
        "current": {"source": "new.csv", "rows": 50},
        "reference": {"rows": 500, "validation_metrics": {}},
        "status": "warn",
        "alerts": [{"level": "warn", "kind": "security", "message": "pii seen"}],
        "drift": {
            "features": [],
            "drifted": [],
            "compared": 3,
            "share_drifted": 0.0,
            "share_level": "ok",
            "correction": "holm",
        },
        "quality": {"columns": [], "schema": {}, "missing_features": []},
        "sections": {"impact": IMPACT, "health": HEALTH},
    }


def test_monitoring_report_reads_at_a_glance_and_as_tables(tmp_path: Path) -> None:
    html = render(monitoring_summary(), tmp_path)
    assert "agreement.agreement" not in html and "usage.predictions" not in html
    assert_glance_first_and_the_rest_folded(html)
    glance = html.split('<section id="glance">', 1)[1].split("</section>", 1)[0]
    assert "pii seen" in glance and "0 of 3 features drifted" in glance
    assert "200 predictions; 0.48 agree with the outcome" in glance
    assert "not computed in this run" in glance  # performance and fairness were not run
