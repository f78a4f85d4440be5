"""Built-in drift tests: each compares one column's reference profile with current values.

A drift component is `fn(reference, current) -> {"statistic": float, "p_value": float|None}`
where `reference` is the column's entry in `model/reference.json` (see
mlconf.monitor.reference) and `current` the column's current non-missing values as a
1-D numpy array (floats for numeric columns, strings for categorical ones). A test that
returns a p-value is judged on it (after multiple-testing correction across features);
one that returns None is judged on its statistic.

Everything works from summaries, never from the training rows: PSI, chi-square and
Jensen-Shannon compare histograms over the reference's bins (quantile bins for numeric
columns, categories for categorical ones); KS and Wasserstein compare the current sorted
values with the reference's stored quantiles (its exact sorted values when training had
at most `quantiles` rows), so both are exact against that summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.registry import register

if TYPE_CHECKING:
    import numpy as np

# Share floor for empty bins: PSI and Jensen-Shannon stay finite when a bin is empty.
EPS = 1e-4
# Pseudo-count added to reference bins before chi-square when one is empty (e.g. a new
# category), so the expected count is never zero.
PSEUDO_COUNT = 0.5


def sorted_values(current: Any) -> np.ndarray:
    """Current numeric values as a sorted float array without NaN (no copy if already so)."""
    import numpy as np

    values = np.asarray(current, dtype=float)
    if values.ndim != 1:
        values = values.ravel()
    if values.size and np.isnan(values).any():
        values = values[~np.isnan(values)]
    if values.size > 1 and not bool(np.all(values[1:] >= values[:-1])):
        values = np.sort(values)
    return values


def histograms(reference: dict[str, Any], current: Any) -> tuple[np.ndarray, np.ndarray]:
    """(reference counts, current counts) over the reference's bins.

    Numeric: bins (-inf, e0), [e0, e1), ..., [e_last, inf) over the stored edges.
    Categorical: the stored categories in order, then one bucket for every other value
    (the reference's rare categories and values never seen in training).
    """
    import numpy as np

    if reference["kind"] == "numeric":
        edges = np.asarray(reference["edges"], dtype=float)
        values = sorted_values(current)
        below = np.searchsorted(values, edges, side="left")
        cur = np.diff(np.concatenate(([0], below, [values.size])))
        return np.asarray(reference["counts"], dtype=float), cur.astype(float)
    categories = list(reference["categories"])
    ref = np.asarray([*reference["categories"].values(), reference.get("other", 0)], dtype=float)
    cur = category_counts(categories, current)
    return ref, cur


def category_counts(categories: list[str], current: Any) -> np.ndarray:
    """Counts of each category in `current`, then the count of everything else."""
    import numpy as np
    import pandas as pd

    values = pd.Series(np.asarray(current, dtype=object)).astype(str)
    counts = values.value_counts()
    known = counts.reindex(categories, fill_value=0).to_numpy(dtype=float)
    return np.concatenate((known, [float(len(values)) - known.sum()]))


def _shares(counts: np.ndarray) -> np.ndarray:
    import numpy as np

    total = counts.sum()
    return counts / total if total > 0 else np.full(counts.shape, 1.0 / max(1, counts.size))


@register("drift", "psi", applies_to=("numeric", "categorical"))
def psi(reference: dict[str, Any], current: Any) -> dict[str, Any]:
    """Population stability index over the reference bins (0.1 moderate, 0.2 large shift)."""
    import numpy as np

    ref, cur = histograms(reference, current)
    p = np.clip(_shares(ref), EPS, None)
    q = np.clip(_shares(cur), EPS, None)
    return {"statistic": float(np.sum((q - p) * np.log(q / p))), "p_value": None}


@register("drift", "chi2", applies_to=("numeric", "categorical"))
def chi2(reference: dict[str, Any], current: Any) -> dict[str, Any]:
    """Pearson chi-square goodness of fit of current bin counts to the reference shares."""
    import numpy as np
    from scipy.stats import chi2 as chi2_dist

    ref, cur = histograms(reference, current)
    keep = (ref > 0) | (cur > 0)
    ref, cur = ref[keep], cur[keep]
    if (ref == 0).any():
        ref = ref + PSEUDO_COUNT
    expected = _shares(ref) * cur.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.sum(np.where(expected > 0, (cur - expected) ** 2 / expected, 0.0)))
    dof = max(1, ref.size - 1)
    return {"statistic": statistic, "p_value": float(chi2_dist.sf(statistic, dof))}


@register("drift", "jensen_shannon", applies_to=("numeric", "categorical"))
def jensen_shannon(reference: dict[str, Any], current: Any) -> dict[str, Any]:
    """Jensen-Shannon distance (base 2, from 0 = same to 1 = disjoint) between bin shares."""
    import numpy as np

    ref, cur = histograms(reference, current)
    p, q = _shares(ref), _shares(cur)
    m = (p + q) / 2

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / b[mask])))

    divergence = max(0.0, (kl(p, m) + kl(q, m)) / 2)
    return {"statistic": float(np.sqrt(divergence)), "p_value": None}


def _reference_points(reference: dict[str, Any]) -> np.ndarray:
    import numpy as np

    if reference["kind"] != "numeric":
        raise TypeError("this test needs a numeric column")
    return np.asarray(reference["quantiles"], dtype=float)


@register("drift", "ks", applies_to=("numeric",))
def ks(reference: dict[str, Any], current: Any) -> dict[str, Any]:
    """Two-sample Kolmogorov-Smirnov: the largest gap between the two CDFs, with p-value."""
    import numpy as np
    from scipy.stats import kstwo

    points = _reference_points(reference)
    values = sorted_values(current)
    n, m = values.size, points.size
    if n == 0 or m == 0:
        return {"statistic": float("nan"), "p_value": None}
    unique, counts = np.unique(points, return_counts=True)
    ref_at = np.cumsum(counts) / m  # reference CDF at each unique point (right-continuous)
    ref_before = np.concatenate(([0.0], ref_at[:-1]))  # just below each point
    cur_at = np.searchsorted(values, unique, side="right") / n
    cur_before = np.searchsorted(values, unique, side="left") / n
    # Between reference points the reference CDF is flat, so the gap is largest at the
    # ends of each flat stretch: both are covered by these two comparisons.
    statistic = float(max(np.abs(ref_at - cur_at).max(), np.abs(ref_before - cur_before).max()))
    # The p-value uses the reference's real row count, not the number of stored points.
    n_ref = float(reference.get("count", m))
    big, small = max(n_ref, float(n)), min(n_ref, float(n))
    effective = np.round(big * small / (big + small))
    return {"statistic": statistic, "p_value": float(kstwo.sf(statistic, effective))}


@register("drift", "wasserstein", applies_to=("numeric",))
def wasserstein(reference: dict[str, Any], current: Any) -> dict[str, Any]:
    """Earth mover's distance, in units of the reference standard deviation (`raw`: as is)."""
    import numpy as np

    points = np.sort(_reference_points(reference))
    values = sorted_values(current)
    n, m = values.size, points.size
    if n == 0 or m == 0:
        return {"statistic": float("nan"), "p_value": None}
    # W1 is the area between the two quantile functions. Both are step functions whose
    # steps sit at multiples of 1/n and 1/m: on the common grid of multiples of 1/(n*m)
    # the breakpoints are k*m and j*n, merged by a sort of two sorted runs.
    breaks = np.sort(
        np.concatenate((np.arange(n, dtype=np.int64) * m, np.arange(m, dtype=np.int64) * n)),
        kind="stable",
    )
    widths = np.diff(np.concatenate((breaks, [n * m])))
    gaps = np.abs(values[breaks // m] - points[breaks // n])
    raw = float(np.dot(widths, gaps) / (n * m))
    scale = float(reference.get("std") or 0.0)
    return {"statistic": raw / scale if scale > 0 else raw, "p_value": None, "raw": raw}
