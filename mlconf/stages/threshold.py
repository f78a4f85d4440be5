"""The decision threshold of a binary classifier, chosen on validation at the end of train.

The chosen threshold goes into the fitted pipeline itself (mlconf.framing.with_threshold),
so evaluation, the saved model and every later prediction apply it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.errors import MlconfError
from mlconf.framing import NO_THRESHOLD, THRESHOLD_KEY, cost_matrix

if TYPE_CHECKING:
    from mlconf.stages.context import RunContext


def check_binary(ctx: RunContext) -> None:
    """Costs and a threshold need exactly two classes (known once the data is split)."""
    problem = ctx.conf.problem
    if problem.task != "classification":
        return
    n_classes = len(ctx["classes"])
    if n_classes == 2:
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


def choose(ctx: RunContext) -> None:
    """Pick the threshold on the validation part and build it into ctx['pipeline']."""
    from mlconf.framing import choose_threshold, with_threshold
    from mlconf.stages.train import validation_data

    problem = ctx.conf.problem
    check_binary(ctx)
    optimize = problem.threshold.optimize
    if problem.task != "classification" or optimize == NO_THRESHOLD:
        return
    pipeline = ctx["pipeline"]
    if not hasattr(pipeline, "predict_proba"):
        raise MlconfError(
            f"model '{ctx.conf.model.name}' gives no probabilities, so no threshold can be chosen",
            where=THRESHOLD_KEY,
            fix="pick a model with predict_proba (e.g. svm needs model.params.probability=true)"
            ", or set problem.threshold.optimize=none",
        )
    validation = validation_data(ctx)
    if validation is None:
        raise MlconfError(
            "the threshold is chosen on the validation part, but it is empty",
            where=THRESHOLD_KEY,
            fix="set split.validation_size > 0 (e.g. 0.2), or problem.threshold.optimize=none",
        )
    x_val, y_val = validation
    scores = pipeline.predict_proba(x_val)[:, 1]
    choice = choose_threshold(y_val, scores, optimize, cost_matrix(problem))
    if choice.method == "fallback":
        ctx.warn(choice.note)
    ctx["pipeline"] = with_threshold(pipeline, choice.threshold)
    ctx["threshold"] = choice
    ctx.count("decision_threshold", choice.threshold)
    described = "" if choice.value is None else f" ({choice.to_dict()['score_name']} "
    described += "" if choice.value is None else f"{choice.value:.4g} on validation)"
    ctx.console.print(f"  decision threshold {choice.threshold:.4f} by {optimize}{described}")
