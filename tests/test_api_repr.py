"""In a notebook, what the Python API returns shows as tables: a run, its metrics and its
leaderboard (`_repr_html_`); without an HTML display, as aligned text (`__repr__`)."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pytest

import mlconf
from mlconf.api import Metrics, Run, Table


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("repr") / "run"
    overrides = [
        "model=logistic",
        "model_selection.candidates=[logistic,dummy]",
        "model_selection.folds=2",
        "metrics.bootstrap=20",
        f"deploy.registry_url=sqlite:///{folder.parent / 'mlconf.db'}",
        "stages=[load,validate,prepare,split,select,train,evaluate]",
    ]
    return mlconf.train(overrides=overrides, run_dir=folder)


def test_a_run_renders_its_verdicts_metrics_and_leaderboard_as_html(run: Run) -> None:
    html = run._repr_html_()
    for caption in ("run", "verdicts", "metrics", "leaderboard"):
        assert f"<caption>{caption}</caption>" in html
    roc = run.metrics["test"]["model"]["roc_auc"]
    # the metric with its interval, as the report writes numbers
    from mlconf.report.format import fmt

    assert f"<td>roc_auc</td><td>{fmt(roc['value'])}</td>" in html
    assert f"<td>{fmt(roc['low'])} .. {fmt(roc['high'])}</td>" in html
    assert escape(run.verdicts[0]["statement"]) in html
    board = run.leaderboard
    assert board is not None and board.columns[0] == "rank"
    assert {row[1] for row in board.rows} == {"logistic", "dummy"}
    assert "<td>logistic</td>" in html and "<td>dummy</td>" in html


def test_metrics_stay_a_dict_and_render_on_their_own(run: Run) -> None:
    assert isinstance(run.metrics, dict) and isinstance(run.metrics, Metrics)
    assert run.metrics["primary_metric"] == "roc_auc"
    assert run.metrics._repr_html_().startswith('<table class="mlconf"><caption>metrics')


def test_without_a_display_the_same_tables_are_text(run: Run) -> None:
    text = repr(run)
    assert "<" not in text.replace("<=", "")
    lines = text.splitlines()
    assert "metrics" in lines and "leaderboard" in lines
    assert any(line.startswith("test") and "roc_auc" in line for line in lines)
    # IPython picks HTML where the front end shows it and the text everywhere else
    from IPython.core.formatters import DisplayFormatter

    shown, _ = DisplayFormatter().format(run)
    assert shown["text/html"] == run._repr_html_()
    assert shown["text/plain"] == text


def test_cells_are_escaped() -> None:
    table = Table("t<i>", ["a<b>"], [["<script>alert(1)</script>"]])
    html = table._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "a&lt;b&gt;" in html
    assert repr(table) == "t<i>\na<b>\n<script>alert(1)</script>"


def test_a_run_without_leaderboard_or_metrics(tmp_path: Path) -> None:
    bare = Run(run_dir=tmp_path, status="failed", metrics={}, model_dir=None)
    assert bare.leaderboard is None
    assert [t.title for t in bare.tables()] == ["run"]
    assert "failed" in bare._repr_html_() and "failed" in repr(bare)
