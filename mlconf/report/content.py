"""What a report says: every artifact of a run folder read into plain, display-ready values.

Each section is built from whatever files exist; a missing file gives a section that says
plainly which stage did not run and how to enable it. A file that cannot be read becomes
a note in its section, never a failed report. Nothing here renders HTML: the templates
do, with autoescaping, so values from data or config are always text.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlconf.errors import MlconfError
from mlconf.secrets import mask_text

RUN_FILES = ("run.json", "config.yaml")
MAX_TABLE_ROWS = 200

# How each optional section is switched on (shown when its artifact is absent).
ENABLE = {
    "privacy": "the `privacy` stage in `stages` and `privacy.scan=true`",
    "eda": "the `explore` stage in `stages` and `explore.enabled=true`",
    "selection": "candidates, e.g. `model_selection.candidates=[xgboost,logistic]`",
    "tuning": "a search space, e.g. `search=xgboost tune.n_trials=50`",
    "evaluation": "the `evaluate` stage in `stages`",
    "interpretation": "the `explain` stage in `stages` and `explain.enabled=true`",
    "fairness": "the `fairness` stage in `stages` and sensitive attributes under `fairness/`, "
    "e.g. `fairness=example` (see conf/fairness/example.yaml)",
    "quarantine": "`schema.on_error=quarantine` to set invalid rows aside",
}


def not_run(key: str) -> str:
    return f"Not run in this experiment (enable with {ENABLE[key]})."


def redact(text: str) -> str:
    """Hide passwords in URLs (`postgresql://user:secret@host` -> `user:***@host`)."""
    return mask_text(text)


def check_run_dir(path: Path | str) -> Path:
    """The run folder, or an error naming the file that makes it not one."""
    folder = Path(path)
    if not folder.exists():
        raise MlconfError(
            f"'{folder}' does not exist",
            where="RUN_DIR",
            fix="pass a run folder such as experiments/<experiment>/runs/<time>-<id>",
        )
    if not folder.is_dir():
        raise MlconfError(
            f"'{folder}' is a file, not a run folder",
            where="RUN_DIR",
            fix="pass the folder that holds run.json and config.yaml",
        )
    for name in RUN_FILES:
        if not (folder / name).is_file():
            raise MlconfError(
                f"'{folder}' is not a run folder: {name} is missing",
                where="RUN_DIR",
                fix="pass a folder written by `mlconf train` "
                "(experiments/<experiment>/runs/<time>-<id>), which holds "
                f"{' and '.join(RUN_FILES)}",
            )
    return folder


@dataclass
class RunFiles:
    """Reads a run folder's files; anything unreadable is noted, not raised."""

    root: Path
    problems: list[str] = field(default_factory=list)

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def json(self, rel: str) -> Any:
        path = self.root / rel
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.problems.append(f"{rel} could not be read: {exc}")
            return None

    def yaml(self, rel: str) -> Any:
        import yaml

        path = self.root / rel
        if not path.is_file():
            return None
        try:
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            self.problems.append(f"{rel} could not be read: {exc}")
            return None

    def text(self, rel: str) -> str | None:
        path = self.root / rel
        try:
            return path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{rel} could not be read: {exc}")
            return None

    def header(self, rel: str) -> list[str]:
        """The column names of a CSV file (its first line only), or [] if unreadable."""
        import pandas as pd

        path = self.root / rel
        try:
            return [str(c) for c in pd.read_csv(path, nrows=0).columns] if path.is_file() else []
        except (OSError, ValueError) as exc:
            self.problems.append(f"{rel} could not be read: {exc}")
            return []

    def csv(self, rel: str, usecols: list[str] | None = None) -> Any:
        import pandas as pd

        path = self.root / rel
        if not path.is_file():
            return None
        try:
            return pd.read_csv(
                path, usecols=(lambda c: c in usecols) if usecols else None, low_memory=False
            )
        except (OSError, ValueError) as exc:
            self.problems.append(f"{rel} could not be read: {exc}")
            return None


# --- formatting -------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 4) -> str:
    """A value as short text: numbers to `digits` significant figures, lists joined."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v, digits) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt(v, digits)}" for k, v in value.items())
    return str(value)


def pct(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        return "-"
    return f"{value:.1%}"


def interval(item: Any) -> str:
    if not isinstance(item, dict) or item.get("low") is None or item.get("high") is None:
        return "-"
    return f"{fmt(item['low'])} .. {fmt(item['high'])}"


def rows_of(items: Any, limit: int = MAX_TABLE_ROWS) -> tuple[list[Any], int]:
    """At most `limit` items, and how many were left out."""
    items = list(items or [])
    return items[:limit], max(0, len(items) - limit)


def table(records: list[dict[str, Any]], columns: list[str] | None = None) -> dict[str, Any]:
    """A table of text cells from records; nested `metrics` dicts become columns."""
    flat = []
    for record in records:
        row = {k: v for k, v in record.items() if not isinstance(v, dict)}
        for value in record.values():
            if isinstance(value, dict):
                row.update(value)
        flat.append(row)
    if columns is None:
        columns = []
        for row in flat:
            columns += [c for c in row if c not in columns]
    shown, more = rows_of(flat)
    return {
        "columns": columns,
        "rows": [[fmt(row.get(c)) for c in columns] for row in shown],
        "more": more,
    }


def plots_of(doc: Any) -> list[dict[str, str]]:
    """The `plots` list of a stage's JSON: [{path, title, caption}]."""
    if not isinstance(doc, dict):
        return []
    plots = doc.get("plots") or []
    return [p for p in plots if isinstance(p, dict) and isinstance(p.get("path"), str)]


# --- sections ---------------------------------------------------------------------------------


def collect(run_dir: Path, status: str | None = None) -> dict[str, Any]:
    """Every section of the report as plain values (the template only lays them out)."""
    files = RunFiles(run_dir)
    record = files.json("run.json") or {}
    if status is not None:
        from datetime import UTC, datetime

        now = datetime.now(UTC).isoformat(timespec="seconds")
        record = {**record, "status": status, "finished": record.get("finished") or now}
    config = files.yaml("config.yaml") or {}
    metrics = files.json("metrics.json")
    manifest = files.json("model/manifest.json")
    profile = files.json("data/profile.json")
    privacy = files.json("data/privacy.json")
    interpretation = files.json("interpretation.json")
    fairness = files.json("fairness.json")
    quality = quality_section(files, config, record)
    view: dict[str, Any] = {
        "title": f"{record.get('experiment') or config.get('experiment_name') or 'run'}",
        "record": record,
        "problem": problem_section(config, metrics),
        "data": data_section(record),
        "quality": quality,
        "privacy": privacy_section(privacy),
        "eda": eda_section(profile),
        "features": features_section(config, manifest),
        "split": split_section(files, config, record),
        "selection": selection_section(
            files, record, (config.get("problem") or {}).get("primary_metric")
        ),
        "metrics": metrics_section(metrics),
        "evaluation": evaluation_section(files, metrics),
        "interpretation": interpretation_section(interpretation),
        "fairness": fairness_section(fairness),
        "lineage": lineage_section(files, config, record, manifest),
    }
    view["compliance"] = compliance_section(view, files, record, manifest, privacy)
    view["glance"] = glance_section(view, record, config, manifest)
    view["problems"] = files.problems
    return view


OUTCOMES = {
    "tp": "true positive (a positive row flagged)",
    "fp": "false positive (a false alarm)",
    "fn": "false negative (a positive row missed)",
    "tn": "true negative (a negative row left alone)",
}
USAGES = {
    "real_time": "real time: one row at a time, behind an API",
    "batch": "batch: a file of rows at a time",
    "decision_support": "decision support: a person reads the prediction and decides",
}


def problem_section(config: dict[str, Any], metrics: Any) -> dict[str, Any]:
    """The problem as framed in `problem/`; the threshold only where one applies (binary)."""
    problem = config.get("problem") or {}
    criteria = problem.get("success_criteria") or {}
    threshold = problem.get("threshold") or {}
    costs = problem.get("costs") or {}
    usage = str(problem.get("usage") or "")
    optimize = threshold.get("optimize") if isinstance(threshold, dict) else None
    return {
        "task": problem.get("task"),
        "target": problem.get("target"),
        "positive_class": problem.get("positive_class"),
        "primary_metric": problem.get("primary_metric"),
        "objective": (problem.get("objective") or "").strip(),
        "stakeholders": [str(s) for s in problem.get("stakeholders") or []],
        "usage": USAGES.get(usage, usage.replace("_", " ")),
        "costs": [(OUTCOMES.get(k, k), fmt(v)) for k, v in costs.items()]
        if isinstance(costs, dict)
        else [],
        "threshold": threshold_goal(optimize)
        if (isinstance(metrics, dict) and isinstance(metrics.get("threshold"), dict))
        or optimize not in (None, "none")
        else None,
        "criteria": [
            (name, bounds_text(bounds)) for name, bounds in criteria.items() if bounds is not None
        ],
    }


def threshold_goal(optimize: Any) -> str:
    """How the decision threshold is to be chosen, from `problem.threshold.optimize`."""
    if optimize in (None, "none"):
        return "the model's own rule (probability 0.5)"
    if optimize == "cost":
        return "the least expected cost on validation data"
    return f"the best {optimize} on validation data"


def bounds_text(bounds: dict[str, Any]) -> str:
    parts = [
        f"{op} {fmt(bounds[key])}"
        for key, op in (("min", "at least"), ("max", "at most"))
        if bounds.get(key) is not None
    ]
    return " and ".join(parts) or "no bound"


def data_section(record: dict[str, Any]) -> dict[str, Any]:
    sources = []
    for name, fp in (record.get("fingerprints") or {}).items():
        fp = fp if isinstance(fp, dict) else {}
        sources.append(
            {
                "name": name,
                "kind": fp.get("kind"),
                "location": redact(str(fp.get("location", "-"))),
                "rows": fmt(fp.get("rows")),
                "columns": fmt(fp.get("columns")),
                "sha256": fp.get("sha256") or "-",
            }
        )
    counts = record.get("counts") or {}
    return {
        "sources": sources,
        "rows_loaded": fmt(counts.get("rows_loaded")),
        "rows_prepared": fmt(counts.get("rows_prepared")),
        "columns_dropped": fmt(counts.get("columns_dropped") or []) or "none",
        "duplicates_dropped": fmt(counts.get("exact_duplicates_dropped")),
    }


def quality_section(files: RunFiles, config: dict[str, Any], record: dict[str, Any]) -> dict:
    schema = config.get("schema") or {}
    rules = schema.get("columns") or {}
    frame = files.csv("data/quarantine.csv", usecols=["_stage", "_reason"])
    reasons: list[dict[str, Any]] = []
    total = 0
    missing_reason = 0
    if frame is not None:
        total = len(frame)
        if "_reason" in frame:
            reason = frame["_reason"].fillna("").astype(str)
            missing_reason = int((reason.str.strip() == "").sum())
            stage = frame["_stage"].astype(str) if "_stage" in frame else reason.map(lambda _: "-")
            grouped = (
                frame.assign(_reason=reason, _stage=stage)
                .groupby(["_stage", "_reason"], sort=False)
                .size()
                .sort_values(ascending=False)
            )
            reasons = [{"stage": s, "reason": r, "rows": int(n)} for (s, r), n in grouped.items()]
    shown, more = rows_of(reasons, 50)
    counted = (record.get("counts") or {}).get("quarantined_rows")
    return {
        "validated": "validate" in (record.get("stages") or {}),
        "on_error": schema.get("on_error", "fail"),
        "rules": len(rules),
        "rule_rows": [
            (name, schema_rule_text(rule))
            for name, rule in list(rules.items())[:MAX_TABLE_ROWS]
            if isinstance(rule, dict)
        ],
        "quarantined": total,
        "quarantine_file": frame is not None,
        "reasons": shown,
        "more_reasons": more,
        "missing_reason": missing_reason,
        "count_matches": counted is None or counted == total,
        "hint": None if frame is not None else not_run("quarantine"),
    }


def schema_rule_text(rule: dict[str, Any]) -> str:
    parts = []
    if rule.get("dtype"):
        parts.append(str(rule["dtype"]))
    if rule.get("nullable") is False:
        parts.append("required value")
    if rule.get("unique"):
        parts.append("unique")
    for key, word in (("min", ">="), ("max", "<=")):
        if rule.get(key) is not None:
            parts.append(f"{word} {fmt(rule[key])}")
    if rule.get("allowed"):
        parts.append(f"one of {fmt(rule['allowed'])}")
    if rule.get("regex"):
        parts.append(f"matches {rule['regex']}")
    parts += [f"check {c.get('name')}" for c in rule.get("checks") or [] if isinstance(c, dict)]
    return "; ".join(parts) or "any value"


def privacy_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        return {"present": False, "hint": not_run("privacy")}
    if doc.get("scan") is False:
        return {"present": False, "hint": "The PII scan was switched off (privacy.scan=false)."}
    findings = [f for f in doc.get("findings") or [] if isinstance(f, dict)]
    rows = [
        {
            "column": f.get("column"),
            "kind": f.get("kind"),
            "share": pct(f.get("share")),
            "examples_masked": fmt(f.get("examples_masked") or []),
            "policy": f.get("policy"),
            "action": ACTIONS.get(str(f.get("action")), f.get("action")),
        }
        for f in findings
    ]
    actions, overrides = _dict(doc.get("actions")), _dict(doc.get("columns"))
    policy = _dict(doc.get("policy"))
    summary = [
        ("Columns scanned", fmt(doc.get("columns_scanned"))),
        ("Values checked per column", f"up to {fmt(doc.get('sample_rows'))}"),
        ("A column is a finding when", f"at least {pct(doc.get('min_share'))} of values match"),
        ("Policy per kind", fmt(policy) or "-"),
        ("Policy per column", fmt(overrides) or "none"),
        ("Columns dropped", fmt(actions.get("drop") or []) or "none"),
        ("Columns hashed", fmt(actions.get("hash") or []) or "none"),
    ]
    if actions.get("hash"):
        summary.append(("Salt read from", f"the environment variable {doc.get('salt_env')}"))
    return {
        "present": True,
        "findings": table(rows, ["column", "kind", "share", "examples_masked", "policy", "action"]),
        "count": len(findings),
        "summary": summary,
    }


# What each privacy action did, in words.
ACTIONS = {
    "hash": "hashed (salted)",
    "drop": "dropped",
    "fail": "stopped the run",
    "ignore": "kept as is",
}


def eda_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        return {"present": False, "hint": not_run("eda")}
    if doc.get("enabled") is False:
        return {
            "present": False,
            "hint": f"Not run in this experiment ({doc.get('reason') or 'explore.enabled=false'}).",
        }
    columns = doc.get("columns") or {}
    column_rows = []
    for name, info in columns.items():
        info = info if isinstance(info, dict) else {}
        column_rows.append(
            [
                str(name),
                fmt(info.get("kind")),
                pct(info.get("missing_share")),
                fmt(info.get("distinct")),
                column_summary(info),
            ]
        )
    shown, more = rows_of(column_rows)
    associations = [a for a in doc.get("associations") or [] if isinstance(a, dict)]
    associations.sort(key=lambda a: -abs(_number(a.get("mutual_info"))))
    target, classes = target_facts(doc.get("target"))
    return {
        "present": True,
        "rows": fmt(doc.get("rows")),
        "sampled": bool(doc.get("sampled")),
        "sampled_rows": fmt(doc.get("sampled_rows")),
        "columns": {"rows": shown, "more": more},
        "target": target,
        "classes": table(classes, ["value", "count", "share"]),
        "associations": table(associations[:30], ["feature", "mutual_info", "pearson", "spearman"]),
        "pairs": table(
            [p for p in doc.get("correlated_pairs") or [] if isinstance(p, dict)],
            ["a", "b", "correlation"],
        ),
        "counts": quality_counts(doc),
        "warnings": table(
            [w for w in doc.get("warnings") or [] if isinstance(w, dict)],
            ["column", "kind", "message"],
        ),
        "plots": plots_of(doc),
    }


def target_facts(target: Any) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """The target's summary as facts, and its classes (classification) as table rows."""
    if not isinstance(target, dict):
        return [], []
    facts = [("Column", fmt(target.get("name"))), ("Missing values", fmt(target.get("missing")))]
    classes = [
        {"value": c.get("value"), "count": c.get("count"), "share": pct(c.get("share"))}
        for c in target.get("classes") or []
        if isinstance(c, dict)
    ]
    if classes:
        facts += [
            ("Classes", fmt(target.get("n_classes"))),
            ("Smallest class share", pct(target.get("minority_share"))),
            ("Largest / smallest class", fmt(target.get("imbalance_ratio"))),
        ]
    stats = target.get("stats")
    if isinstance(stats, dict):
        facts += [(str(k), fmt(v)) for k, v in stats.items()]
    return facts, classes


def quality_counts(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Duplicate rows and outliers as short sentences."""
    counts = []
    duplicates = doc.get("duplicates")
    if isinstance(duplicates, dict):
        share = pct(duplicates.get("share"))
        counts.append(("Duplicate rows", f"{fmt(duplicates.get('rows'))} ({share})"))
    outliers = doc.get("outliers")
    if isinstance(outliers, dict):
        per_column = _dict(outliers.get("columns"))
        text = f"{fmt(outliers.get('rows'))} row(s) outside {outliers.get('method', '-')}"
        if per_column:
            text += f" ({fmt(per_column)})"
        counts.append(("Outliers", text))
    return counts


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def column_summary(info: dict[str, Any]) -> str:
    stats = info.get("stats")
    if isinstance(stats, dict):
        keys = [k for k in ("mean", "std", "min", "median", "max") if k in stats] or list(stats)
        return ", ".join(f"{k} {fmt(stats[k])}" for k in keys[:6])
    top = info.get("top_values")
    if isinstance(top, dict):
        return ", ".join(f"{k} ({fmt(v)})" for k, v in list(top.items())[:5])
    if isinstance(top, list):
        parts = []
        for item in top[:5]:
            if isinstance(item, dict):
                parts.append(f"{fmt(item.get('value'))} ({fmt(item.get('count'))})")
            else:
                parts.append(fmt(item))
        return ", ".join(parts)
    return "-"


def features_section(config: dict[str, Any], manifest: Any) -> dict[str, Any]:
    features = config.get("features") or {}
    data = config.get("data") or {}
    sets = []
    for name, spec in (features.get("column_sets") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        picked = fmt(spec.get("columns")) if spec.get("columns") else spec.get("select", "-")
        steps = [s.get("name", "?") for s in spec.get("steps") or [] if isinstance(s, dict)]
        sets.append((name, picked, " -> ".join(steps) or "passed through"))
    manifest = manifest if isinstance(manifest, dict) else {}
    inputs = [str(c) for c in manifest.get("input_columns") or []]
    shown, more = rows_of(inputs)
    sensitive = [
        s for s in ((config.get("fairness") or {}).get("sensitive") or []) if isinstance(s, dict)
    ]
    return {
        "sensitive_out": fmt([s.get("column") for s in sensitive if not s.get("use_as_feature")])
        or "none",
        "sensitive_in": fmt([s.get("column") for s in sensitive if s.get("use_as_feature")])
        or "none",
        "sets": sets,
        "derived": [(k, str(v)) for k, v in (features.get("derived") or {}).items()],
        "interactions": _spec_name(features.get("interactions")),
        "selection": _spec_name(features.get("selection")),
        "remainder": features.get("remainder", "drop"),
        "id_columns": fmt(data.get("id_columns") or []) or "none",
        "drop_columns": fmt(data.get("drop_columns") or []) or "none",
        "inputs": shown,
        "more_inputs": more,
        "input_count": len(inputs),
        "manifest": manifest != {},
    }


def _spec_name(spec: Any) -> str:
    if isinstance(spec, dict) and spec.get("name"):
        params = spec.get("params") or {}
        return f"{spec['name']} ({fmt(params)})" if params else str(spec["name"])
    return "none"


def split_section(files: RunFiles, config: dict[str, Any], record: dict[str, Any]) -> dict:
    split = config.get("split") or {}
    frame = files.csv("data/split.csv", usecols=["part"])
    counts: dict[str, int] = {}
    if frame is not None and "part" in frame:
        counts = {str(k): int(v) for k, v in frame["part"].value_counts(sort=False).items()}
    elif isinstance((record.get("counts") or {}).get("split"), dict):
        counts = dict(record["counts"]["split"])
    total = sum(counts.values()) or 1
    return {
        "present": bool(counts),
        "method": split.get("method", "-"),
        "settings": [
            (k, fmt(split.get(k)))
            for k in ("test_size", "validation_size", "stratify", "group_column", "time_column")
            if k in split and split.get(k) is not None
        ],
        "folds": split.get("folds") or 0,
        "parts": [(part, fmt(n), pct(n / total)) for part, n in counts.items()],
        "hint": "No split was recorded (the `split` stage did not run).",
    }


def leaderboard_table(board: Any, primary: str | None) -> dict[str, Any]:
    """Rank, candidate, the primary metric then four others as `mean ± std`, fit seconds."""
    names = [c[: -len("_mean")] for c in board.columns if c.endswith("_mean")]
    names = [n for n in names if "seconds" not in n]
    names = ([primary] if primary in names else []) + [n for n in names if n != primary][:4]
    records = []
    for row in board.to_dict("records"):
        record = {k: row.get(k) for k in ("rank", "candidate") if k in row}
        for n in names:
            std = row.get(f"{n}_std")
            record[n] = f"{fmt(row.get(f'{n}_mean'))} ± {fmt(std, 2)}"
        if "fit_seconds_mean" in row:
            record["fit seconds"] = row["fit_seconds_mean"]
        records.append(record)
    return table(records)


def selection_section(files: RunFiles, record: dict[str, Any], primary: str | None) -> dict:
    board = files.csv("leaderboard.csv")
    trials = files.csv("trials.csv")
    best = files.json("best_params.json")
    leaderboard = None
    if board is not None:
        leaderboard = leaderboard_table(board, primary)
    tuning = None
    if trials is not None:
        states = trials["state"].value_counts().to_dict() if "state" in trials else {}
        best_value = None
        if isinstance(best, dict):
            best_value = best.get(primary) if primary in best else None
            if best_value is None:  # an older best_params.json: the one other number
                best_value = next(
                    (v for k, v in best.items() if isinstance(v, float) and k != "trial"), None
                )
        tuning = {
            "trials": len(trials),
            "states": ", ".join(f"{n} {s.lower()}" for s, n in states.items()),
            "best_params": [(k, fmt(v)) for k, v in ((best or {}).get("params") or {}).items()],
            "best_value": fmt(best_value),
            "best_trial": fmt(_dict(best).get("trial")),
            "overrides": " ".join(str(o) for o in _dict(best).get("overrides") or []),
            "table": table(trials.tail(MAX_TABLE_ROWS).to_dict("records")),
        }
    plots = [
        {"path": f"plots/{name}.png", "title": title, "caption": caption}
        for name, title, caption in (
            (
                "optimization_history",
                "Tuning history",
                "Each dot is one tried setting; the line is the best score found so far.",
            ),
            (
                "param_importances",
                "Which settings mattered",
                "How much each tuned setting changed the score.",
            ),
        )
        if files.exists(f"plots/{name}.png")
    ]
    counts = record.get("counts") or {}
    return {
        "leaderboard": leaderboard,
        "selected": counts.get("selected_model"),
        "tuning": tuning,
        "plots": plots,
        "hint_selection": not_run("selection"),
        "hint_tuning": not_run("tuning"),
    }


def metrics_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        return {"present": False, "hint": not_run("evaluation")}
    test = doc.get("test") or {}
    validation = doc.get("validation") or {}
    model, baseline = test.get("model") or {}, test.get("baseline") or {}
    primary = doc.get("primary_metric")
    rows = []
    for name, item in model.items():
        item = item if isinstance(item, dict) else {}
        rows.append(
            {
                "name": name,
                "primary": name == primary,
                "value": fmt(item.get("value")),
                "interval": interval(item),
                "baseline": fmt((baseline.get(name) or {}).get("value")),
                "validation": fmt(((validation.get("model") or {}).get(name) or {}).get("value")),
            }
        )
    criteria = []
    for item in doc.get("success_criteria") or []:
        if not isinstance(item, dict):
            continue
        criteria.append(
            {
                "metric": item.get("metric"),
                "bound": bounds_text(item),
                "value": fmt(item.get("value")),
                "interval": interval(item),
                "passed": item.get("passed"),
                "confident": item.get("confident"),
                "statement": str(item.get("statement") or ""),
            }
        )
    cv = doc.get("cv") or {}
    cv_rows = [
        (name, fmt(v.get("mean")), fmt(v.get("std")), len(v.get("folds") or []))
        for name, v in cv.items()
        if isinstance(v, dict)
    ]
    costs: dict[str, Any] = doc["costs"] if isinstance(doc.get("costs"), dict) else {}
    return {
        "present": True,
        "primary": primary,
        "confidence": f"{_number(doc.get('confidence')):.0%}",
        "bootstrap": fmt(doc.get("bootstrap")),
        "rows": rows,
        "criteria": criteria,
        "passed": doc.get("passed") if criteria else None,
        "cv": cv_rows,
        "threshold": threshold_facts(doc.get("threshold")),
        "costs": [(OUTCOMES.get(k, k).split(" (")[0], fmt(v)) for k, v in costs.items()],
        "expected_cost": expected_cost_rows(doc.get("expected_cost")),
    }


def threshold_facts(threshold: Any) -> dict[str, Any] | None:
    """The decision threshold in use and how it was chosen, in words (binary only)."""
    if not isinstance(threshold, dict) or threshold.get("value") is None:
        return None
    method = threshold.get("method")
    score_name = threshold.get("score_name") or threshold.get("optimize")
    if method == "cost":
        how = (
            f"chosen on {threshold.get('chosen_on', 'validation')} data "
            f"({fmt(threshold.get('rows'))} rows) for the least {score_name}: "
            f"{fmt(threshold.get('score'))}"
        )
    elif method == "metric":
        how = (
            f"chosen on {threshold.get('chosen_on', 'validation')} data "
            f"({fmt(threshold.get('rows'))} rows) for the best {score_name}: "
            f"{fmt(threshold.get('score'))}"
        )
    elif method == "fallback":
        how = f"kept at the default because none could be learned: {threshold.get('note')}"
    else:
        how = str(threshold.get("note") or "the model's own rule")
    return {
        "value": fmt(threshold.get("value")),
        "method": str(method or "-"),
        "how": how,
        "optimize": str(threshold.get("optimize") or "none"),
        "curve_points": len(threshold.get("curve") or []),
    }


def expected_cost_rows(doc: Any) -> list[dict[str, str]]:
    """Expected cost per row on validation and test: the model with its interval, the
    dummy baseline beside it."""
    if not isinstance(doc, dict):
        return []
    rows = []
    for part in ("validation", "test"):
        item = doc.get(part)
        if not isinstance(item, dict):
            continue
        model: dict[str, Any] = item["model"] if isinstance(item.get("model"), dict) else {}
        baseline: dict[str, Any] = (
            item["baseline"] if isinstance(item.get("baseline"), dict) else {}
        )
        rows.append(
            {
                "part": part,
                "value": fmt(model.get("value")),
                "interval": interval(model),
                "baseline": fmt(baseline.get("value")),
            }
        )
    return rows


def evaluation_section(files: RunFiles, metrics: Any) -> dict[str, Any]:
    """The evaluate stage's plots (listed in metrics.json) and its saved test predictions."""
    rel = "data/predictions.csv"
    if isinstance(metrics, dict) and isinstance(metrics.get("predictions"), str):
        rel = metrics["predictions"]
    columns = files.header(rel)
    counted = files.csv(rel, usecols=columns[:1]) if columns else None
    return {
        "plots": plots_of(metrics),
        "predictions": len(counted) if counted is not None else None,
        "predictions_file": rel,
        "prediction_columns": ", ".join(columns),
        "hint": not_run("evaluation"),
    }


def interpretation_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict) or not doc.get("enabled", True):
        return {"present": False, "hint": not_run("interpretation")}
    if not doc.get("rows"):
        return {
            "present": False,
            "hint": "The explain stage ran but had no validation or test rows to explain.",
        }
    importance = [p for p in doc.get("permutation_importance") or [] if isinstance(p, dict)]
    importance.sort(key=lambda p: -_number(p.get("mean")))
    shap: dict[str, Any] = doc["shap"] if isinstance(doc.get("shap"), dict) else {}
    mean_abs = [s for s in shap.get("mean_abs") or [] if isinstance(s, dict)]
    method = {
        "tree": "exact TreeSHAP computed by xgboost",
        "sampled": "sampled (approximate) Shapley values",
    }.get(str(shap.get("method")), str(shap.get("method") or "-"))
    curves = [c for c in doc.get("partial_dependence") or [] if isinstance(c, dict)]
    drawn = [str(c.get("feature")) for c in curves if not c.get("skipped")]
    skipped = [(str(c.get("feature")), str(c.get("skipped"))) for c in curves if c.get("skipped")]
    outputs = sorted({str(c["output"]) for c in curves if c.get("output")})
    return {
        "present": True,
        "part": doc.get("part") or "-",
        "rows": fmt(doc.get("rows")),
        "metric": doc.get("metric") or "-",
        "repeats": fmt(doc.get("n_repeats")),
        "top": [str(p.get("feature")) for p in importance[:3]],
        "importance": table(importance, ["feature", "mean", "std"]),
        "shap_available": bool(shap.get("available")),
        "shap_reason": shap.get("reason"),
        "shap_method": method,
        "shap_explained": shap.get("explained") or "-",
        "shap_rows": fmt(shap.get("rows")),
        "shap_bias": fmt(shap.get("bias")),
        "shap": table(mean_abs, ["feature", "mean_abs"]),
        "pdp": drawn,
        "pdp_output": ", ".join(outputs),
        "pdp_skipped": skipped,
        "plots": plots_of(doc),
    }


LIMIT_WORDS = {"maximum": "at most", "minimum": "at least"}


def limit_text(limit: Any, kind: Any) -> str:
    if limit is None:
        return "none set"
    return f"{LIMIT_WORDS.get(str(kind), '')} {fmt(limit)}".strip()


def fairness_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("configured") is False:
        return {"present": False, "hint": not_run("fairness")}
    attributes = [a for a in doc.get("attributes") or [] if isinstance(a, dict)]
    groups = [g for g in doc.get("groups") or [] if isinstance(g, dict)]
    metric_names: list[str] = []
    for g in groups:
        metric_names += [
            k
            for k, v in g.items()
            if k not in ("attribute", "columns", "group", "count", "small", "note")
            and not isinstance(v, (dict, list))
            and k not in metric_names
        ]
    has_notes = any(g.get("note") for g in groups)
    group_rows = [
        {
            "attribute": g.get("attribute"),
            "group": g.get("group"),
            "count": g.get("count"),
            "small": "small: not compared" if g.get("small") else "",
            **{k: g.get(k) for k in metric_names},
            **({"note": g.get("note") or ""} if has_notes else {}),
        }
        for g in groups
    ]
    checks = []
    for check in doc.get("checks") or []:
        if isinstance(check, dict):
            passed = check.get("passed")
            limit = check.get("limit")
            checks.append(
                {
                    "name": str(check.get("name")),
                    "attribute": str(check.get("attribute") or ""),
                    "value": fmt(check.get("value")),
                    "all_groups": fmt(check.get("value_all_groups")),
                    "limit": limit_text(limit, check.get("limit_is")),
                    "passed": passed,
                    "verdict": "not checked" if passed is None else "pass" if passed else "FAIL",
                    "note": str(check.get("note") or ""),
                }
            )
    small = [g for g in groups if g.get("small")]
    return {
        "present": True,
        "attributes": [
            {
                "name": str(a.get("attribute")),
                "columns": fmt(a.get("columns") or []),
                "use_as_feature": bool(a.get("use_as_feature")),
                "groups": fmt(a.get("groups")),
                "small_groups": fmt(a.get("small_groups") or []) or "none",
            }
            for a in attributes
        ],
        "names": ", ".join(str(a.get("attribute")) for a in attributes) or "-",
        "part": doc.get("part") or "test",
        "rows": fmt(doc.get("rows")),
        "positive_class": doc.get("positive_class"),
        "min_group_size": fmt(doc.get("min_group_size")),
        "on_fail": doc.get("on_fail"),
        "groups": table(group_rows),
        "small": len(small),
        "small_names": [f"{g.get('attribute')}: {g.get('group')}" for g in small],
        "checks": checks,
        "failed": [c for c in checks if c["passed"] is False],
        "passed": doc.get("passed"),
        "notes": [str(doc["note"])] if doc.get("note") else [],
        "plots": plots_of(doc),
    }


def lineage_section(
    files: RunFiles, config: dict[str, Any], record: dict[str, Any], manifest: Any
) -> dict[str, Any]:
    git = record.get("git") if isinstance(record.get("git"), dict) else None
    overrides = files.yaml(".hydra/overrides.yaml")
    manifest = manifest if isinstance(manifest, dict) else {}
    return {
        "run_id": record.get("id"),
        "experiment": record.get("experiment"),
        "status": record.get("status"),
        "started": record.get("started"),
        "finished": record.get("finished"),
        "seed": record.get("seed", config.get("seed")),
        "git": (git or {}).get("commit"),
        "dirty": (git or {}).get("dirty"),
        "stages": [(k, fmt(v)) for k, v in (record.get("stages") or {}).items()],
        "versions": list((record.get("versions") or {}).items()),
        "overrides": [str(o) for o in overrides] if isinstance(overrides, list) else [],
        "model_files": list((manifest.get("files") or {}).items()),
        "config": redact(files.text("config.yaml") or ""),
        "error": record.get("error"),
    }


def compliance_section(
    view: dict[str, Any],
    files: RunFiles,
    record: dict[str, Any],
    manifest: Any,
    privacy: Any,
) -> list[dict[str, str]]:
    """The checklist: each item pass, fail or not run, with the evidence in words."""
    items = []

    def add(name: str, status: str, detail: str) -> None:
        items.append({"name": name, "status": status, "detail": detail})

    fps = record.get("fingerprints") or {}
    if fps and all(isinstance(f, dict) and f.get("sha256") for f in fps.values()):
        add("Data fingerprints recorded", "pass", f"sha256 of {len(fps)} source(s) in run.json")
    else:
        add("Data fingerprints recorded", "fail", "a source has no sha256 in run.json")

    if not isinstance(privacy, dict) or not view["privacy"]["present"]:
        add("PII scan run and findings handled", "not run", view["privacy"]["hint"])
    else:
        findings = [f for f in privacy.get("findings") or [] if isinstance(f, dict)]
        open_ = [
            f
            for f in findings
            if str(f.get("action") or "").lower() in ("", "none", "ignore", "ignored", "kept")
        ]
        if open_:
            cols = ", ".join(str(f.get("column")) for f in open_)
            add("PII scan run and findings handled", "fail", f"kept as is (policy ignore): {cols}")
        else:
            add(
                "PII scan run and findings handled",
                "pass",
                f"{len(findings)} finding(s), each dropped, hashed or stopped the run",
            )

    fair = view["fairness"]
    judged = [c for c in fair.get("checks", []) if c["passed"] is not None]
    if not fair["present"]:
        add("Fairness limits checked and passed", "not run", "no sensitive attributes configured")
    elif not judged:
        add(
            "Fairness limits checked and passed",
            "not run",
            f"groups of {fair['names']} measured, but no limit is set (fairness.limits)",
        )
    else:
        failed = [f"{c['attribute']}: {c['name']} {c['value']}" for c in fair["failed"]]
        small = f"; {fair['small']} small group(s) not compared" if fair["small"] else ""
        add(
            "Fairness limits checked and passed",
            "fail" if failed else "pass",
            (f"failed: {', '.join(failed)}" if failed else f"{len(judged)} check(s) within limits")
            + small,
        )

    metrics = view["metrics"]
    if not metrics.get("present") or not metrics["criteria"]:
        add("Success criteria met", "not run", "no success criteria evaluated")
    else:
        missed = [str(c["metric"]) for c in metrics["criteria"] if not c["passed"]]
        unsure = [
            str(c["metric"]) for c in metrics["criteria"] if c["passed"] and not c["confident"]
        ]
        detail = f"not met: {', '.join(missed)}" if missed else "every criterion met on test"
        if unsure:
            detail += f"; the interval crosses the bound for {', '.join(unsure)}"
        add("Success criteria met", "fail" if missed else "pass", detail)

    add(*_hash_item(files.root, manifest))

    versions = record.get("versions") or {}
    ok = isinstance(record.get("seed"), int) and bool(versions)
    add(
        "Seed and versions recorded",
        "pass" if ok else "fail",
        f"seed {record.get('seed')}, {len(versions)} package versions"
        if ok
        else "seed or versions missing in run.json",
    )

    quality = view["quality"]
    if not quality["validated"]:
        add("Quarantine reviewed", "not run", "the validate stage did not run")
    elif quality["missing_reason"] or not quality["count_matches"]:
        add(
            "Quarantine reviewed",
            "fail",
            f"{quality['missing_reason']} row(s) without a reason, or the count in run.json "
            "differs from data/quarantine.csv",
        )
    else:
        n = quality["quarantined"]
        add(
            "Quarantine reviewed",
            "pass",
            f"{n} row(s) set aside, each with its reason (summarised above)"
            if n
            else "no rows set aside",
        )
    return items


def _hash_item(root: Path, manifest: Any) -> tuple[str, str, str]:
    name = "Model artifact hashed (manifest sha256)"
    if not isinstance(manifest, dict):
        return name, "not run", "no model/manifest.json (the save stage did not run)"
    listed = manifest.get("files") or {}
    if not listed:
        return name, "fail", "the manifest lists no file hashes"
    from mlconf.store.artifacts import sha256_file

    for file, expected in listed.items():
        path = root / "model" / file
        if not path.is_file() or sha256_file(path) != expected:
            return name, "fail", f"model/{file} is missing or does not match its sha256"
    return name, "pass", f"{len(listed)} file(s) verified against model/manifest.json"


def glance_section(
    view: dict[str, Any], record: dict[str, Any], config: dict[str, Any], manifest: Any
) -> dict[str, Any]:
    m = view["metrics"]
    primary = next((r for r in m.get("rows", []) if r["primary"]), None)
    trained = (manifest.get("model") or {}) if isinstance(manifest, dict) else {}
    model = trained.get("name") or (config.get("model") or {}).get("name")
    statuses = [c["status"] for c in view["compliance"]]
    fair = view["fairness"]
    return {
        "status": record.get("status"),
        "model": model,
        "primary": primary,
        "passed": m.get("passed"),
        "statements": [c["statement"] for c in m.get("criteria", []) if c["statement"]],
        "threshold": m.get("threshold"),
        "top_features": view["interpretation"].get("top", []),
        "fairness": None
        if not fair["present"]
        else "passed"
        if fair["passed"]
        else "failed"
        if fair["passed"] is False
        else "not checked",
        "rows": view["data"]["rows_loaded"],
        "warnings": [str(w) for w in record.get("warnings") or []],
        "compliance": {s: statuses.count(s) for s in ("pass", "fail", "not run")},
    }
