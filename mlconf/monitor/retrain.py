"""Retrain: reference data plus newly labelled feedback -> a challenger -> promote only if better.

1. The champion (`NAME@production` by default) names its run folder; the run's
   `config.yaml` says where the training data came from. The reference rows are read again
   through the `load` stage, so the sources, joins and dropped columns are the champion's.
2. Labelled feedback of the last `window` (logged inputs + outcomes) is split by time: the
   most recent `holdout` rows are the common test set of champion and challenger, the rest
   is added to the training data (`feedback_share` mixes: the reference is sampled down so
   that feedback is that share of the training rows; null keeps every row of both).
3. The normal pipeline runs on the champion's config with the combined data
   (`mlconf.run`), registering the challenger with the alias `challenger`; its parent
   version is the champion.
4. Both score the holdout with the primary metric; the challenger is promoted only when it
   is better by more than `margin` and passes the fairness limits of the config on the
   holdout. Every decision, promoted or not, is written to the registry's audit table
   (action `retrain`) with the numbers behind it.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.errors import MlconfError
from mlconf.monitor.loop_settings import RetrainSettings
from mlconf.monitor.performance import greater_is_better, labelled, score_rows, seconds

if TYPE_CHECKING:
    import pandas as pd
    from omegaconf import DictConfig
    from rich.console import Console

    from mlconf.config import TrainConfig
    from mlconf.store.model_registry import ModelRegistry, ModelVersion

DEFAULTS: dict[str, Any] = asdict(RetrainSettings())
ACTION = "retrain"


def reference_frame(conf: TrainConfig, console: Console) -> pd.DataFrame:
    """The champion's training rows, read again through the `load` stage."""
    from mlconf.run_state import RunState
    from mlconf.stages.load import load
    from mlconf.store.runs import RunRecord

    with tempfile.TemporaryDirectory(prefix="mlconf-reference-") as folder:
        record = RunRecord(run_dir=Path(folder), experiment=conf.experiment_name, seed=conf.seed)
        ctx = RunState(conf=conf, run_dir=Path(folder), record=record, console=console)
        load(ctx)
        frame: pd.DataFrame = ctx.frame
    return frame


def feedback_rows(
    registry: ModelRegistry, champion: ModelVersion, window: str, now: datetime
) -> pd.DataFrame:
    """Labelled predictions of the model (any version) newer than `window`, oldest first;
    the inputs as columns, the outcome under the target's name."""
    import pandas as pd

    schema = champion.schema
    since = now - timedelta(seconds=seconds(window, "monitoring.retrain.window"))
    found = labelled(
        registry.engine,
        champion.name,
        task=str(schema.get("task")),
        classes=list(schema.get("classes") or []),
        since=since,
    ).frame.sort_values("created_at", kind="stable")
    inputs = pd.DataFrame(found["inputs"].tolist(), index=found.index)
    inputs[str(schema.get("target"))] = found["outcome"].to_numpy()
    inputs["__prediction_id"] = found["prediction_id"].to_numpy()
    inputs["__created_at"] = found["created_at"].to_numpy()
    return inputs.reset_index(drop=True)


def _holdout_size(n: int, conf: dict[str, Any]) -> int:
    share = float(conf["holdout"])
    size = round(n * share) if share < 1 else int(share)
    return min(n - 1, max(size, int(conf["min_holdout"]))) if n > 1 else 0


def mix(
    reference: pd.DataFrame, feedback: pd.DataFrame, share: float | None, seed: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Reference (sampled down so feedback is `share` of the rows) plus feedback."""
    import pandas as pd

    keep = len(reference)
    if share is not None and len(feedback):
        if not 0 < float(share) < 1:
            raise MlconfError(
                f"feedback_share must be between 0 and 1 (exclusive), got {share}",
                where="config key monitoring.retrain.feedback_share",
                fix="use e.g. 0.3, or null to keep every reference and feedback row",
            )
        keep = min(keep, round(len(feedback) * (1 - float(share)) / float(share)))
    sample = reference.sample(n=keep, random_state=seed) if keep < len(reference) else reference
    combined = pd.concat([sample, feedback[list(reference.columns)]], ignore_index=True)
    return combined, {"reference_rows": len(sample), "feedback_rows": len(feedback)}


def _align(feedback: pd.DataFrame, reference: pd.DataFrame, conf: TrainConfig) -> pd.DataFrame:
    """Feedback with the reference's columns and dtypes; id columns made up when not logged."""
    import pandas as pd

    out = feedback.copy()
    for column in conf.data.id_columns:
        if column not in out.columns:
            out[column] = "feedback-" + out["__prediction_id"].astype(str)
    missing = [c for c in reference.columns if c not in out.columns]
    for column in missing:  # a column the model does not use (dropped later in the run)
        out[column] = pd.NA
    for column in reference.columns:
        # left as logged when it does not convert; the training run's validation reports it
        with contextlib.suppress(TypeError, ValueError):
            out[column] = out[column].astype(reference[column].dtype)
    return out


def _training_config(
    cfg: DictConfig,
    data_file: Path,
    champion: ModelVersion,
    registry: ModelRegistry,
    alias: str,
    dropped: tuple[str, ...] = (),
) -> DictConfig:
    """The champion's config, reading the retraining rows; columns the privacy policy
    dropped from them are no longer named by the schema or the privacy settings."""
    from omegaconf import DictConfig, OmegaConf

    new = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    if not isinstance(new, DictConfig):
        raise RuntimeError("internal error: expected isinstance(new, DictConfig)")
    new.data.sources = {"main": {"kind": "parquet", "path": str(data_file)}}
    new.data.drop_columns = []
    new.deploy.registry_url = registry.url
    new.deploy.model_name = champion.name
    new.deploy.register.enabled = True
    new.deploy.register.alias = alias
    for section in (new.get("schema", {}).get("columns"), new.get("privacy", {}).get("columns")):
        for column in dropped:
            if isinstance(section, DictConfig) and column in section:
                del section[column]
    return new


def _score(
    model_ref: str,
    registry: ModelRegistry,
    holdout: pd.DataFrame,
    metric: str,
    champion: ModelVersion,
) -> tuple[dict[str, Any], Any]:
    """The model's score of `metric` on the holdout, and its predictions."""
    import pandas as pd

    from mlconf.store.model_registry import open_model

    model, _ = open_model(model_ref, registry.url)
    predicted = model.predict(holdout)
    proba = model.predict_proba(holdout)
    target = str(champion.schema.get("target"))
    classes = list(model.classes)
    rows = pd.DataFrame(
        {
            "outcome": holdout[target].tolist(),
            "prediction": list(predicted),
            "proba": [dict(zip(map(str, classes), map(float, p), strict=True)) for p in proba]
            if proba is not None
            else [None] * len(holdout),
        }
    )
    found = score_rows(
        rows,
        metric,
        task=model.task,
        classes=classes,
        positive_class=champion.schema.get("positive_class"),
        bootstrap=200,
    )
    return found, predicted


def _fairness(
    conf: TrainConfig, holdout: pd.DataFrame, predicted: Any, champion: ModelVersion
) -> dict[str, Any]:
    import pandas as pd

    from mlconf.monitor.impact import production_fairness

    schema = champion.schema
    target = str(schema.get("target"))
    inputs = holdout.drop(columns=[c for c in holdout.columns if c.startswith("__")])
    rows = pd.DataFrame(
        {
            "inputs": inputs.drop(columns=[target]).to_dict("records"),
            "prediction": list(predicted),
            "outcome": holdout[target].tolist(),
        }
    )
    return production_fairness(
        rows,
        conf.fairness,
        task=str(schema.get("task")),
        classes=list(schema.get("classes") or []),
        positive_class=schema.get("positive_class"),
    )


def retrain(
    model_ref: str,
    *,
    registry: ModelRegistry,
    settings: dict[str, Any] | None = None,
    reason: str = "requested",
    console: Console | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run the retrain loop once; return the decision (also written to the audit table)."""
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from mlconf.runner import run, typed
    from mlconf.store.atomic import write_with

    conf_r = {**DEFAULTS, **(settings or {})}
    unknown = sorted(set(conf_r) - set(DEFAULTS))
    if unknown:
        raise MlconfError(
            f"unknown retrain setting(s): {', '.join(unknown)}",
            where="config key monitoring.retrain",
            fix=f"use: {', '.join(DEFAULTS)}",
        )
    if console is None:
        import io

        from rich.console import Console

        console = Console(file=io.StringIO(), width=200)
    now = now or datetime.now(UTC)
    plain = "@" not in model_ref and ":" not in model_ref
    champion = registry.resolve(f"{model_ref}@{conf_r['alias']}" if plain else model_ref)
    details: dict[str, Any] = {
        "reason": reason,
        "champion": champion.version,
        "champion_run": str(champion.run_dir),
        "settings": {k: conf_r[k] for k in ("window", "holdout", "feedback_share", "margin")},
    }

    def decide(decision: str, why: str, to_version: int | None = None) -> dict[str, Any]:
        details.update({"decision": decision, "why": why})
        registry.record(
            champion.name,
            ACTION,
            details,
            from_version=champion.version,
            to_version=to_version,
            alias=conf_r["alias"] if decision == "promoted" else None,
            actor=conf_r["actor"],
        )
        return dict(details)

    feedback = feedback_rows(registry, champion, str(conf_r["window"]), now)
    size = _holdout_size(len(feedback), conf_r)
    if size < int(conf_r["min_holdout"]) or len(feedback) - size < 1:
        details["labelled_rows"] = len(feedback)
        return decide(
            "skipped",
            f"{len(feedback)} labelled row(s) in the last {conf_r['window']}: need more than "
            f"{conf_r['min_holdout']} (min_holdout) to hold out and some to train on",
        )
    config_file = champion.run_dir / "config.yaml"
    cfg = OmegaConf.load(config_file) if config_file.is_file() else None
    if not isinstance(cfg, DictConfig):
        return decide(
            "skipped", f"the champion's run config {config_file} is gone or not a mapping"
        )
    try:
        conf = typed(cfg)
    except (MlconfError, OmegaConfBaseException) as exc:
        why = f"the champion's run config {config_file} is not valid: {exc}".splitlines()[0]
        decide("failed", why)
        raise MlconfError(why, fix="restore the run folder of the champion") from exc
    holdout, new_rows = feedback.iloc[len(feedback) - size :], feedback.iloc[: len(feedback) - size]
    from mlconf.privacy.policy import model_policy
    from mlconf.store.model_registry import open_model

    # The training rows are read again raw: the champion's privacy policy applies before
    # they are written beside the run (logged feedback inputs are already protected, and
    # hashing is idempotent, so the retraining pipeline sees one form of each value).
    policy = model_policy(open_model(champion.ref, registry.url)[0])
    reference = policy.rows(reference_frame(conf, console))
    combined, counts = mix(
        reference, _align(new_rows, reference, conf), conf_r["feedback_share"], int(conf_r["seed"])
    )
    details.update(counts)
    details["holdout_rows"] = len(holdout)
    details["holdout_from"] = str(holdout["__created_at"].min())
    stamp = now.strftime("%Y%m%d-%H%M%S")
    runs_dir = Path(conf_r["runs_dir"]) if conf_r["runs_dir"] else champion.run_dir.parent
    # A second retrain within the same second must not reuse (and overwrite) the folder of
    # the first, whose model is registered: a random suffix, and exist_ok=False to prove it.
    run_dir = runs_dir / f"retrain-{stamp}-{uuid.uuid4().hex[:6]}-{champion.name}"
    data_file = run_dir / "retrain_data.parquet"
    run_dir.mkdir(parents=True, exist_ok=False)
    write_with(data_file, lambda p: combined.to_parquet(p, index=False))
    details["run_dir"] = str(run_dir)
    try:
        result = run(
            _training_config(
                cfg, data_file, champion, registry, conf_r["challenger_alias"], policy.drop
            ),
            run_dir=run_dir,
            console=console,
        )
    except MlconfError as exc:
        decide("failed", f"the retraining run failed: {exc.what}")
        raise
    registered = result.record.counts.get("registered")
    if not registered:
        return decide("kept", "the challenger did not meet the success criteria (not registered)")
    challenger = registry.resolve(registered["ref"])
    details["challenger"] = challenger.version
    details["challenger_parent"] = challenger.parent_version
    metric = str(champion.metrics.get("primary_metric") or conf.problem.primary_metric)
    higher = greater_is_better(metric)
    champ_score, _ = _score(champion.ref, registry, holdout, metric, champion)
    chal_score, chal_pred = _score(challenger.ref, registry, holdout, metric, champion)
    details.update(
        {"metric": metric, "greater_is_better": higher, "champion_score": champ_score}
        | {"challenger_score": chal_score}
    )
    a, b = chal_score["value"], champ_score["value"]
    gain = (a - b if higher else b - a) if a is not None and b is not None else math.nan
    details["improvement"] = None if math.isnan(gain) else gain
    fairness = _fairness(conf, holdout, chal_pred, champion)
    details["fairness"] = {k: fairness.get(k) for k in ("configured", "passed", "note", "checks")}
    better = not math.isnan(gain) and gain > float(conf_r["margin"])
    fair = fairness.get("passed") is not False or not conf_r["require_fairness"]
    if not better:
        return decide(
            "kept",
            f"challenger {metric} {_fmt(a)} vs champion {_fmt(b)}: not better by more than "
            f"the margin {conf_r['margin']}",
            challenger.version,
        )
    if not fair:
        return decide(
            "kept", "challenger is better but fails the fairness limits", challenger.version
        )
    registry.promote(champion.name, challenger.version, conf_r["alias"], actor=conf_r["actor"])
    if fairness.get("passed"):
        fair_text = "passes the fairness limits"
    elif not fairness.get("configured"):
        fair_text = "no fairness limits configured"
    else:
        fair_text = f"fairness not judged ({fairness.get('note') or 'groups too small'})"
    return decide(
        "promoted",
        f"challenger {metric} {_fmt(a)} vs champion {_fmt(b)}: better by {gain:.4g} "
        f"(> margin {conf_r['margin']}); {fair_text}",
        challenger.version,
    )


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"
