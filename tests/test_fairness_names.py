"""Columns that look like protected attributes are named when no fairness is configured."""

from __future__ import annotations

from mlconf.ml.fairness.names import sensitive_looking
from mlconf.report.model_card import _factors


def test_names_that_suggest_a_protected_attribute() -> None:
    columns = ["race", "applicant_sex", "AgeGroup", "income", "usage", "message", "voltage"]
    assert sensitive_looking(columns) == ["race", "applicant_sex", "AgeGroup"]


def test_the_model_card_names_them_when_no_fairness_was_configured() -> None:
    view = {"fairness": {"present": False, "looks_sensitive": ["race", "sex"]}}
    text = "\\n".join(_factors(view))
    assert "No sensitive attributes were configured (fairness.sensitive)" in text
    assert "race, sex" in text and "fairness.sensitive" in text
    quiet = "\\n".join(_factors({"fairness": {"present": False, "looks_sensitive": []}}))
    assert "suggest a protected attribute" not in quiet
