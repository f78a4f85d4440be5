"""Plots of the model on the test part: ROC, precision-recall, calibration, confusion
matrix and the threshold curve (classification), residuals (regression).

Each plot is listed as {path, title, caption}: the path relative to the run folder, and a
caption a reader without a statistics background understands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from mlconf.report.figures import one_at_a_time, pyplot, save_figure

FOLDER = Path("plots") / "evaluation"
# Set by drawn_by: who draws the listed plots, when not save_evaluation_plots itself.
_DRAW_LATER: ContextVar[Callable[..., None] | None] = ContextVar("draw_later", default=None)
# name, title, caption, and the function that draws the plot on an axes
_Plot = tuple[str, str, str, Callable[[Any], None]]
# Rows drawn in scatter plots: more add ink, not information, and slow the report.
MAX_POINTS = 5000


def save_evaluation_plots(
    run_dir: Path,
    *,
    task: str,
    y_true: Any,
    y_pred: Any,
    proba: Any = None,
    classes: Sequence[str] = (),
    threshold: dict[str, Any] | None = None,
) -> list[dict[str, str]]:
    """Write the plots for the task into run_dir/plots/evaluation; list what was written.

    Classification takes class codes (the positive class of a binary problem is code 1)
    and probabilities with one column per class; `threshold` is the chosen decision
    threshold's record (mlconf.ml.framing.ThresholdChoice.to_dict) when one was optimised.
    """
    import numpy as np

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    plots: list[_Plot]
    if task == "regression":
        plots = _regression(y_true.astype(float), y_pred.astype(float))
    else:
        probabilities = None if proba is None else np.asarray(proba, dtype=float)
        plots = _classification(y_true, y_pred, probabilities, list(classes), threshold)
    listed = [
        {"path": (FOLDER / f"{name}.png").as_posix(), "title": title, "caption": caption}
        for name, title, caption, _ in plots
    ]
    later = _DRAW_LATER.get()
    if later is None:
        draw_plots(run_dir, plots)
    else:
        later(draw_plots, run_dir, plots)
    return listed


@one_at_a_time
def draw_plots(run_dir: Path, plots: list[_Plot]) -> None:
    """Draw and write each listed plot (a module-level function: the drawing process runs it)."""
    for name, _, _, draw in plots:
        figure = pyplot().figure(figsize=(6, 4.5))
        draw(figure.add_subplot())
        save_figure(figure, run_dir / FOLDER / f"{name}.png")


@contextmanager
def drawn_by(later: Callable[..., None]) -> Iterator[None]:
    """Within the block, save_evaluation_plots lists its plots and hands the drawing to
    `later(draw_plots, run_dir, plots)` (a run's background drawing process) instead of
    drawing them itself: the caller that lists them (the assessment) needs only the list."""
    token = _DRAW_LATER.set(later)
    try:
        yield
    finally:
        _DRAW_LATER.reset(token)


# --- classification ------------------------------------------------------------------------------


def _classification(
    y_true: Any,
    y_pred: Any,
    proba: Any,
    classes: list[str],
    threshold: dict[str, Any] | None,
) -> list[_Plot]:
    from functools import partial

    binary = len(classes) == 2
    at = "" if threshold is None else f" at the chosen threshold {threshold['value']:.3f}"
    plots: list[_Plot] = [
        (
            "confusion_matrix",
            "Confusion matrix",
            "How many test rows of each true class (rows) were predicted as each class "
            f"(columns){at}; the diagonal holds the correct predictions.",
            partial(_confusion, _confusion_matrix(y_true, y_pred, len(classes)), classes),
        )
    ]
    usable = proba is not None and len({*y_true.tolist()}) > 1
    if not usable:
        return plots
    positive = classes[-1]
    plots.append(
        (
            "roc",
            "ROC curve" if binary else "ROC curves, one class against the rest",
            "How many true cases the model catches (up) against how many false alarms it "
            "raises (right) as the decision threshold moves; a curve hugging the top-left "
            "corner is better, the diagonal is guessing.",
            partial(_roc, _roc_curves(y_true, proba, classes, threshold), classes),
        )
    )
    if binary:
        share = float((y_true == 1).mean())
        plots += [
            (
                "precision_recall",
                "Precision-recall curve",
                f"Of the rows flagged as '{positive}', the share that truly are (precision), "
                f"against the share of all true '{positive}' rows that get flagged (recall); "
                f"the dashed line ({share:.0%}) is what flagging at random achieves.",
                partial(_precision_recall, _pr_curve(y_true, proba[:, 1], threshold), share),
            ),
            (
                "calibration",
                "Calibration (reliability)",
                f"Whether predicted probabilities can be taken at face value: of the rows "
                f"given about 70% chance of '{positive}', about 70% should be; points on "
                "the diagonal mean well calibrated.",
                partial(_calibration, _calibration_points(y_true, proba[:, 1]), positive),
            ),
        ]
    if threshold is not None and threshold.get("curve"):
        better = "higher" if threshold["greater_is_better"] else "lower"
        plots.append(
            (
                "threshold",
                f"Decision threshold against {threshold['score_name']} (validation)",
                f"The {threshold['score_name']} on the validation rows for each possible "
                f"decision threshold ({better} is better); the line marks the threshold the "
                "model now uses. Test rows played no part in this choice.",
                partial(_threshold_curve, threshold),
            )
        )
    return plots


def _confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> Any:
    """Rows: true class code, columns: predicted code (sklearn's confusion_matrix, without
    importing scikit-learn into the drawing process)."""
    import numpy as np

    true, pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    known = (true >= 0) & (true < n_classes) & (pred >= 0) & (pred < n_classes)
    cells = np.bincount(true[known] * n_classes + pred[known], minlength=n_classes**2)
    return cells.reshape(n_classes, n_classes)


def _confusion(matrix: Any, classes: list[str], ax: Any) -> None:
    image = ax.imshow(matrix, cmap="Blues")
    ax.figure.colorbar(image, ax=ax, label="rows")
    ticks = range(len(classes))
    ax.set_xticks(ticks, [_short(c) for c in classes], rotation=30, ha="right")
    ax.set_yticks(ticks, [_short(c) for c in classes])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    dark = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in _cells(matrix):
        color = "white" if count > dark else "black"
        ax.text(j, i, f"{count:,}", ha="center", va="center", color=color)


def _cells(matrix: Any) -> list[tuple[tuple[int, int], int]]:
    rows, cols = matrix.shape
    return [((i, j), int(matrix[i, j])) for i in range(rows) for j in range(cols)]


def _short(label: str, width: int = 18) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


# The curves are computed where the plots are listed (the run's process, which has
# scikit-learn loaded): the drawing process then draws them without importing it (2-3 s).


def _roc_curves(
    y_true: Any, proba: Any, classes: list[str], threshold: dict[str, Any] | None
) -> list[tuple[int, Any, Any, float, tuple[float, float, float] | None]]:
    """Per scored class: its code, false and true positive rates, AUC, the threshold's point."""
    from sklearn.metrics import roc_auc_score, roc_curve

    curves = []
    scored = [1] if len(classes) == 2 else range(len(classes))
    for k in scored:
        truth = y_true == k
        if truth.all() or not truth.any():
            continue
        fpr, tpr, _ = roc_curve(truth, proba[:, k])
        auc = float(roc_auc_score(truth, proba[:, k]))
        point = None
        if threshold is not None:
            chosen = proba[:, k] >= threshold["value"]
            point = (
                (chosen & ~truth).sum() / (~truth).sum(),
                (chosen & truth).sum() / truth.sum(),
                threshold["value"],
            )
        curves.append((k, fpr, tpr, auc, point))
    return curves


def _roc(curves: list[tuple[int, Any, Any, float, Any]], classes: list[str], ax: Any) -> None:
    for k, fpr, tpr, auc, point in curves:
        ax.plot(fpr, tpr, label=f"{_short(classes[k])} (AUC {auc:.3f})")
        if point is not None:
            fpr_at, tpr_at, value = point
            ax.plot(fpr_at, tpr_at, "o", color="black", label=f"threshold {value:.3f}")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="guessing")
    ax.set_xlabel("false positive rate (false alarms)")
    ax.set_ylabel("true positive rate (caught)")
    ax.legend(loc="lower right", fontsize="small")


def _pr_curve(y_true: Any, score: Any, threshold: dict[str, Any] | None) -> dict[str, Any]:
    """Precision and recall at every threshold, the average precision, the threshold's point."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    precision, recall, _ = precision_recall_curve(y_true == 1, score)
    curve: dict[str, Any] = {
        "precision": precision,
        "recall": recall,
        "ap": float(average_precision_score(y_true == 1, score)),
        "point": None,
    }
    if threshold is not None:
        flagged = score >= threshold["value"]
        hits = (flagged & (y_true == 1)).sum()
        curve["point"] = (
            hits / max(1, (y_true == 1).sum()),
            hits / max(1, flagged.sum()),
            threshold["value"],
        )
    return curve


def _precision_recall(curve: dict[str, Any], share: float, ax: Any) -> None:
    ax.plot(
        curve["recall"], curve["precision"], label=f"model (average precision {curve['ap']:.3f})"
    )
    ax.axhline(share, linestyle="--", color="grey", label="random")
    if curve["point"] is not None:
        recall, precision, value = curve["point"]
        ax.plot(recall, precision, "o", color="black", label=f"threshold {value:.3f}")
    ax.set_xlabel("recall (share of true cases caught)")
    ax.set_ylabel("precision (share of flags that are right)")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize="small")


def _calibration_points(y_true: Any, score: Any) -> tuple[Any, Any]:
    """Observed share against mean predicted probability, in quantile bins."""
    from sklearn.calibration import calibration_curve

    bins = max(2, min(10, len(score) // 20))
    observed, predicted = calibration_curve(y_true == 1, score, n_bins=bins, strategy="quantile")
    return observed, predicted


def _calibration(points: tuple[Any, Any], positive: str, ax: Any) -> None:
    observed, predicted = points
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    ax.plot(predicted, observed, "o-", label="model")
    ax.set_xlabel(f"predicted probability of '{_short(positive)}'")
    ax.set_ylabel(f"observed share of '{_short(positive)}'")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize="small")


def _threshold_curve(threshold: dict[str, Any], ax: Any) -> None:
    points = [(p["threshold"], p["score"]) for p in threshold["curve"] if p["score"] is not None]
    ax.plot([t for t, _ in points], [s for _, s in points])
    ax.axvline(threshold["value"], color="black", linestyle="--")
    ax.annotate(
        f" chosen {threshold['value']:.3f}", (threshold["value"], ax.get_ylim()[1]), va="top"
    )
    ax.set_xlabel("decision threshold on the predicted probability")
    ax.set_ylabel(f"{threshold['score_name']} on validation")
    ax.set_xlim(0, 1)


# --- regression -------------------------------------------------------------------------------


def _regression(y_true: Any, y_pred: Any) -> list[_Plot]:
    from functools import partial

    import numpy as np

    shown = np.arange(len(y_true))
    if len(shown) > MAX_POINTS:
        shown = np.random.default_rng(0).choice(shown, MAX_POINTS, replace=False)
    sample = "" if len(shown) == len(y_true) else f" ({MAX_POINTS:,} random test rows shown)"
    plots: list[_Plot] = [
        (
            "predicted_vs_actual",
            "Predicted against actual",
            "Each dot is a test row: its true value (right) against the model's prediction "
            f"(up); dots on the diagonal are predicted exactly{sample}.",
            partial(_predicted_vs_actual, y_true[shown], y_pred[shown]),
        ),
        (
            "residuals",
            "Errors against predictions",
            "The error of each test row (true minus predicted) against its prediction; "
            "errors scattered evenly around zero, with no pattern, mean the model is not "
            f"systematically off for some range of values{sample}.",
            partial(_residuals, y_true[shown], y_pred[shown]),
        ),
        (
            "residual_histogram",
            "How large the errors are",
            "How many test rows have each size of error (true minus predicted); a narrow "
            "peak centred on zero is best.",
            partial(_residual_histogram, y_true - y_pred),
        ),
    ]
    return plots


def _predicted_vs_actual(y_true: Any, y_pred: Any, ax: Any) -> None:
    low = float(min(y_true.min(), y_pred.min()))
    high = float(max(y_true.max(), y_pred.max()))
    ax.scatter(y_true, y_pred, s=10, alpha=0.5)
    ax.plot([low, high], [low, high], "--", color="grey", label="exact")
    ax.set_xlabel("actual value")
    ax.set_ylabel("predicted value")
    ax.legend(loc="upper left", fontsize="small")


def _residuals(y_true: Any, y_pred: Any, ax: Any) -> None:
    ax.scatter(y_pred, y_true - y_pred, s=10, alpha=0.5)
    ax.axhline(0, linestyle="--", color="grey")
    ax.set_xlabel("predicted value")
    ax.set_ylabel("error (actual - predicted)")


def _residual_histogram(residuals: Any, ax: Any) -> None:
    ax.hist(residuals, bins=min(50, max(5, len(residuals) // 10)))
    ax.axvline(0, linestyle="--", color="grey")
    ax.set_xlabel("error (actual - predicted)")
    ax.set_ylabel("test rows")
