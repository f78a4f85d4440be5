"""The report: report.html (self-contained, escaped, every section present or saying why not),
model_card.md, the sweep comparison, `mlconf report RUN_DIR` and its errors."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from html import escape
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from helpers import FAST, cli, csv_data, output_of, run_train
from report_fixtures import (
    CITY,
    IMG,
    JAPANESE,
    SCRIPT,
    SECTIONS,
    TOP_FEATURE,
    UMLAUT,
    add_stage_artifacts,
    fairness_doc,
    html_of,
    interpretation_doc,
    key_shape,
    minimal_run,
    plot_entry,
    privacy_doc,
    section,
    stage_run,
    write_json,
)

from mlconf.report import build_report, build_sweep_report, write_model_card
from mlconf.report.format import fmt, interval
from mlconf.report.model_card import md

MODEL_CARD_SECTIONS = [
    "Model details",
    "Intended use",
    "Factors",
    "Metrics",
    "Evaluation data",
    "Training data",
    "Quantitative analyses",
    "Ethical considerations",
    "Caveats and recommendations",
]


def hostile_csv(path: Path) -> Path:
    """Breast cancer rows whose column names and values need escaping, and non-ASCII ones."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.iloc[:, [0, 1, 2, 3, 20, 21, 22]].copy()
    frame.columns = [SCRIPT, UMLAUT, JAPANESE, "mean area", "w1", "w2", "w3"]
    frame["Stadt"] = [CITY, "Köln", IMG][0:3] * (len(frame) // 3) + [CITY] * (len(frame) % 3)
    frame["diagnose"] = data.frame["target"].map({0: "bösartig", 1: "gutartig"})
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


def hostile_overrides(path: Path) -> list[str]:
    return [
        *csv_data(path, name="hostile"),
        "problem.target=diagnose",
        "problem.positive_class='bösartig'",
        *FAST,
        # a threshold chosen for cost, and fairness by Stadt (whose values need escaping)
        "problem.threshold.optimize=cost",
        "fairness=example",
        "fairness.sensitive=[{column: Stadt}]",
        "fairness.intersections=[]",
        "fairness.limits.accuracy_difference=0.0",
    ]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real small run on hostile column names; the report stage ran last."""
    folder = tmp_path_factory.mktemp("report")
    result = run_train(hostile_overrides(hostile_csv(folder / "hostile.csv")), folder / "run")
    return result.run_dir


@pytest.fixture
def fixture_run(tmp_path: Path) -> Path:
    return stage_run(tmp_path / "run")


def assert_safe(html: str) -> None:
    """No markup from data: no script element, no event handler, no outside reference."""
    assert "<script" not in html.lower()
    assert "<img src=x" not in html
    assert "onerror=" not in html.replace("onerror=alert(2)&gt;", "")
    for attr, value in re.findall(r'\b(src|href)="([^"]*)"', html):
        assert value.startswith(("data:image/png;base64,", "#")) or value.endswith(
            "/report.html"
        ), (attr, value[:80])
    assert "http://" not in html and "https://" not in html


# --- a real run -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_run_writes_report_and_model_card_last(real_run: Path) -> None:
    record = json.loads((real_run / "run.json").read_text())
    assert list(record["stages"])[-3:] == ["save", "report", "register"]
    html = (real_run / "report.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in html
    for name in SECTIONS:
        assert f'<section id="{name}">' in html, name
    assert (real_run / "report.html").stat().st_size < 5_000_000
    assert "succeeded" in section(html, "lineage")
    card = (real_run / "model_card.md").read_text(encoding="utf-8")
    for heading in MODEL_CARD_SECTIONS:
        assert f"\n## {heading}\n" in card, heading


@pytest.mark.slow
def test_a_real_run_shows_its_real_results(real_run: Path) -> None:
    html = (real_run / "report.html").read_text(encoding="utf-8")
    interpretation = json.loads((real_run / "interpretation.json").read_text())
    top = interpretation["permutation_importance"][0]["feature"]
    shap_top = interpretation["shap"]["mean_abs"][0]["feature"]
    text = section(html, "interpretation")
    assert f"<td>{escape(top)}</td>" in text and f"<td>{escape(shap_top)}</td>" in text
    assert "exact TreeSHAP" in text
    for curve in interpretation["partial_dependence"]:
        assert escape(curve["feature"]) in text
    assert text.count("data:image/png;base64,") == len(interpretation["plots"])
    assert escape(top) in section(html, "glance")

    fairness = json.loads((real_run / "fairness.json").read_text())
    text = section(html, "fairness")
    for group in fairness["groups"]:
        assert f"<td>{escape(group['group'])}</td>" in text
    failed = [c for c in fairness["checks"] if c["verdict"] == "broken"]
    assert failed  # accuracy_difference with limit 0
    assert text.count(">FAIL (confirmed)</span>") == len(failed)
    assert text.count("data:image/png;base64,") == len(fairness["plots"])
    assert "fail" in section(html, "glance")

    metrics = json.loads((real_run / "metrics.json").read_text())
    threshold = metrics["threshold"]
    assert threshold["method"] == "cost"
    text = section(html, "metrics")
    assert f"at least <strong>{fmt(threshold['value'])}</strong>" in text
    assert "for the least cost per row" in text
    assert interval(metrics["expected_cost"]["test"]["model"]) in text
    for criterion in metrics["success_criteria"]:
        assert escape(criterion["statement"]) in section(html, "glance")
    plots = metrics["plots"]
    assert section(html, "evaluation").count("data:image/png;base64,") == len(plots)
    assert "proba_bösartig" in section(html, "evaluation")
    assert "Stadt" in section(html, "features")  # a sensitive column kept out

    compliance = section(html, "compliance")
    assert "accuracy_difference" in compliance
    card = (real_run / "model_card.md").read_text(encoding="utf-8")
    factors = card[card.index("## Factors") : card.index("## Metrics")]
    assert "Stadt" in factors and "Köln" in card
    assert f"Decision threshold: {fmt(threshold['value'])}" in card
    assert "Cost of a false negative: 10" in card
    analyses = card[card.index("## Quantitative analyses") : card.index("## Ethical")]
    assert "FAIL" in analyses and "selection\\_rate" in analyses


@pytest.mark.slow
def test_fixtures_have_the_real_formats(real_run: Path, tmp_path: Path) -> None:
    """The hand-made fixture documents use exactly the keys the real stages write."""
    optional = {"skipped", "note"}  # keys only some items carry

    def check(fixture: object, real: object, where: str) -> None:
        if isinstance(fixture, dict) and isinstance(real, dict):
            if where.endswith(("feature_sources", "model", "baseline", "costs")):
                # keyed by column or metric names: compare the shape of one value
                check(next(iter(fixture.values()), None), next(iter(real.values()), None), where)
                return
            assert set(fixture) - optional <= set(real), (where, set(fixture) - set(real))
            assert set(real) - optional <= set(fixture), (where, set(real) - set(fixture))
            for key in fixture.keys() & real.keys():
                check(fixture[key], real[key], f"{where}.{key}")
        elif isinstance(fixture, list) and isinstance(real, list) and fixture and real:
            check(fixture[0], real[0], f"{where}[]")

    fixture_run = minimal_run(tmp_path / "fixture")
    add_stage_artifacts(fixture_run)
    for name, made in (
        ("interpretation.json", interpretation_doc(tmp_path)),
        ("fairness.json", fairness_doc(tmp_path)),
        ("metrics.json", json.loads((fixture_run / "metrics.json").read_text())),
    ):
        real = json.loads((real_run / name).read_text())
        check(key_shape(made), key_shape(real), name)
    columns = pd.read_csv(real_run / "data/predictions.csv", nrows=0).columns
    assert list(columns) == list(pd.read_csv(fixture_run / "data/predictions.csv").columns)


@pytest.mark.slow
def test_hostile_and_non_ascii_names_render_as_text(real_run: Path) -> None:
    html = (real_run / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the column, as text
    assert UMLAUT in html and JAPANESE in html
    assert_safe(html)
    card = (real_run / "model_card.md").read_text(encoding="utf-8")
    assert SCRIPT not in card and "\\<script\\>alert\\(1\\)\\</script\\>" in card


@pytest.mark.slow
def test_report_command_rebuilds_without_retraining(real_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(real_run, copy)
    (copy / "report.html").unlink()
    (copy / "model_card.md").unlink()
    assert add_stage_artifacts(copy) == []  # the real stages wrote every artifact
    proc = cli(["report", str(copy)])
    assert proc.returncode == 0, output_of(proc)
    html = (copy / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 5
    assert (copy / "model_card.md").is_file()
    assert_safe(html)


# --- sections from fixture artifacts ----------------------------------------------------------


def test_every_section_renders_from_the_artifacts(fixture_run: Path) -> None:
    html = html_of(fixture_run)
    assert "bösartig" in section(html, "problem") and "decision support" in html
    assert "Ärztinnen" in section(html, "problem")
    assert "f" * 64 in section(html, "data")
    quality = section(html, "quality")
    assert "Rows set aside: 2" in quality and f"{UMLAUT} below 0" in quality
    privacy = section(html, "privacy")
    assert "<td>email</td><td>email</td><td>90.0%</td><td>a***@***.de</td>" in privacy
    assert "hashed (salted)" in privacy and "MLCONF_PII_SALT" in privacy
    eda = section(html, "eda")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in eda and CITY in eda
    assert "&lt;img src=x onerror=alert(2)&gt;" in eda
    assert "<td>bösartig</td><td>4</td><td>40.0%</td>" in eda  # target classes
    assert "0 (0.0%)" in eda and "1 row(s) outside iqr x 1.5" in eda
    assert "<td>0.4</td><td>0.6</td><td>0.55</td>" in eda  # mutual info, pearson, spearman
    assert f"{JAPANESE} has one value" in eda
    split = section(html, "split")
    assert "60.0%" in split
    metrics = section(html, "metrics")
    assert "0.95" in metrics and "0.9 .. 0.99" in metrics
    assert "at least <strong>0.3217</strong>: chosen on validation data (2 rows)" in metrics
    assert "0.08772 .. 0.6184" in metrics and "false negative 10" in metrics
    assert "the whole interval meets it" in section(html, "glance")
    assert "least expected cost" in section(html, "problem")
    assert "false negative (a positive row missed)" in section(html, "problem")
    assert section(html, "evaluation").count("data:image/png;base64,") == 2
    assert "2 test predictions" in section(html, "evaluation")
    assert "proba_bösartig" in section(html, "evaluation")
    interpretation = section(html, "interpretation")
    # sorted by importance: the top feature's row comes first, in the glance too
    rows = re.findall(r"<tr><td>([^<]*)</td><td>[-\d.e]+</td><td>", interpretation)
    assert rows[0] == escape(TOP_FEATURE)
    assert "relies most on <strong>" + escape(TOP_FEATURE) in interpretation
    assert escape(TOP_FEATURE) in section(html, "glance")
    assert "exact TreeSHAP" in interpretation and "0.8456" in interpretation
    assert f"{JAPANESE}: not drawn (fewer than two values" in interpretation
    fairness = section(html, "fairness")
    assert "demographic_parity_difference" in fairness and "1 group(s) are small" in fairness
    assert '<tr class="failed"><td>Stadt</td><td>demographic_parity_difference</td>' in fairness
    assert ">FAIL (confirmed)</span>" in fairness and ">not checked</span>" in fairness
    assert ">cannot confirm</span>" in fairness and "0.3 .. 0.7" in fairness
    assert "at most 0.1" in fairness and "at least 0.8" in fairness
    assert "small: not compared" in fairness and "&lt;img src=x onerror=alert(2)&gt;" in fairness
    assert "no negative rows" in fairness
    assert "0123abc (uncommitted changes)" in section(html, "lineage")
    assert_safe(html)


def test_missing_artifacts_say_not_run_and_how_to_enable(tmp_path: Path) -> None:
    run_dir = minimal_run(tmp_path / "run")
    # what the stages write when nothing is configured
    write_json(run_dir / "interpretation.json", {"enabled": False, "plots": []})
    write_json(
        run_dir / "fairness.json",
        {"configured": False, "note": "no sensitive attributes (fairness.sensitive)", "plots": []},
    )
    html = html_of(run_dir)
    for name, key in [
        ("privacy", "privacy.scan=true"),
        ("eda", "explore.enabled=true"),
        ("interpretation", "`explain` stage"),
        ("fairness", "`fairness` stage"),
        ("selection", "model_selection.candidates"),
        ("evaluation", "`evaluate` stage"),
    ]:
        text = section(html, name)
        assert "Not run in this experiment (enable with" in text, name
        assert key in text, name


def test_a_switched_off_scan_or_profile_is_not_run(fixture_run: Path) -> None:
    doc = privacy_doc()
    doc.update(scan=False, findings=[], columns_scanned=0)
    write_json(fixture_run / "data/privacy.json", doc)
    write_json(
        fixture_run / "data/profile.json", {"enabled": False, "reason": "explore.enabled is false"}
    )
    html = html_of(fixture_run)
    assert "privacy.scan=false" in section(html, "privacy")
    assert "not run" in section(html, "compliance").split("PII scan")[1][:200]
    assert "explore.enabled is false" in section(html, "eda")


def test_passwords_in_urls_are_hidden(fixture_run: Path) -> None:
    html = html_of(fixture_run)
    assert "s3cret" not in html
    assert "postgresql://alice:***@db.example/prod" in html


def test_wide_images_are_scaled_down(fixture_run: Path) -> None:
    from PIL import Image

    metrics = json.loads((fixture_run / "metrics.json").read_text())
    metrics["plots"] = [plot_entry(fixture_run, "plots/evaluation/wide.png", "Wide", 2000)]
    write_json(fixture_run / "metrics.json", metrics)
    html = html_of(fixture_run, max_image_px=300)
    (uri,) = re.findall(r'src="data:image/png;base64,([^"]+)"', section(html, "evaluation"))
    assert Image.open(io.BytesIO(base64.b64decode(uri))).size[0] == 300
    assert "scaled down to 300 px" in html


def test_size_limit_leaves_images_out_and_says_so(fixture_run: Path) -> None:
    html = html_of(fixture_run, max_bytes=700_000)
    assert "data:image/png" not in html or len(html.encode()) < 700_000
    report = build_report(fixture_run, max_bytes=620_000)
    html = report.read_text(encoding="utf-8")
    assert report.stat().st_size < 620_000
    assert "left out (report size limit)" in html
    assert "not shown to keep the report small" in html


def test_plot_paths_outside_the_run_folder_are_not_read(fixture_run: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    shutil.copyfile(fixture_run / "plots/evaluation/roc.png", outside)
    metrics = json.loads((fixture_run / "metrics.json").read_text())
    metrics["plots"] = [
        {"path": "../secret.png", "title": "escape", "caption": ""},
        {"path": "plots/nope.png", "title": "gone", "caption": ""},
    ]
    write_json(fixture_run / "metrics.json", metrics)
    evaluation = section(html_of(fixture_run), "evaluation")
    assert "data:image" not in evaluation
    assert "only PNG files inside the run folder" in evaluation
    assert "plots/nope.png is missing" in evaluation


def test_unreadable_artifacts_are_reported_not_fatal(fixture_run: Path) -> None:
    (fixture_run / "fairness.json").write_text("{not json", encoding="utf-8")
    html = html_of(fixture_run)
    assert "fairness.json could not be read" in section(html, "glance")
    assert "Not run in this experiment" in section(html, "fairness")


def test_model_card_has_every_section_and_escapes_cells(fixture_run: Path) -> None:
    card = write_model_card(fixture_run).read_text(encoding="utf-8")
    for heading in MODEL_CARD_SECTIONS:
        assert f"\n## {heading}\n" in card, heading
    assert SCRIPT not in card and IMG not in card
    assert "| a\\|b |" in card  # a fairness check named a|b stays one cell
    assert "demographic\\_parity\\_difference" in card
    factors = card[card.index("## Factors") : card.index("## Metrics")]
    assert "Stadt" in factors and "\\<img src=x onerror=alert\\(2\\)\\>" in factors
    metrics = card[card.index("## Metrics") : card.index("## Evaluation data")]
    assert "Decision threshold: 0.3217 (chosen on validation data" in metrics
    assert "Cost of a false negative: 10" in metrics
    assert "Expected cost per row on test: 0.2632 (interval 0.08772 .. 0.6184" in metrics
    analyses = card[card.index("## Quantitative analyses") : card.index("## Ethical")]
    row = "| Stadt | demographic\\_parity\\_difference | 0.5 | 0.3 .. 0.7 | 0.5 | at most 0.1 |"
    assert f"{row} FAIL \\(confirmed\\) |" in analyses
    assert "cannot be confirmed either way" in analyses
    assert "| Stadt | Zürich | 6 |" in analyses
    assert "Zürich" in card


def test_md_escapes_markdown_and_html() -> None:
    assert md("a|b") == "a\\|b"
    assert md("<b>x</b>") == "\\<b\\>x\\</b\\>"
    assert md("two\nlines") == "two lines"
    assert md("") == "-"


def test_report_stage_does_nothing_when_disabled(tmp_path: Path) -> None:
    from mlconf.stages.report import report

    ctx = SimpleNamespace(
        conf=SimpleNamespace(report=SimpleNamespace(enabled=False)), run_dir=tmp_path
    )
    report(ctx)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


# --- the sweep comparison ---------------------------------------------------------------------


def test_sweep_report_ranks_jobs_and_links_their_reports(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    for job, value in (("0", 0.97), ("1", 0.91)):
        minimal_run(sweep / job)
        metrics = json.loads((sweep / job / "metrics.json").read_text())
        metrics["test"]["model"]["roc_auc"] = {
            "value": value,
            "low": value - 0.03,
            "high": value + 0.02,
        }
        write_json(sweep / job / "metrics.json", metrics)
    build_report(sweep / "0")
    pd.DataFrame(
        [
            {
                "rank": 1,
                "job": "0",
                "overrides": f"model={SCRIPT}",
                "status": "succeeded",
                "primary_metric": "roc_auc",
                "value": 0.97,
                "passed": True,
                "seconds": 1.0,
                "error": "",
            },
            {
                "rank": 2,
                "job": "1",
                "overrides": "model=ridge",
                "status": "failed",
                "primary_metric": "roc_auc",
                "value": None,
                "passed": None,
                "seconds": 0.1,
                "error": "boom",
            },
        ]
    ).to_csv(sweep / "sweep_summary.csv", index=False)
    html = build_sweep_report(sweep).read_text(encoding="utf-8")
    assert 'href="0/report.html"' in html and 'href="1/report.html"' not in html
    assert "0.94 .. 0.99" in html and "0.88 .. 0.93" in html
    assert "boom" in html and "model=&lt;script&gt;" in html
    assert_safe(html)


# --- errors -----------------------------------------------------------------------------------


def test_report_command_on_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("seed: 1\n")
    proc = cli(["report", str(tmp_path)])
    assert proc.returncode == 2
    assert "is not a run folder: run.json is missing" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = cli(["report", str(tmp_path / "nope")])
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    proc = cli(["report", str(tmp_path / "config.yaml")])
    assert proc.returncode == 2 and "is a file, not a run folder" in proc.stderr


def test_report_command_rebuilds_a_sweep_report(tmp_path: Path) -> None:
    minimal_run(tmp_path / "0")
    pd.DataFrame([{"rank": 1, "job": "0", "status": "succeeded"}]).to_csv(
        tmp_path / "sweep_summary.csv", index=False
    )
    proc = cli(["report", str(tmp_path)])
    assert proc.returncode == 0, output_of(proc)
    assert (tmp_path / "sweep_report.html").is_file()
