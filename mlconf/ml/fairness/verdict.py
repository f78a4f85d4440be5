"""A fairness check judged on its gap's estimate and whole bootstrap interval, in three ways.

As with the success criteria, a limit is `met` only when the estimate and the whole
interval meet it, and `broken` (a confirmed failure) only when they all break it; when
the interval straddles the limit the rows cannot confirm it either way, whatever side
the estimate falls on. An interval that is a single point cannot measure the
uncertainty, so it confirms nothing.
"""

from __future__ import annotations

import math
from typing import Any

from mlconf.ml.evaluation.verdict import interval_caveat

MET, BROKEN, UNSURE, NOT_CHECKED = "met", "broken", "cannot confirm", "not checked"
VERDICTS = (MET, BROKEN, UNSURE, NOT_CHECKED)


def judge(check: dict[str, Any], confidence: float, rows: int) -> dict[str, str]:
    """{verdict, statement} of a check with value, low, high, limit and limit_is."""
    value, low, high, limit = (check[k] for k in ("value", "low", "high", "limit"))
    op = "<=" if check["limit_is"] == "maximum" else ">="
    head = f"{check['name']} {op} {limit:g}" if limit is not None else str(check["name"])
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {"verdict": NOT_CHECKED, "statement": f"{head}: not checked, the gap is undefined"}
    if limit is None:
        return {"verdict": NOT_CHECKED, "statement": f"{head} = {value:.4g}: no limit set"}

    def within(x: float | None) -> bool:
        return x is not None and math.isfinite(x) and (x <= limit if op == "<=" else x >= limit)

    if low is None or high is None:
        verdict = MET if within(value) else BROKEN
        word = "met" if verdict == MET else "NOT met"
        return {"verdict": verdict, "statement": f"{head}: {word}, {value:.4g} (no interval)"}
    shown = (
        f"{value:.4g} ({confidence:.0%} interval {low:.4g} .. {high:.4g})"
        f"{interval_caveat(value, low, high)}"
    )
    sides = {within(value), within(low), within(high)}
    if low != high and sides == {True}:
        statement = f"{head}: met, {shown}, and the whole interval meets it"
        return {"verdict": MET, "statement": statement}
    if low != high and sides == {False}:
        return {
            "verdict": BROKEN,
            "statement": f"{head}: NOT met, confirmed: {shown}, and the whole interval breaks it",
        }
    estimate = "met" if within(value) else "NOT met"
    return {
        "verdict": UNSURE,
        "statement": f"{head}: cannot be confirmed either way on {rows} rows: {estimate} on "
        f"the estimate {shown}, but the interval crosses the limit",
    }


def overall(verdicts: list[str]) -> str:
    """One verdict for all checks: broken if any is, unsure if any is, met if any was judged."""
    for verdict in (BROKEN, UNSURE, MET):
        if verdict in verdicts:
            return verdict
    return NOT_CHECKED
