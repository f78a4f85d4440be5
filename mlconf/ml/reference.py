"""The reference profile saved with a model (`model/reference.json`): what "normal" looks like.

Built at save time from the training part (inputs) and the validation part (predictions,
metrics). Per input column:

- numeric: quantile bin edges and the training counts per bin (for PSI, chi-square,
  Jensen-Shannon), `quantiles` (the sorted training values when there are at most
  `quantiles` of them, else that many evenly spaced quantiles; for KS and Wasserstein),
  count, missing share, mean, std, min, max;
- categorical: the `top_categories` most frequent values with their counts, the count of
  all other values (`other`), and `complete` (every training value is listed, so any other
  value in production is new).

`model_sha256` is the sha256 of the model's pipeline file: a reference is only used with
the model version it was built for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

REFERENCE_FILE = "reference.json"
FORMAT = "mlconf-reference/1"


@dataclass(frozen=True)
class ProfileSettings:
    """How detailed the reference is: bins for PSI, points for KS/Wasserstein, categories."""

    bins: int = 10
    quantiles: int = 1000
    top_categories: int = 50


def is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def numeric_profile(values: np.ndarray, missing: int, settings: ProfileSettings) -> dict[str, Any]:
    """Bins, counts and quantiles of finite float values (`values` need not be sorted)."""
    import numpy as np

    data = np.sort(np.asarray(values, dtype=float))
    data = data[np.isfinite(data)]
    n = int(data.size)
    total = n + missing
    profile: dict[str, Any] = {
        "kind": "numeric",
        "count": n,
        "missing": int(missing),
        "missing_share": missing / total if total else 0.0,
    }
    if n == 0:
        return {**profile, "edges": [], "counts": [0], "quantiles": []}
    inner = np.arange(1, settings.bins) / settings.bins
    edges = np.unique(np.quantile(data, inner))
    # Edges at the minimum would leave an empty first bin forever: drop them.
    edges = edges[edges > data[0]]
    below = np.searchsorted(data, edges, side="left")
    counts = np.diff(np.concatenate(([0], below, [n])))
    if n <= settings.quantiles:
        points = data
    else:
        points = np.quantile(data, (np.arange(settings.quantiles) + 0.5) / settings.quantiles)
    return {
        **profile,
        "edges": edges.tolist(),
        "counts": counts.astype(int).tolist(),
        "quantiles": points.tolist(),
        "mean": float(data.mean()),
        "std": float(data.std()),
        "min": float(data[0]),
        "max": float(data[-1]),
    }


def categorical_profile(series: pd.Series, settings: ProfileSettings) -> dict[str, Any]:
    values = series.dropna().astype(str)
    missing = int(len(series) - len(values))
    counts = values.value_counts()
    top = counts.iloc[: settings.top_categories]
    total = len(series)
    return {
        "kind": "categorical",
        "count": len(values),
        "missing": missing,
        "missing_share": missing / total if total else 0.0,
        "categories": {str(k): int(v) for k, v in top.items()},
        "other": int(counts.iloc[settings.top_categories :].sum()),
        "complete": len(counts) <= settings.top_categories,
    }


def column_profile(series: pd.Series, settings: ProfileSettings) -> dict[str, Any]:
    if is_numeric(series):
        values = series.to_numpy(dtype=float, na_value=float("nan"))
        import numpy as np

        finite = np.isfinite(values)
        return numeric_profile(values[finite], int((~finite).sum()), settings)
    return categorical_profile(series, settings)


def prediction_profile(
    task: str,
    labels: Any,
    scores: np.ndarray | None,
    settings: ProfileSettings,
) -> dict[str, Any]:
    """The prediction distribution: class shares and the score (positive-class probability
    for binary classification, the predicted value for regression) as a numeric profile."""
    import numpy as np
    import pandas as pd

    out: dict[str, Any] = {"task": task}
    if task == "classification":
        out["label"] = categorical_profile(pd.Series(labels, dtype=object), settings)
    if scores is not None:
        out["score"] = numeric_profile(np.asarray(scores, dtype=float), 0, settings)
    return out


def build_reference(
    x_train: pd.DataFrame,
    columns: list[str],
    *,
    task: str,
    predictions: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    settings: ProfileSettings | None = None,
    model_sha256: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    settings = settings or ProfileSettings()
    return {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run_id,
        "model_sha256": model_sha256,
        "task": task,
        "rows": len(x_train),
        "settings": {
            "bins": settings.bins,
            "quantiles": settings.quantiles,
            "top_categories": settings.top_categories,
        },
        "columns": {c: column_profile(x_train[c], settings) for c in columns if c in x_train},
        "prediction": predictions or {},
        "validation_metrics": metrics or {},
    }


def load_reference(path: Path, model_sha256: str | None) -> dict[str, Any]:
    """Read a reference profile and check it belongs to the model version in use."""
    import json

    if not path.is_file():
        raise MlconfError(
            f"no reference profile at {path}",
            fix="retrain the model with this version of mlconf (the save stage writes "
            f"model/{REFERENCE_FILE}), or pass reference=PATH",
        )
    try:
        reference = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # not JSON, or not UTF-8 text
        raise MlconfError(
            f"{path} is not valid JSON: {exc}",
            where=str(path),
            fix="use the reference.json saved with the model",
        ) from exc
    found = reference.get("format") if isinstance(reference, dict) else type(reference).__name__
    if found != FORMAT:
        raise MlconfError(
            f"{path} has format {found!r}, expected {FORMAT!r}",
            where=str(path),
            fix="use the reference.json saved with the model",
        )
    saved = reference.get("model_sha256")
    if model_sha256 and saved != model_sha256:
        raise MlconfError(
            f"the reference profile {path} was built for another model version (pipeline "
            f"sha256 {str(saved)[:12]}...), not the one being monitored ({model_sha256[:12]}...)",
            where=str(path),
            fix="use the reference.json inside the monitored model's folder (the default), "
            "or monitor the version the reference belongs to",
        )
    return reference
