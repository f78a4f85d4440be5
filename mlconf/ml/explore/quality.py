"""Data-quality warnings drawn from a finished profile: what to look at before training."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlconf.config import ExploreConfig


def quality_warnings(
    result: dict[str, Any], features: list[str], target: str | None, config: ExploreConfig
) -> list[dict[str, Any]]:
    """Constant, empty, sparse and id-like columns, leakage suspects, imbalance, duplicates."""
    found: list[dict[str, Any]] = []

    def add(column: str | None, kind: str, message: str) -> None:
        found.append({"column": column, "kind": kind, "message": message})

    columns = result["columns"]
    for name in features:
        col = columns[name]
        share = col["missing_share"]
        if share >= 1.0:
            add(name, "all_missing", f"column '{name}' has no values")
            continue
        if col["distinct"] <= 1:
            add(name, "constant", f"column '{name}' has a single value: it cannot help a model")
        if share > config.high_missing_share:
            add(name, "high_missing", f"column '{name}' is {share:.0%} missing")
        present = result["sampled_rows"] * (1.0 - share)
        if (
            col["kind"] in ("categorical", "text")
            and present >= 20
            and col["distinct"] >= config.id_like_share * present
        ):
            add(
                name,
                "id_like",
                f"column '{name}' has a different value in almost every row "
                f"({col['distinct']:,} distinct): an identifier, or free text, not a feature",
            )
    entropy = (result["target"] or {}).get("entropy")
    for a in result["associations"]:
        r, mi = a.get("pearson"), a.get("mutual_info")
        col = columns[a["feature"]]
        present = result["sampled_rows"] * (1.0 - col["missing_share"])
        # a plug-in MI estimate of a feature with nearly one value per row is meaningless
        many_values = col["distinct"] > 0.5 * present
        reason = None
        if r is not None and abs(r) > config.leakage_correlation:
            reason = f"|correlation| with the target is {abs(r):.3f}"
        elif (
            mi is not None
            and entropy
            and not many_values
            and mi / entropy > config.leakage_mi_share
        ):
            reason = f"it carries {mi / entropy:.0%} of the target's information"
        if reason:
            add(
                a["feature"],
                "leakage",
                f"column '{a['feature']}' almost determines the target '{target}' ({reason}): "
                "check it is known before the outcome, or drop it",
            )
    minority = (result["target"] or {}).get("minority_share")
    if minority is not None and minority < 0.05:
        add(
            target,
            "imbalance",
            f"the rarest class of '{target}' is {minority:.1%} of rows: at the default "
            "threshold a model may rarely predict it; weight the classes "
            "(problem.class_weight=balanced), choose the decision threshold on validation "
            "(problem.threshold.optimize=f1, or =cost with problem.costs), and judge it by "
            "recall, pr_auc or balanced_accuracy rather than accuracy",
        )
    dupes = result["duplicates"]
    if dupes["rows"]:
        add(None, "duplicates", f"{dupes['rows']:,} rows repeat an earlier row exactly")
    return found
