"""The rows a retrain works on: the champion's training rows read again, the labelled
feedback, the holdout split off it, and the two mixed into the challenger's training rows."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.monitoring.labels import labelled, seconds

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from mlconf.config import TrainConfig
    from mlconf.store.model_registry import ModelRegistry, ModelVersion


def reference_frame(conf: TrainConfig, console: Console) -> pd.DataFrame:
    """The champion's training rows, read again from its sources (so the sources, joins and
    dropped columns are the champion's)."""
    from mlconf.ml.data import loaded_line, read_data

    frame, _ = read_data(conf)
    console.print(loaded_line(frame, conf))
    return frame


def feedback_rows(
    registry: ModelRegistry, champion: ModelVersion, window: str, now: datetime
) -> pd.DataFrame:
    """Labelled predictions of the model (any version) newer than `window`, oldest first;
    the inputs as columns, the outcome under the target's name."""
    import pandas as pd

    schema = champion.schema
    since = now - timedelta(seconds=seconds(window, "monitoring.retrain.window"))
    found = labelled(
        registry.engine,
        champion.name,
        task=str(schema.get("task")),
        classes=list(schema.get("classes") or []),
        since=since,
    ).frame.sort_values("created_at", kind="stable")
    inputs = pd.DataFrame(found["inputs"].tolist(), index=found.index)
    inputs[str(schema.get("target"))] = found["outcome"].to_numpy()
    inputs["__prediction_id"] = found["prediction_id"].to_numpy()
    inputs["__created_at"] = found["created_at"].to_numpy()
    return inputs.reset_index(drop=True)


def holdout_size(n: int, conf: dict[str, Any]) -> int:
    """How many of the n newest feedback rows are held out: `holdout` as a share (or a
    count when 1 or more), at least `min_holdout`, and never every row."""
    share = float(conf["holdout"])
    size = round(n * share) if share < 1 else int(share)
    return min(n - 1, max(size, int(conf["min_holdout"]))) if n > 1 else 0


def mix(
    reference: pd.DataFrame, feedback: pd.DataFrame, share: float | None, seed: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Reference (sampled down so feedback is `share` of the rows) plus feedback."""
    import pandas as pd

    keep = len(reference)
    if share is not None and len(feedback):
        if not 0 < float(share) < 1:
            raise MlconfError(
                f"feedback_share must be between 0 and 1 (exclusive), got {share}",
                where="config key monitoring.retrain.feedback_share",
                fix="use e.g. 0.3, or null to keep every reference and feedback row",
            )
        keep = min(keep, round(len(feedback) * (1 - float(share)) / float(share)))
    sample = reference.sample(n=keep, random_state=seed) if keep < len(reference) else reference
    combined = pd.concat([sample, feedback[list(reference.columns)]], ignore_index=True)
    return combined, {"reference_rows": len(sample), "feedback_rows": len(feedback)}


def aligned(feedback: pd.DataFrame, reference: pd.DataFrame, conf: TrainConfig) -> pd.DataFrame:
    """Feedback with the reference's columns and dtypes; id columns made up when not logged."""
    import pandas as pd

    from mlconf.ml.features import part_column

    out = feedback.copy()
    for column in conf.data.id_columns:
        if column not in out.columns:
            out[column] = "feedback-" + out["__prediction_id"].astype(str)
    marker = part_column(conf)
    if marker and marker not in out.columns:  # split=predefined: feedback trains the challenger
        out[marker] = conf.split.part_labels["train"][0]
    missing = [c for c in reference.columns if c not in out.columns]
    for column in missing:  # a column the model does not use (dropped later in the run)
        out[column] = pd.NA
    for column in reference.columns:
        # left as logged when it does not convert; the training run's validation reports it
        with contextlib.suppress(TypeError, ValueError):
            out[column] = out[column].astype(reference[column].dtype)
    return out
