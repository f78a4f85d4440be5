"""Select: cross-validate candidate models on the training part, rank them, keep the best.

Runs only when `model_selection.candidates` is set. The dummy baseline is always on the
board, so a candidate that cannot beat it is plain to see. The winner replaces
`model` for the train stage, and the leaderboard is saved as `leaderboard.csv`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mlconf.config import ModelConfig
from mlconf.core.component_registry import get
from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import TrainConfig
    from mlconf.run_state import RunState


def candidate_models(candidates: list[Any]) -> list[ModelConfig]:
    """Names or {name, params} mappings, as model configs; `dummy` is always added."""
    models = []
    for i, item in enumerate(candidates):
        where = f"config key model_selection.candidates[{i}]"
        if isinstance(item, str):
            models.append(ModelConfig(name=item))
            continue
        if not hasattr(item, "keys") or "name" not in item:
            raise MlconfError(
                f"a candidate must be a model name or {{name, params}}, got {item!r}",
                where=where,
            )
        extra = set(item.keys()) - {"name", "params"}
        if extra:
            raise MlconfError(
                f"unknown key(s) {sorted(extra)} in a candidate",
                where=where,
                fix="use name, params",
            )
        models.append(ModelConfig(name=str(item["name"]), params=dict(item.get("params") or {})))
    if not any(m.name == "dummy" for m in models):
        models.append(ModelConfig(name="dummy"))
    return models


def label(model: ModelConfig) -> str:
    if not model.params:
        return model.name
    return f"{model.name}({', '.join(f'{k}={v}' for k, v in sorted(model.params.items()))})"


def select(ctx: RunState) -> None:
    conf = ctx.conf
    selection = conf.model_selection
    if not selection.candidates:
        return
    if selection.folds < 2:
        raise MlconfError(
            f"model selection needs at least 2 folds, got {selection.folds}",
            where="config key model_selection.folds",
        )
    from mlconf.ml.crossval import cross_validate
    from mlconf.ml.pipeline import make_model
    from mlconf.ml.training import seeded_pipeline

    models = candidate_models(list(selection.candidates))
    for model in models:
        make_model(model, conf.problem.task)  # unknown names or params fail before any fit
    training = ctx.training
    rows = []
    for model in models:
        scores = cross_validate(
            conf,
            len(training.classes),
            seeded_pipeline(conf, model, ctx.pipeline_privacy),
            training.x,
            training.y,
            selection.folds,
            say=ctx.console.print,
            label=label(model),
        )
        row: dict[str, Any] = {"candidate": label(model), "model": model.name}
        for metric, summary in scores.items():
            row[f"{metric}_mean"] = summary["mean"]
            row[f"{metric}_std"] = summary["std"]
        rows.append((model, row))
    board = _rank(ctx, [row for _, row in rows])
    best = next(model for model, row in rows if row["candidate"] == board.iloc[0]["candidate"])
    _save(ctx, board)
    ctx.count("selected_model", label(best))
    ctx.leaderboard = board
    ctx.model = best
    primary = conf.problem.primary_metric
    ctx.console.print(
        f"  selected {label(best)}: {primary} {board.iloc[0][f'{primary}_mean']:.4f} "
        f"(mean of {selection.folds} folds; leaderboard.csv)"
    )


def _rank(ctx: RunState, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Best first by the primary metric's mean; a candidate with no score ranks last."""
    import pandas as pd

    primary = ctx.conf.problem.primary_metric
    sign = -1.0 if get("metric", primary).meta.get("greater_is_better", True) else 1.0

    def badness(row: dict[str, Any]) -> float:
        value = row.get(f"{primary}_mean")
        return math.inf if value is None or math.isnan(value) else sign * value

    board = pd.DataFrame(sorted(rows, key=badness))
    board.insert(0, "rank", range(1, len(board) + 1))
    return board


def _save(ctx: RunState, board: pd.DataFrame) -> None:
    from mlconf.store.atomic import write_with

    write_with(ctx.artifact("leaderboard.csv"), lambda tmp: board.to_csv(tmp, index=False))


def check(conf: TrainConfig) -> None:
    """Unknown candidate models or misspelled params fail before any data is read."""
    from mlconf.ml.pipeline import make_model

    for candidate in candidate_models(list(conf.model_selection.candidates)):
        make_model(candidate, conf.problem.task)
