"""mlconf: declarative tabular machine learning, from one Hydra config to a monitored model."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# OpenMP (xgboost, scikit-learn) reads this once, when its library loads. By default its
# waiting threads spin; on a busy machine that turned a 1 s xgboost fit into 85 s here.
# Sleeping threads cost little on an idle machine. Set OMP_WAIT_POLICY=ACTIVE to spin.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mlconf.core.errors import MlconfError
from mlconf.core.lazy import lazy_attributes

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.api import Run, compose, monitor, predict, train
    from mlconf.core.component_registry import register
    from mlconf.store.artifacts import TrainedModel

# Imported on first use (PEP 562): any `import mlconf.x` runs this file first, and the
# processes that need only a part of mlconf (the drawing process of a run, `mlconf --help`)
# should not pay for the config system (OmegaConf, Hydra: about 0.3 s) to get it.
_LAZY = {
    "Run": "mlconf.api",
    "compose": "mlconf.api",
    "monitor": "mlconf.api",
    "predict": "mlconf.api",
    "train": "mlconf.api",
    "register": "mlconf.core.component_registry",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())


__all__ = [
    "MlconfError",
    "Run",
    "compose",
    "explain",
    "load_model",
    "monitor",
    "predict",
    "register",
    "run",
    "train",
]
__version__ = "0.1.0"


def run(cfg: Any, run_dir: Any = None) -> Any:
    """Execute the configured stages of one run (the function every CLI command fronts).

    Outside a Hydra app, pass `run_dir` or use `train`, which picks the CLI's folder."""
    from mlconf.runner import run as _run

    return _run(cfg, run_dir=run_dir)


def load_model(path: Any) -> TrainedModel:
    """Load a saved model folder after verifying its sha256 manifest."""
    from mlconf.store.artifacts import load_model as _load

    return _load(path)


def explain(
    model: TrainedModel,
    rows: pd.DataFrame,
    *,
    method: str = "auto",
    explained_class: Any = None,
    samples: int = 32,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-row contributions of each input column to a loaded model's output.

    Returns one row per input row (same index): a column per input column, `_bias`
    (the output with no information about the row), `_output` (bias plus the
    contributions: exactly what is explained) and, for classification, `_class`.
    `method="auto"` is exact TreeSHAP through xgboost (units: margin, i.e. log-odds for
    binary) for xgboost models and sampled Shapley values against the background rows
    saved with the model (units: probability, or the prediction) for any other model;
    `method="sampled"` forces the latter. `frame.attrs` holds `method` and `units`.
    """
    from mlconf.ml.interpret.contributions import explain_model

    return explain_model(
        model,
        rows,
        method=method,
        explained_class=explained_class,
        samples=samples,
        seed=seed,
    )
