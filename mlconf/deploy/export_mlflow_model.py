"""The MLflow pyfunc an exported mlconf model runs as (`--format mlflow`).

MLflow loads it "from code" (the export's model script names this class), so no pickle is
written: the model folder inside the export is loaded with mlconf's own checks (sha256
manifest, allowed types) and answers in labels, with `proba_<class>` columns on request.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

# The params `predict` takes, with their defaults (also declared in the signature).
PARAMS = {"proba": False}


class MlconfPyfunc(PythonModel):
    """`predict(rows)` -> a frame with `prediction` (the label or value) and, when
    `params={"proba": True}`, `proba_<class>` per class."""

    def load_context(self, context: Any) -> None:
        from mlconf.store.artifacts import load_model

        self.model = load_model(context.artifacts["model"])

    # A DataFrame hint: MLflow reads predict's hints, and takes this one as "no schema from
    # hints" (the saved signature is the schema); `Any` or no hint makes it warn at each load.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        from mlconf.deploy.scoring import score

        model = self.model
        rows = pd.DataFrame(model_input)
        labels, proba = score(model, model._check_columns(rows))
        out = pd.DataFrame({"prediction": labels}, index=rows.index)
        if proba is not None and (params or {}).get("proba", PARAMS["proba"]):
            for i, label in enumerate(model.classes):
                out[f"proba_{label}"] = proba[:, i]
        return out
