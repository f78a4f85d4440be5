"""mlconf: declarative tabular machine learning, from one Hydra config to a monitored model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.errors import MlconfError
from mlconf.registry import register

if TYPE_CHECKING:
    from mlconf.store.artifacts import TrainedModel

__all__ = ["MlconfError", "load_model", "register", "run"]
__version__ = "0.1.0"


def run(cfg: Any) -> Any:
    """Execute the configured stages of one run (the function every CLI command fronts)."""
    from mlconf.runner import run as _run

    return _run(cfg)


def load_model(path: Any) -> TrainedModel:
    """Load a saved model folder after verifying its sha256 manifest."""
    from mlconf.store.artifacts import load_model as _load

    return _load(path)
