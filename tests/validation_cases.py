"""Helpers the schema validation tests share, and a check registered for them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlconf.core.component_registry import register
from mlconf.core.errors import MlconfError
from mlconf.ml.validation import (
    ValidationResult,
    validate,
)

CARS = Path(__file__).resolve().parents[1] / "mlconf" / "core" / "datasets" / "cars.csv"


@register("check", "tests_even")
def _even() -> Callable[[pd.Series], pd.Series]:
    """Values must be even (a check registered by the test suite)."""
    return lambda series: series % 2 == 0


def schema(columns: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"on_error": "quarantine", "coerce": True, **top, "columns": columns}


def failures_of(result: ValidationResult) -> set[tuple[str, str, Any]]:
    return {(r["column"], r["check"], r["row"]) for r in result.failures.to_dict("records")}


def error_of(frame: pd.DataFrame, cfg: Any, **kwargs: Any) -> str:
    with pytest.raises(MlconfError) as info:
        validate(frame, cfg, **kwargs)
    return str(info.value)
