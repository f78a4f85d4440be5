"""Privacy: scan every column for PII, apply the policy, record it in data/privacy.json.

Policies: fail (stop the run, naming the column), drop (remove the column), hash (a
salted sha256 of each value; the salt comes from an environment variable), ignore.
The frame later stages see is already protected, so the profile, quarantine file and
report never show raw PII; the same drop/hash is the first step of the fitted pipeline
(`PiiGuard`), so serving protects raw input identically. The target is never dropped or
hashed: a policy naming it is an error; a finding in it is kept, with a warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.store.atomic import write_json

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import PrivacyConfig
    from mlconf.ml.privacy.policy import PrivacyPolicy
    from mlconf.run_state import RunState

POLICIES = ("fail", "drop", "hash", "ignore")
SEVERITY = {"ignore": 0, "hash": 1, "drop": 2, "fail": 3}
EXAMPLES = 3


def privacy(ctx: RunState) -> None:
    conf = ctx.conf.privacy
    frame: pd.DataFrame = ctx.frame
    target = ctx.conf.problem.target
    check_config(conf, frame, target)
    findings = scan(frame, conf, ctx.conf.seed) if conf.scan else []
    actions = decide(findings, conf, target)
    for column in actions:
        if column in ctx.conf.data.id_columns and actions[column] == "drop":
            raise MlconfError(
                f"id column '{column}' holds PII and its policy is drop, but ids are kept in "
                "outputs",
                where=_key(conf, column, _kind_of(findings, column)),
                fix=f"hash it instead (privacy.columns.{column}=hash), or remove it from "
                "data.id_columns",
            )
    drop = [c for c, a in actions.items() if a == "drop"]
    hashed = [c for c, a in actions.items() if a == "hash"]
    record = {
        "scan": conf.scan,
        "sample_rows": conf.sample_rows,
        "min_share": conf.min_share,
        "policy": dict(conf.policy),
        "columns": dict(conf.columns),
        "salt_env": conf.salt_env,
        "columns_scanned": len(frame.columns) if conf.scan else 0,
        "findings": findings,
        "actions": {"drop": drop, "hash": hashed},
    }
    write_json(ctx.artifact("data", "privacy.json"), record)
    policy = _policy(actions, conf.salt_env)
    # rows quarantined before this stage must not keep raw PII either, also when it stops
    ctx.protect_quarantine(policy)
    _fail(findings, conf)
    for finding in findings:
        if finding["action"] == "kept (target)":
            ctx.warn(
                f"privacy: the target '{target}' looks like {finding['kind']} "
                f"({finding['share']:.0%} of values); the target is never dropped or hashed"
            )
    ctx.count("pii_findings", len([f for f in findings if f["kind"] != "configured"]))
    if policy:
        ctx.frame = policy.rows(frame)
        ctx.privacy = policy
        ctx.pipeline_privacy = policy.as_dict()
        ctx.console.print(
            f"  PII: dropped {', '.join(drop) or 'none'}; hashed {', '.join(hashed) or 'none'}"
        )


def planned_policy(ctx: RunState, frame: pd.DataFrame) -> PrivacyPolicy:
    """The policy stage privacy will apply to `frame`, for what is written before it runs
    (rows set aside, error messages); a column whose policy is fail is withheld as dropped.
    Nothing is planned when the run has no privacy stage."""
    from mlconf.ml.privacy.policy import PrivacyPolicy

    conf = ctx.conf.privacy
    if "privacy" not in ctx.conf.stages:
        return PrivacyPolicy()
    check_config(conf, frame, ctx.conf.problem.target)
    findings = scan(frame, conf, ctx.conf.seed) if conf.scan else []
    return _policy(decide(findings, conf, ctx.conf.problem.target), conf.salt_env)


def _policy(actions: dict[str, str], salt_env: str) -> PrivacyPolicy:
    """Columns to drop (drop, and fail: withheld from anything written) and to hash."""
    from mlconf.ml.privacy.policy import PrivacyPolicy

    return PrivacyPolicy(
        drop=tuple(c for c, a in actions.items() if a in ("drop", "fail")),
        hash=tuple(c for c, a in actions.items() if a == "hash"),
        salt_env=salt_env,
    )


def check_config(conf: PrivacyConfig, frame: pd.DataFrame, target: str) -> None:
    """Known kinds and policies, existing columns, and no drop or hash of the target."""
    from mlconf.ml.privacy import KINDS

    for kind, policy in conf.policy.items():
        if kind not in KINDS:
            raise MlconfError(
                f"unknown kind of PII '{kind}'.{did_you_mean(kind, KINDS)}",
                where=f"config key privacy.policy.{kind}",
                fix=f"use kinds from: {', '.join(KINDS)}",
            )
        _check_policy(policy, f"privacy.policy.{kind}")
    names = [str(c) for c in frame.columns]
    for column, policy in conf.columns.items():
        key = f"privacy.columns.{column}"
        _check_policy(policy, key)
        if column not in names:
            raise MlconfError(
                f"column '{column}' is not in the data.{did_you_mean(column, names)}",
                where=f"config key {key}",
            )
        if column == target and policy in ("drop", "hash"):
            raise MlconfError(
                f"the target '{target}' cannot be {policy}ed: the model must learn its values",
                where=f"config key {key}",
                fix="remove it from privacy.columns (or use ignore)",
            )
    if conf.scan and conf.sample_rows < 1:
        raise MlconfError(
            f"sample_rows must be at least 1, not {conf.sample_rows}",
            where="config key privacy.sample_rows",
        )
    if conf.scan and not 0.0 < conf.min_share <= 1.0:
        raise MlconfError(
            f"min_share must be in (0, 1], not {conf.min_share}",
            where="config key privacy.min_share",
        )


def _check_policy(policy: str, key: str) -> None:
    if policy not in POLICIES:
        raise MlconfError(
            f"unknown policy '{policy}'.{did_you_mean(policy, POLICIES)}",
            where=f"config key {key}",
            fix=f"use one of: {', '.join(POLICIES)}",
        )


def scan(frame: pd.DataFrame, conf: PrivacyConfig, seed: int) -> list[dict[str, Any]]:
    """Findings: every (string-like column, kind) with a share of matches >= min_share."""
    from mlconf.ml.privacy.detect import is_text, mask, scan_column

    sample = frame
    if len(frame) > conf.sample_rows:
        sample = frame.sample(n=conf.sample_rows, random_state=seed)
    findings = []
    for i, column in enumerate(frame.columns):
        series = sample.iloc[:, i]
        if not is_text(series):
            continue
        for kind, (share, matches) in scan_column(column, series).items():
            if share < conf.min_share:
                continue
            examples = list(dict.fromkeys(str(m) for m in matches[: 20 * EXAMPLES]))
            findings.append(
                {
                    "column": str(column),
                    "kind": kind,
                    "share": round(share, 4),
                    "examples_masked": [mask(e, kind) for e in examples[:EXAMPLES]],
                }
            )
    return findings


def decide(findings: list[dict[str, Any]], conf: PrivacyConfig, target: str) -> dict[str, str]:
    """Each finding's policy and action; the action per column (the strictest of its findings).

    A policy set for the column (privacy.columns) wins over the kind's; a column named
    there without any finding is still acted on, recorded as kind `configured`.
    """
    actions: dict[str, str] = {}
    for finding in findings:
        column = finding["column"]
        policy = conf.columns.get(column, conf.policy.get(finding["kind"], "fail"))
        finding["policy"] = policy
        finding["action"] = "kept (target)" if column == target else policy
        if column != target and SEVERITY[policy] >= SEVERITY[actions.get(column, "ignore")]:
            actions[column] = policy
    seen = {f["column"] for f in findings}
    for column, policy in conf.columns.items():
        if column not in seen:
            findings.append(
                {
                    "column": column,
                    "kind": "configured",
                    "share": None,
                    "examples_masked": [],
                    "policy": policy,
                    "action": policy,
                }
            )
            actions[column] = policy
    return {c: a for c, a in actions.items() if a in ("drop", "hash", "fail")}


def _fail(findings: list[dict[str, Any]], conf: PrivacyConfig) -> None:
    failing = [f for f in findings if f["action"] == "fail"]
    if not failing:
        return
    lines = [
        f"column '{f['column']}' looks like {f['kind']}"
        + (f" ({f['share']:.0%} of sampled values, e.g. {', '.join(f['examples_masked'])})")
        for f in failing
        if f["share"] is not None
    ] + [f"column '{f['column']}' is set to fail" for f in failing if f["share"] is None]
    first = failing[0]
    raise MlconfError(
        "personal data found, and its policy is fail: " + "; ".join(lines),
        where=f"config key {_key(conf, first['column'], first['kind'])}",
        fix=f"decide per column, e.g. privacy.columns.{first['column']}=hash (salted sha256; "
        f"export {conf.salt_env}=<secret>), =drop, or =ignore; or per kind, e.g. "
        f"privacy.policy.{first['kind']}=drop. Findings are in data/privacy.json",
    )


def _kind_of(findings: list[dict[str, Any]], column: str) -> str:
    return next((f["kind"] for f in findings if f["column"] == column), "configured")


def _key(conf: PrivacyConfig, column: str, kind: str) -> str:
    if column in conf.columns or kind == "configured":
        return f"privacy.columns.{column}"
    return f"privacy.policy.{kind}"
