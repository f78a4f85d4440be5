"""Which label is the positive class, and whether the labels make a binary problem: what the
metric functions and their kernels both need to know."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def positive_label(labels: Sequence[Any], positive_class: Any) -> Any:
    """The positive class of a binary problem: the configured one, else the last label."""
    return labels[-1] if positive_class is None else positive_class


def is_binary(labels: Sequence[Any] | None) -> bool:
    """Two classes: label metrics score the positive class instead of a macro average."""
    return labels is not None and len(labels) == 2
