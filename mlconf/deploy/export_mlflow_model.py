"""The MLflow pyfunc an exported mlconf model runs as (`--format mlflow`).

MLflow loads it "from code" (the export's model script names this class), so no pickle is
written: the model folder inside the export is loaded with mlconf's own checks (sha256
manifest, allowed types) and answers in labels, with `proba_<class>` columns on request.
"""

from __future__ import annotations

from typing import Any

from mlflow.pyfunc import PythonModel

# The params `predict` takes, with their defaults (also declared in the signature).
PARAMS = {"proba": False}


class MlconfPyfunc(PythonModel):
    """`predict(rows)` -> a frame with `prediction` (the label or value) and, when
    `params={"proba": True}`, `proba_<class>` per class."""

    def load_context(self, context: Any) -> None:
        from mlconf.store.artifacts import load_model

        self.model = load_model(context.artifacts["model"])

    # Unannotated on purpose: MLflow reads predict's type hints as an input schema of their
    # own (and warns at every load); the signature saved with the model is the schema.
    def predict(self, context, model_input, params=None):
        import pandas as pd

        from mlconf.deploy.scoring import score

        model = self.model
        rows = pd.DataFrame(model_input)
        labels, proba = score(model, model._check_columns(rows))
        out = pd.DataFrame({"prediction": labels}, index=rows.index)
        if proba is not None and (params or {}).get("proba", PARAMS["proba"]):
            for i, label in enumerate(model.classes):
                out[f"proba_{label}"] = proba[:, i]
        return out
