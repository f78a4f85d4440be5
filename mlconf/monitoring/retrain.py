"""Retrain: reference data plus newly labelled feedback -> a challenger -> promote only if better.

1. The champion (`NAME@production` by default) names its run folder; the run's
   `config.yaml` says where the training data came from. The reference rows are read again
   from those sources (mlconf.ml.data.read_data, as the load stage reads them), so the
   sources, joins and dropped columns are the champion's.
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

import math
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.config.monitor_loop import RetrainSettings
from mlconf.core.errors import MlconfError
from mlconf.monitoring.performance import greater_is_better, score_rows
from mlconf.monitoring.retrain_rows import (
    aligned,
    feedback_rows,
    holdout_size,
    mix,
    reference_frame,
)

if TYPE_CHECKING:
    import pandas as pd
    from omegaconf import DictConfig
    from rich.console import Console

    from mlconf.config import TrainConfig
    from mlconf.store.model_registry import ModelRegistry, ModelVersion

DEFAULTS: dict[str, Any] = asdict(RetrainSettings())
ACTION = "retrain"


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

    from mlconf.monitoring.impact import production_fairness

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


@dataclass
class RetrainAudit:
    """What the steps of one retrain share: the champion, the settings, and the details that
    reach the audit table however the loop ends (skipped, failed, kept or promoted)."""

    registry: ModelRegistry
    champion: ModelVersion
    settings: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)

    def decide(self, decision: str, why: str, to_version: int | None = None) -> dict[str, Any]:
        """Write the decision to the audit table; return the details behind it."""
        self.details.update({"decision": decision, "why": why})
        self.registry.record(
            self.champion.name,
            ACTION,
            self.details,
            from_version=self.champion.version,
            to_version=to_version,
            alias=self.settings["alias"] if decision == "promoted" else None,
            actor=self.settings["actor"],
        )
        return dict(self.details)


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
    conf_r = _settings(settings)
    console = console or _quiet_console()
    now = now or datetime.now(UTC)
    audit = _start(model_ref, registry, conf_r, reason)
    feedback = feedback_rows(registry, audit.champion, str(conf_r["window"]), now)
    size = holdout_size(len(feedback), conf_r)
    if size < int(conf_r["min_holdout"]) or len(feedback) - size < 1:
        audit.details["labelled_rows"] = len(feedback)
        return audit.decide(
            "skipped",
            f"{len(feedback)} labelled row(s) in the last {conf_r['window']}: need more than "
            f"{conf_r['min_holdout']} (min_holdout) to hold out and some to train on",
        )
    config_file = audit.champion.run_dir / "config.yaml"
    cfg = _champion_config(config_file)
    if cfg is None:
        return audit.decide(
            "skipped", f"the champion's run config {config_file} is gone or not a mapping"
        )
    conf = _typed_config(cfg, config_file, audit)
    holdout, new_rows = feedback.iloc[len(feedback) - size :], feedback.iloc[: len(feedback) - size]
    combined, dropped = _training_rows(conf, new_rows, audit, console)
    audit.details["holdout_rows"] = len(holdout)
    audit.details["holdout_from"] = str(holdout["__created_at"].min())
    registered = _train_challenger(cfg, combined, dropped, audit, console, now)
    if not registered:
        return audit.decide(
            "kept", "the challenger did not meet the success criteria (not registered)"
        )
    return _judge(conf, holdout, registry.resolve(registered["ref"]), audit)


def _settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The retrain settings over their defaults; an unknown key is a user error."""
    conf_r = {**DEFAULTS, **(settings or {})}
    unknown = sorted(set(conf_r) - set(DEFAULTS))
    if unknown:
        raise MlconfError(
            f"unknown retrain setting(s): {', '.join(unknown)}",
            where="config key monitoring.retrain",
            fix=f"use: {', '.join(DEFAULTS)}",
        )
    return conf_r


def _quiet_console() -> Console:
    """The training run's progress goes nowhere unless the caller gives a console."""
    import io

    from rich.console import Console

    return Console(file=io.StringIO(), width=200)


def _start(
    model_ref: str, registry: ModelRegistry, conf_r: dict[str, Any], reason: str
) -> RetrainAudit:
    """The champion (NAME means NAME@alias) and the details every decision records."""
    plain = "@" not in model_ref and ":" not in model_ref
    champion = registry.resolve(f"{model_ref}@{conf_r['alias']}" if plain else model_ref)
    details: dict[str, Any] = {
        "reason": reason,
        "champion": champion.version,
        "champion_run": str(champion.run_dir),
        "settings": {k: conf_r[k] for k in ("window", "holdout", "feedback_share", "margin")},
    }
    return RetrainAudit(registry, champion, conf_r, details)


def _champion_config(config_file: Path) -> DictConfig | None:
    """The champion run's config.yaml; None when it is gone or not a mapping."""
    from omegaconf import DictConfig, OmegaConf

    cfg = OmegaConf.load(config_file) if config_file.is_file() else None
    return cfg if isinstance(cfg, DictConfig) else None


def _typed_config(cfg: DictConfig, config_file: Path, audit: RetrainAudit) -> TrainConfig:
    """The champion's config checked as a training config; a broken one is a recorded
    failure, and an error for the caller (the run folder must be restored)."""
    from omegaconf.errors import OmegaConfBaseException

    from mlconf.runner import typed

    try:
        return typed(cfg)
    except (MlconfError, OmegaConfBaseException) as exc:
        why = f"the champion's run config {config_file} is not valid: {exc}".splitlines()[0]
        audit.decide("failed", why)
        raise MlconfError(why, fix="restore the run folder of the champion") from exc


def _training_rows(
    conf: TrainConfig, new_rows: pd.DataFrame, audit: RetrainAudit, console: Console
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The reference mixed with the new feedback rows, and the columns the champion's
    privacy policy drops from them."""
    from mlconf.ml.privacy.policy import model_policy
    from mlconf.store.model_registry import open_model

    champion, registry = audit.champion, audit.registry
    # The training rows are read again raw: the champion's privacy policy applies before
    # they are written beside the run (logged feedback inputs are already protected, and
    # hashing is idempotent, so the retraining pipeline sees one form of each value).
    policy = model_policy(open_model(champion.ref, registry.url)[0])
    reference = policy.rows(reference_frame(conf, console))
    combined, counts = mix(
        reference,
        aligned(new_rows, reference, conf),
        audit.settings["feedback_share"],
        int(audit.settings["seed"]),
    )
    audit.details.update(counts)
    return combined, policy.drop


def _train_challenger(
    cfg: DictConfig,
    combined: pd.DataFrame,
    dropped: tuple[str, ...],
    audit: RetrainAudit,
    console: Console,
    now: datetime,
) -> dict[str, Any] | None:
    """Write the rows beside a new run folder and run the champion's pipeline on them;
    the registered challenger's entry, or None when the run did not register one."""
    from mlconf.runner import run
    from mlconf.store.atomic import write_with
    from mlconf.store.tables.parquet_engine import write_frame

    conf_r, champion = audit.settings, audit.champion
    stamp = now.strftime("%Y%m%d-%H%M%S")
    runs_dir = Path(conf_r["runs_dir"]) if conf_r["runs_dir"] else champion.run_dir.parent
    # A second retrain within the same second must not reuse (and overwrite) the folder of
    # the first, whose model is registered: a random suffix, and exist_ok=False to prove it.
    run_dir = runs_dir / f"retrain-{stamp}-{uuid.uuid4().hex[:6]}-{champion.name}"
    data_file = run_dir / "retrain_data.parquet"
    run_dir.mkdir(parents=True, exist_ok=False)
    write_with(data_file, lambda p: write_frame(combined, p, index=False))
    audit.details["run_dir"] = str(run_dir)
    new_cfg = _training_config(
        cfg, data_file, champion, audit.registry, conf_r["challenger_alias"], dropped
    )
    try:
        result = run(new_cfg, run_dir=run_dir, console=console)
    except MlconfError as exc:
        audit.decide("failed", f"the retraining run failed: {exc.what}")
        raise
    registered: dict[str, Any] | None = result.record.counts.get("registered")
    return registered


def _judge(
    conf: TrainConfig, holdout: pd.DataFrame, challenger: ModelVersion, audit: RetrainAudit
) -> dict[str, Any]:
    """Both models on the holdout: promote the challenger only when it is better by more
    than the margin and fair enough; record the decision either way."""
    details, champion, conf_r = audit.details, audit.champion, audit.settings
    details["challenger"] = challenger.version
    details["challenger_parent"] = challenger.parent_version
    metric = str(champion.metrics.get("primary_metric") or conf.problem.primary_metric)
    higher = greater_is_better(metric)
    champ_score, _ = _score(champion.ref, audit.registry, holdout, metric, champion)
    chal_score, chal_pred = _score(challenger.ref, audit.registry, holdout, metric, champion)
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
        return audit.decide(
            "kept",
            f"challenger {metric} {_fmt(a)} vs champion {_fmt(b)}: not better by more than "
            f"the margin {conf_r['margin']}",
            challenger.version,
        )
    if not fair:
        return audit.decide(
            "kept", "challenger is better but fails the fairness limits", challenger.version
        )
    audit.registry.promote(
        champion.name, challenger.version, conf_r["alias"], actor=conf_r["actor"]
    )
    return audit.decide(
        "promoted",
        f"challenger {metric} {_fmt(a)} vs champion {_fmt(b)}: better by {gain:.4g} "
        f"(> margin {conf_r['margin']}); {_fairness_text(fairness)}",
        challenger.version,
    )


def _fairness_text(fairness: dict[str, Any]) -> str:
    if fairness.get("passed"):
        return "passes the fairness limits"
    if not fairness.get("configured"):
        return "no fairness limits configured"
    return f"fairness not judged ({fairness.get('note') or 'groups too small'})"


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"
