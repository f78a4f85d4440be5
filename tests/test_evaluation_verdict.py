"""Success criteria judged on the estimate and on the whole interval, stated in words."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from omegaconf import OmegaConf

from mlconf.core.errors import MlconfError
from mlconf.ml.evaluation import MetricValue, score, success_verdict


def test_to_dict_is_json_safe() -> None:
    assert MetricValue(0.5, 0.4, 0.6).to_dict() == {"value": 0.5, "low": 0.4, "high": 0.6}
    assert json.dumps(MetricValue(math.nan).to_dict(), allow_nan=False) == (
        '{"value": null, "low": null, "high": null}'
    )


SCORES = {
    "roc_auc": MetricValue(0.85, 0.82, 0.88),
    "log_loss": MetricValue(0.30, 0.25, 0.36),
    "f1": MetricValue(0.70),
    "r2": MetricValue(math.nan),
}


@pytest.mark.parametrize(
    ("metric", "bounds", "passed", "confident"),
    [
        ("roc_auc", {"min": 0.80}, True, True),
        ("roc_auc", {"min": 0.84}, True, False),
        ("roc_auc", {"min": 0.90}, False, False),
        ("roc_auc", {"min": 0.80, "max": 0.87}, True, False),
        ("log_loss", {"max": 0.40}, True, True),
        ("log_loss", {"max": 0.29}, False, False),
        ("log_loss", {"min": None, "max": None}, True, True),
        ("f1", {"min": 0.6}, True, None),  # no interval: confidence unknown
        ("r2", {"min": 0.1}, False, None),  # nan never passes, and is reported as None
    ],
)
def test_success_verdict(
    metric: str, bounds: dict[str, float | None], passed: bool, confident: bool | None
) -> None:
    (verdict,) = success_verdict({metric: bounds}, SCORES)
    mv = SCORES[metric]
    assert verdict["metric"] == metric
    assert (verdict["min"], verdict["max"]) == (bounds.get("min"), bounds.get("max"))
    assert {k: verdict[k] for k in ("value", "low", "high")} == mv.to_dict()
    assert (verdict["passed"], verdict["confident"]) == (passed, confident)


def test_success_verdict_reads_criteria_from_config() -> None:
    criteria = OmegaConf.create({"roc_auc": {"min": 0.8, "max": None}, "f1": {"min": 0.9}})
    verdicts = success_verdict(criteria, SCORES)
    assert [(v["metric"], v["passed"]) for v in verdicts] == [("roc_auc", True), ("f1", False)]


def test_success_criterion_on_a_metric_not_computed() -> None:
    with pytest.raises(MlconfError) as err:
        success_verdict({"roc_aux": {"min": 0.9}}, SCORES)
    message = str(err.value)
    assert "success criterion 'roc_aux' names a metric that was not computed" in message
    assert "Did you mean 'roc_auc'?" in message
    assert "Computed metrics: f1, log_loss, r2, roc_auc" in message
    assert "Fix: add 'roc_aux' to the metrics" in message


def test_a_degenerate_interval_is_reported_as_computed_and_never_confirms() -> None:
    """Two rows, resamples of one: mcc is 0 on every resample (one class), 1 on the pair.

    The interval is that point rescaled towards the estimate (sqrt(1/2) of the way), not
    widened to contain it; the verdict says what it means and does not confirm the criterion.
    """
    labels = np.array(["a", "b"])
    result = score(["mcc"], labels, labels, None, labels=["a", "b"], positive_class=None,
                   task="classification", bootstrap=20, max_rows=1)  # fmt: skip
    mv = result["mcc"]
    assert mv.value == 1.0
    assert mv.low == mv.high == pytest.approx(1 - math.sqrt(0.5))
    (verdict,) = success_verdict({"mcc": {"min": 0.2}}, result, 0.95)
    assert (verdict["passed"], verdict["confident"]) == (True, False)
    assert "the interval is a single point: every resample scored the same" in verdict["statement"]
    assert verdict["statement"].startswith("mcc >= 0.2: met on the estimate 1 (95% interval")


BESIDE = "the estimate lies outside its interval"


@pytest.mark.parametrize(
    ("scores", "confident", "says"),
    [
        ({"value": 0.95, "low": 0.90, "high": 0.93}, True, BESIDE),
        ({"value": 0.85, "low": 0.90, "high": 0.93}, False, BESIDE),
        ({"value": 1.0, "low": 1.0, "high": 1.0}, False, "the interval is a single point"),
        ({"value": 0.95, "low": 0.90, "high": 0.97}, True, "whole interval meets it"),
    ],
)  # fmt: skip
def test_verdict_on_an_interval_beside_the_estimate_or_a_point(
    scores: dict[str, float], confident: bool, says: str
) -> None:
    """`confident` needs the estimate and a real interval to meet the bound, whatever lies where."""
    (verdict,) = success_verdict({"accuracy": {"min": 0.88}}, {"accuracy": MetricValue(**scores)})
    assert verdict["confident"] is confident
    assert says in verdict["statement"]
