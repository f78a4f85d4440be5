"""Everything `mlconf predict` settles before it scores a row: the model and its version,
the opened input, the columns kept and written, each checked with a message that names
the setting to change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.deploy.batch_columns import added_columns, output_columns, proba_columns
from mlconf.deploy.batch_input import BatchInput, open_input
from mlconf.deploy.chunk_task import ChunkTask
from mlconf.deploy.quarantine import scoring_schema
from mlconf.deploy.scoring_model import id_columns, open_scoring_model, text_columns
from mlconf.store.artifacts import TrainedModel

if TYPE_CHECKING:
    from mlconf.ml.privacy.policy import PrivacyPolicy


@dataclass
class BatchPlan:
    model: TrainedModel
    version: str  # written beside every prediction
    folder: Path | None  # the model's files, sent to a cluster's workers
    source: BatchInput
    task: ChunkTask
    columns: list[str]  # the output's, in order
    ids_not_in_input: list[str]


def plan_batch(
    model_ref: str,
    registry_url: str,
    input: str,
    chunk_rows: int,
    *,
    url: str | None,
    keep: Sequence[str],
) -> BatchPlan:
    """The model opened, the input opened, and every column it needs found."""
    from mlconf.ml.privacy.policy import model_policy

    model, version, folder = open_scoring_model(model_ref, registry_url)
    source = open_input(input, chunk_rows, url=url, text=[*text_columns(model), *keep])
    _check_columns(model, source, keep)
    privacy = model_policy(model)
    _check_kept(privacy, keep)
    ids = id_columns(model, folder)
    kept = list(dict.fromkeys([*(c for c in ids if c in source.columns), *keep]))
    proba_names = proba_columns(model.classes)
    clash = [c for c in kept if c in added_columns(proba_names)]
    if clash:
        raise MlconfError(
            f"kept column(s) {', '.join(clash)} have the name of a column the output adds",
            where="keep=",
            fix="rename the column in the input",
        )
    # what a row of the quarantine file holds: the input's columns the policy does not drop
    written = [c for c in source.columns if c not in privacy.drop]
    task = ChunkTask(scoring_schema(model), kept, proba_names, written, privacy)
    return BatchPlan(
        model,
        version,
        folder,
        source,
        task,
        output_columns(kept, proba_names, model.task),
        [c for c in ids if c not in source.columns],
    )


def _check_kept(privacy: PrivacyPolicy, keep: Sequence[str]) -> None:
    """A kept column the model's privacy policy drops cannot be written: say so up front."""
    dropped = [c for c in keep if c in privacy.drop]
    if dropped:
        raise MlconfError(
            f"the model's privacy policy drops column(s) {', '.join(map(repr, dropped))}, "
            "so no output may hold their values",
            where="keep=",
            fix="leave the column out of keep= (the output's row column joins it back to the "
            "input)",
        )


def _check_columns(model: TrainedModel, source: BatchInput, keep: Sequence[str]) -> None:
    """Every training column and every kept column must be in the input: name the first
    missing one and the input column it most likely is."""
    for kind, wanted in (("the model was trained on", model.input_columns), ("keep=", keep)):
        missing = [c for c in wanted if c not in source.columns]
        if not missing:
            continue
        hints = "".join(
            f" Input column '{c}' is missing.{did_you_mean(c, source.columns)}" for c in missing[:5]
        )
        raise MlconfError(
            f"{source.name} lacks {len(missing)} column(s) {kind}: "
            f"{', '.join(missing[:20])}.{hints}",
            where="input=" if kind != "keep=" else "keep=",
            fix="rename or add the column(s) in the input; extra columns are ignored",
        )
