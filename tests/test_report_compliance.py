"""The report's compliance checklist (mlconf.report.sections.compliance): each item pass,
fail or not run, derived from the run's artifacts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_fixtures import SCRIPT, html_of, privacy_doc, section, stage_run, write_json


@pytest.fixture
def fixture_run(tmp_path: Path) -> Path:
    return stage_run(tmp_path / "run")


def test_compliance_checklist_derives_pass_fail_and_not_run(fixture_run: Path) -> None:
    compliance = section(html_of(fixture_run), "compliance")
    rows = dict(
        re.findall(r"<td>([^<]+)</td><td><span class=\"badge \w+\">([^<]+)</span>", compliance)
    )
    assert rows == {
        "Data fingerprints recorded": "pass",
        "PII scan run and findings handled": "pass",
        "Fairness limits checked and passed": "fail",
        "Success criteria met": "pass",
        "Model artifact hashed (manifest sha256)": "not run",
        "Seed and versions recorded": "pass",
        "Quarantine reviewed": "pass",
    }


def test_a_tampered_model_fails_the_hash_item(fixture_run: Path) -> None:
    model = fixture_run / "model"
    model.mkdir()
    (model / "pipeline.skops").write_bytes(b"changed")
    write_json(
        model / "manifest.json", {"files": {"pipeline.skops": "0" * 64}, "input_columns": [SCRIPT]}
    )
    html = html_of(fixture_run)
    assert "model/pipeline.skops is missing or does not match its sha256" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</code>" in section(html, "features")


def test_pii_kept_as_is_fails_the_privacy_item(fixture_run: Path) -> None:
    doc = privacy_doc()
    doc["findings"].append(
        {
            "column": "phone",
            "kind": "phone",
            "share": 1.0,
            "examples_masked": ["***01"],
            "policy": "ignore",
            "action": "ignore",
        }
    )
    write_json(fixture_run / "data/privacy.json", doc)
    html = html_of(fixture_run)
    assert "kept as is (policy ignore): phone" in section(html, "compliance")
    assert "<td>phone</td><td>phone</td><td>100.0%</td>" in section(html, "privacy")
