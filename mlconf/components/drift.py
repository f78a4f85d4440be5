"""Built-in drift tests: each compares one column's reference profile with current values.

A drift component is `fn(reference, current) -> {"statistic": float, "p_value": float|None}`
where `reference` is the column's entry in `model/reference.json` (see
mlconf.ml.reference) and `current` the column's current non-missing values: for
numeric columns a sorted 1-D float array, for categorical ones a pandas Categorical of
strings (`np.asarray(current)` gives the values; `category_counts` counts them against
the reference's categories). Tests also accept plain arrays and lists. A test that
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

from mlconf.core.component_registry import register

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Above this effective sample size the KS p-value uses Kolmogorov's limiting distribution.
EXACT_KS_N = 20_000
# Share floor for empty bins: PSI and Jensen-Shannon stay finite when a bin is empty.
EPS = 1e-4


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


def as_categorical(current: Any) -> pd.Categorical:
    """Current categorical values as a pandas Categorical of strings (missing dropped)."""
    import pandas as pd

    if isinstance(current, pd.Categorical):
        return current
    values = current if isinstance(current, pd.Series) else pd.Series(current, dtype=object)
    values = values.dropna()
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype(str)
    return pd.Categorical(values)


def category_counts(categories: list[str], current: Any) -> np.ndarray:
    """Counts of each category in `current`, then the count of everything else.

    Counting the integer codes of a Categorical (what the monitor passes) takes one pass;
    the strings were hashed once, when the Categorical was made, not once per test.
    """
    import numpy as np
    import pandas as pd

    values = as_categorical(current)
    codes = values.codes
    observed = np.bincount(codes[codes >= 0], minlength=len(values.categories))
    where = pd.Index(values.categories).get_indexer(categories)
    known = np.where(where >= 0, observed[np.maximum(where, 0)], 0).astype(float)
    return np.concatenate((known, [float((codes >= 0).sum()) - known.sum()]))


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
    """Pearson chi-square test that reference and current bin counts share one distribution.

    Both are samples, so this is the two-sample test of homogeneity (a 2 x bins contingency
    table, as scipy.stats.chi2_contingency without continuity correction), not a goodness
    of fit to the reference shares, which would treat the reference as exact and raise
    false alarms when the reference is no larger than the current data.
    """
    import numpy as np
    from scipy.stats import chi2 as chi2_dist

    ref, cur = histograms(reference, current)
    keep = (ref > 0) | (cur > 0)
    table = np.vstack((ref[keep], cur[keep]))
    total = table.sum()
    if total == 0 or table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return {"statistic": 0.0, "p_value": 1.0}
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
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


def _ks_summarised(reference: dict[str, Any], points: np.ndarray, values: np.ndarray) -> float:
    """KS distance to a reference known by m distinct quantiles at (j + 0.5) / m.

    A step CDF through those points would be off by up to 0.5 / m everywhere, which at a
    million rows is a false alarm; the reference CDF is taken as linear between them
    (and from its min to its max), and compared with the current ECDF on both sides of
    every current value, where the gap is largest.
    """
    import numpy as np

    m, n = points.size, values.size
    xs = np.concatenate(
        ([reference.get("min", points[0])], points, [reference.get("max", points[-1])])
    )
    ps = np.concatenate(([0.0], (np.arange(m) + 0.5) / m, [1.0]))
    ref_cdf = np.interp(values, xs, ps)
    steps = np.arange(n + 1) / n
    return float(max((steps[1:] - ref_cdf).max(), (ref_cdf - steps[:-1]).max()))


@register("drift", "ks", applies_to=("numeric",))
def ks(reference: dict[str, Any], current: Any) -> dict[str, Any]:
    """Two-sample Kolmogorov-Smirnov: the largest gap between the two CDFs, with p-value."""
    import numpy as np
    from scipy.special import kolmogorov
    from scipy.stats import kstwo

    points = _reference_points(reference)
    values = sorted_values(current)
    n, m = values.size, points.size
    if n == 0 or m == 0:
        return {"statistic": float("nan"), "p_value": None}
    unique, counts = np.unique(points, return_counts=True)
    if reference.get("count", m) > m and unique.size == m:
        statistic = _ks_summarised(reference, points, values)
    else:
        ref_at = np.cumsum(counts) / m  # reference CDF at each unique point
        ref_before = np.concatenate(([0.0], ref_at[:-1]))  # just below each point
        cur_at = np.searchsorted(values, unique, side="right") / n
        cur_before = np.searchsorted(values, unique, side="left") / n
        # Between reference points the reference CDF is flat, so the gap is largest at the
        # ends of each flat stretch: both are covered by these two comparisons.
        gaps = (np.abs(ref_at - cur_at).max(), np.abs(ref_before - cur_before).max())
        statistic = float(max(gaps))
    # The p-value uses the reference's real row count, not the number of stored points.
    n_ref = float(reference.get("count", m))
    big, small = max(n_ref, float(n)), min(n_ref, float(n))
    effective = np.round(big * small / (big + small))
    if effective > EXACT_KS_N:
        # kstwo.sf costs ~20 ms at large n; the Kolmogorov limit is as good there.
        p_value = float(kolmogorov(np.sqrt(effective) * statistic))
    else:
        p_value = float(kstwo.sf(statistic, effective))
    return {"statistic": statistic, "p_value": p_value}


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
    # the breakpoints are k*m and j*n.
    if n >= m:
        # Each current step [k*m, (k+1)*m) holds at most one reference break j*n inside:
        # take the reference value at the step's start, then correct the split steps.
        starts = np.arange(n, dtype=np.int64) * m
        area = float(np.abs(values - points[starts // n]).sum()) * m
        j = np.arange(1, m, dtype=np.int64)
        k, offset = np.divmod(j * n, m)
        inside = offset > 0
        j, k, offset = j[inside], k[inside], offset[inside]
        after = m - offset
        area += float(
            np.dot(after, np.abs(values[k] - points[j]) - np.abs(values[k] - points[j - 1]))
        )
        raw = area / (n * m)
        scale = float(reference.get("std") or 0.0)
        return {"statistic": raw / scale if scale > 0 else raw, "p_value": None, "raw": raw}
    breaks = np.sort(
        np.concatenate((np.arange(n, dtype=np.int64) * m, np.arange(m, dtype=np.int64) * n)),
        kind="stable",
    )
    widths = np.diff(np.concatenate((breaks, [n * m])))
    gaps = np.abs(values[breaks // m] - points[breaks // n])
    raw = float(np.dot(widths, gaps) / (n * m))
    scale = float(reference.get("std") or 0.0)
    return {"statistic": raw / scale if scale > 0 else raw, "p_value": None, "raw": raw}
