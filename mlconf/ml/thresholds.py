"""The decision threshold of a binary classifier, chosen on validation rows.

The chosen threshold goes into the fitted pipeline itself (mlconf.ml.framing.with_threshold),
so evaluation, the saved model and every later prediction apply it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.ml.framing import NO_THRESHOLD, THRESHOLD_KEY, cost_matrix

# Below this many positive validation rows a chosen threshold is mostly noise: the choice is
# made (as asked) and a warning says so.
MIN_POSITIVES = 30

if TYPE_CHECKING:
    from mlconf.config import ProblemConfig, TrainConfig
    from mlconf.ml.framing import ThresholdChoice


def check_binary(problem: ProblemConfig, n_classes: int) -> None:
    """Costs and a threshold need exactly two classes (known once the data is split)."""
    if problem.task != "classification" or n_classes == 2:
        return
    if problem.threshold.optimize != NO_THRESHOLD:
        raise MlconfError(
            f"a decision threshold needs a binary problem, but the target "
            f"'{problem.target}' has {n_classes} classes in training",
            where=THRESHOLD_KEY,
            fix="set problem.threshold.optimize=none for multiclass problems",
        )
    if problem.costs:
        raise MlconfError(
            f"the cost matrix (tp, fp, fn, tn) is for a binary problem, but the target "
            f"'{problem.target}' has {n_classes} classes in training",
            where="problem.costs",
            fix="remove problem.costs (or set it to {}) for multiclass problems",
        )


def choose(
    conf: TrainConfig,
    model_name: str,
    n_classes: int,
    pipeline: Any,
    validation: Callable[[], tuple[Any, Any] | None],
    warn: Callable[[str], None] | None = None,
) -> ThresholdChoice | None:
    """The threshold chosen on the validation rows (`validation()` reads them, only when
    needed), or None where the problem takes none. `warn` hears when the rows hold too few
    positives for the choice to be trusted."""
    import numpy as np

    from mlconf.ml.framing import choose_threshold

    problem = conf.problem
    check_binary(problem, n_classes)
    optimize = problem.threshold.optimize
    if problem.task != "classification" or optimize == NO_THRESHOLD:
        return None
    if not hasattr(pipeline, "predict_proba"):
        raise MlconfError(
            f"model '{model_name}' gives no probabilities, so no threshold can be chosen",
            where=THRESHOLD_KEY,
            fix="pick a model with predict_proba (e.g. svm needs model.params.probability=true)"
            ", or set problem.threshold.optimize=none",
        )
    held_out = validation()
    if held_out is None:
        raise MlconfError(
            "the threshold is chosen on the validation part, but it is empty",
            where=THRESHOLD_KEY,
            fix="set split.validation_size > 0 (e.g. 0.2), or problem.threshold.optimize=none",
        )
    x_val, y_val = held_out
    positives = int((np.asarray(y_val) == 1).sum())
    if warn is not None and 0 < positives < MIN_POSITIVES:
        warn(
            f"the decision threshold is chosen from only {positives} positive validation "
            f"row(s) (fewer than {MIN_POSITIVES}): it may not hold on new data; give the "
            "validation part more rows (split.validation_size) or keep the model's own rule "
            "(problem.threshold.optimize=none)"
        )
    scores = pipeline.predict_proba(x_val)[:, 1]
    return choose_threshold(y_val, scores, optimize, cost_matrix(problem))


def apply(
    conf: TrainConfig,
    model_name: str,
    n_classes: int,
    pipeline: Any,
    validation: Callable[[], tuple[Any, Any] | None],
    warn: Callable[[str], None],
    say: Callable[[str], None],
) -> tuple[Any, ThresholdChoice | None]:
    """The pipeline with the chosen threshold built in, and the choice (None: unchanged)."""
    from mlconf.ml.framing import with_threshold

    choice = choose(conf, model_name, n_classes, pipeline, validation, warn)
    if choice is None:
        return pipeline, None
    if choice.method == "fallback":
        warn(choice.note)
    value = choice.value
    described = "" if value is None else f" ({choice.to_dict()['score_name']} "
    described += "" if value is None else f"{value:.4g} on validation)"
    optimize = conf.problem.threshold.optimize
    say(f"  decision threshold {choice.threshold:.4f} by {optimize}{described}")
    return with_threshold(pipeline, choice.threshold), choice
