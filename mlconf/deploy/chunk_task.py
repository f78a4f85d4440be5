"""The work on one chunk: check it against the schema, score the rows that pass. The same
here as on a Dask worker, so a cluster changes where it runs, not what it gives."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlconf.deploy.batch_columns import PREDICTION, ROW
from mlconf.deploy.quarantine import split_chunk
from mlconf.deploy.scoring import score
from mlconf.store.artifacts import MANIFEST_FILE, TrainedModel

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.ml.privacy.policy import PrivacyPolicy


@dataclass
class Scored:
    """One chunk's predictions (without version and time, added where they are written) and
    its quarantined rows."""

    rows: int
    out: pd.DataFrame | None
    bad: pd.DataFrame | None


@dataclass
class ChunkTask:
    """What every chunk is checked and scored with; small enough to send to the workers."""

    schema: dict[str, Any]
    kept: list[str]
    proba_names: list[str]
    quarantined_columns: list[str]
    privacy: PrivacyPolicy

    def run(self, chunk: pd.DataFrame, model: TrainedModel) -> Scored:
        import numpy as np
        import pandas as pd

        valid, bad = split_chunk(chunk, self.schema, self.privacy, self.quarantined_columns)
        if not len(valid):
            return Scored(len(chunk), None, bad)
        labels, proba = score(model, valid)
        out = pd.DataFrame({ROW: valid.index.to_numpy()}, index=valid.index)
        for name in self.kept:
            out[name] = chunk.loc[valid.index, name]
        out = self.privacy.rows(out)
        out[PREDICTION] = labels
        if model.task == "classification":
            probs = proba if proba is not None else np.full((len(valid), 0), np.nan)
            for i, name in enumerate(self.proba_names):
                out[name] = probs[:, i] if i < probs.shape[1] else np.nan
        return Scored(len(chunk), out, bad)


# A Dask worker loads each model once, from the files it was sent (verified against their
# manifest, whose sha256 is the key: hashing it is cheap, hashing the pipeline per chunk is
# not). Worker threads share the cache, so it is read and filled under a lock.
_WORKER_MODELS: dict[str, TrainedModel] = {}
_WORKER_LOCK = threading.Lock()


def score_on_worker(chunk: pd.DataFrame, task: ChunkTask, files: dict[str, bytes]) -> Scored:
    """`task` on a Dask worker, with the model loaded from `files` (once per worker)."""
    import hashlib

    from mlconf.store.artifacts import load_model_files

    key = hashlib.sha256(files[MANIFEST_FILE]).hexdigest()
    with _WORKER_LOCK:
        model = _WORKER_MODELS.get(key)
        if model is None:
            model = load_model_files(files)
            _WORKER_MODELS.clear()  # one model at a time per worker process
            _WORKER_MODELS[key] = model
    return task.run(chunk, model)
