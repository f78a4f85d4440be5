"""Columns whose names suggest a protected attribute: said aloud when no sensitive attribute
is configured, so "no groups were compared" never reads as "there was nothing to compare"."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Words of a column name (split on anything but letters) that name a protected attribute.
PROTECTED_WORDS = frozenset(
    {
        "age", "caste", "citizenship", "color", "colour", "disability", "disabled",
        "ethnic", "ethnicity", "gender", "marital", "nationality", "orientation",
        "pregnancy", "pregnant", "race", "racial", "religion", "religious", "sex",
    }
)  # fmt: skip


def sensitive_looking(columns: Iterable[str]) -> list[str]:
    """The columns one of whose name's words is in PROTECTED_WORDS, in their order."""
    return [
        column
        for column in columns
        if PROTECTED_WORDS
        & {w.lower() for w in re.split(r"[^A-Za-z]+|(?<=[a-z])(?=[A-Z])", str(column)) if w}
    ]
