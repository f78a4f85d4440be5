"""Fast paths offered by plugins, through the component registry.

A plugin registers its component with a `fast_path` entry in its metadata:

    @register("transform", "my_scaler", fast_path=my_scaler_fast)
    def my_scaler(...): ...

`my_scaler_fast(fitted_step)` returns a function from a float matrix (rows x the step's
input columns) to the step's output matrix, or None when `fitted_step` is not its kind
(every registered fast path is asked about every step it could compile). For a model, the
function returns class probabilities (one column per class, in `model.classes` order) or
regression values. The compiled scorer is still verified against the full pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def plugin_fast_path(step: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """The first registered fast path that accepts the fitted `step`, else None."""
    from mlconf.core.component_registry import REGISTRY

    for component in REGISTRY:
        offer = component.meta.get("fast_path")
        if callable(offer):
            found = offer(step)
            if found is not None:
                return found
    return None
