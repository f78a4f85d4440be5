"""`model_card.md`: the sections of "Model Cards for Model Reporting" (Mitchell et al., 2019),
filled from the same run artifacts as the HTML report.

Every value from data or config goes through `md`, which escapes Markdown and HTML so a
column named `<script>` or `a|b` stays text in any renderer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mlconf.report.content import collect
from mlconf.report.pages import visible_bidi
from mlconf.report.run_files import check_run_dir
from mlconf.report.sections.fairness import failed_checks, outcome
from mlconf.store.atomic import write_text

MODEL_CARD_FILE = "model_card.md"
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")


def md(value: Any) -> str:
    """Text safe in Markdown and table cells: specials backslash-escaped, one line, bidi
    controls shown as their code points (the card is read rendered as HTML)."""
    text = visible_bidi(" ".join(str(value).split()))
    return _SPECIAL.sub(r"\\\1", text) if text else "-"


def md_table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["| " + " | ".join(md(c) for c in columns) + " |"]
    lines.append("|" + "---|" * len(columns))
    lines += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def render_model_card(view: dict[str, Any]) -> str:
    """The card's Markdown: its title, then each section of Mitchell et al. in their order."""
    out = [f"# Model card: {md(view['title'])}", ""]
    for section in (
        _details,
        _intended_use,
        _factors,
        _metrics,
        _evaluation_data,
        _training_data,
        _quantitative_analyses,
        _ethical_considerations,
        _caveats,
    ):
        out += section(view)
    return "\n".join(out) + "\n"


def _details(view: dict[str, Any]) -> list[str]:
    problem, lineage, glance = view["problem"], view["lineage"], view["glance"]
    out = ["## Model details", ""]
    out += [
        f"- Model: {md(glance['model'] or '-')} for {md(problem['task'] or '-')} "
        f"of `{md(problem['target'] or '-')}`"
        + (
            f" (positive class {md(problem['positive_class'])})"
            if problem["positive_class"] is not None
            else ""
        ),
        f"- Developed by: mlconf run {md(lineage['run_id'] or '-')}, experiment "
        f"{md(lineage['experiment'] or '-')}, finished {md(lineage['finished'] or '-')}",
        f"- Seed {md(lineage['seed'])}; code "
        + (f"commit {md(lineage['git'])}" if lineage["git"] else "not in a git checkout"),
    ]
    features = view["features"]
    if features["input_count"]:
        more = f" and {features['more_inputs']} more" if features["more_inputs"] else ""
        out.append(
            f"- Inputs ({features['input_count']} columns): "
            + ", ".join(md(c) for c in features["inputs"])
            + more
        )
    out += [
        f"- Artifact {md(name)}: sha256 {md(digest)}" for name, digest in lineage["model_files"]
    ]
    out += [
        "- Versions: " + ", ".join(f"{md(k)} {md(v)}" for k, v in lineage["versions"]),
        "",
    ]
    return out


def _intended_use(view: dict[str, Any]) -> list[str]:
    problem = view["problem"]
    out = ["## Intended use", ""]
    out.append(md(problem["objective"]) if problem["objective"] else "No objective was stated.")
    out += [
        "",
        f"- Users and stakeholders: {md(', '.join(problem['stakeholders']) or 'not stated')}",
        f"- How it is used: {md(problem['usage'] or 'not stated')}",
        "- Out of scope: any use, population or data source other than the ones described "
        "here; they were not evaluated.",
        "",
    ]
    return out


def _factors(view: dict[str, Any]) -> list[str]:
    fairness = view["fairness"]
    out = ["## Factors", ""]
    if not fairness["present"]:
        out.append(
            "No sensitive attributes were configured (fairness.sensitive), so performance "
            "across groups was not evaluated."
        )
        looks = fairness.get("looks_sensitive") or []
        if looks:
            out.append(
                f"Columns whose names suggest a protected attribute are features of this model: "
                f"{md(', '.join(looks))}. List them under fairness.sensitive to compare groups."
            )
        return out
    out.append(
        f"The model was measured per group of the sensitive attributes "
        f"{md(fairness['names'])} on {md(fairness['rows'])} {md(fairness['part'])} rows; "
        f"groups under {md(fairness['min_group_size'])} rows are flagged small and not "
        "compared."
    )
    out.append("")
    out += md_table(
        ["attribute", "columns", "used as a feature", "groups", "small groups"],
        [
            [
                a["name"],
                a["columns"],
                "yes" if a["use_as_feature"] else "no",
                a["groups"],
                a["small_groups"],
            ]
            for a in fairness["attributes"]
        ],
    )
    if fairness["small"]:
        out.append(
            f"{fairness['small']} group(s) are small; their figures are uncertain: "
            + "; ".join(md(n) for n in fairness["small_names"])
        )
    return out


def _metrics(view: dict[str, Any]) -> list[str]:
    problem, metrics = view["problem"], view["metrics"]
    out = ["", "## Metrics", ""]
    if not metrics["present"]:
        out.append("The model was not evaluated (no metrics.json).")
        return out
    out += [
        f"- Primary metric: {md(metrics['primary'])}; all: "
        + ", ".join(md(r["name"]) for r in metrics["rows"]),
        f"- Uncertainty: {md(metrics['confidence'])} bootstrap intervals "
        f"({md(metrics['bootstrap'])} resamples of the test rows)",
    ]
    threshold = metrics["threshold"]
    if threshold:
        out.append(f"- Decision threshold: {md(threshold['value'])} ({md(threshold['how'])})")
    out += [f"- Success criterion: {md(name)} {md(bound)}" for name, bound in problem["criteria"]]
    out += [f"- Cost of a {md(k)}: {md(v)}" for k, v in metrics["costs"]]
    out += [
        f"- Expected cost per row on {md(r['part'])}: {md(r['value'])} "
        f"(interval {md(r['interval'])}; dummy baseline {md(r['baseline'])})"
        for r in metrics["expected_cost"]
    ]
    return out


def _part_rows(view: dict[str, Any]) -> dict[str, str]:
    """Rows per split part (train, validation, test) as shown in the split section."""
    return {part: n for part, n, _ in view["split"]["parts"]}


def _evaluation_data(view: dict[str, Any]) -> list[str]:
    parts = _part_rows(view)
    return [
        "",
        "## Evaluation data",
        "",
        f"The held-out test part: {md(parts.get('test', '-'))} rows, split with the "
        f"{md(view['split']['method'])} method from the training data described below; "
        f"validation part {md(parts.get('validation', '-'))} rows.",
    ]


def _training_data(view: dict[str, Any]) -> list[str]:
    parts = _part_rows(view)
    out = ["", "## Training data", ""]
    out.append(
        f"{md(parts.get('train', '-'))} rows for training, of {md(view['data']['rows_loaded'])} "
        f"loaded; {view['quality']['quarantined']} row(s) set aside by validation."
    )
    eda = view["eda"]
    if eda["present"] and eda["classes"]["rows"]:
        out.append(
            "Target classes in the data: "
            + ", ".join(f"{md(v)} {md(n)} ({md(share)})" for v, n, share in eda["classes"]["rows"])
            + "."
        )
    out += [""]
    out += md_table(
        ["source", "kind", "location", "rows", "sha256"],
        [
            [s["name"], s["kind"], s["location"], s["rows"], s["sha256"]]
            for s in view["data"]["sources"]
        ],
    )
    return out


def _quantitative_analyses(view: dict[str, Any]) -> list[str]:
    metrics, fairness = view["metrics"], view["fairness"]
    out = ["## Quantitative analyses", ""]
    out += md_table(
        ["metric", "test", "interval", "dummy baseline"],
        [[r["name"], r["value"], r["interval"], r["baseline"]] for r in metrics.get("rows", [])],
    )
    out += md_table(
        ["criterion", "required", "test", "interval", "met"],
        [
            [c["metric"], c["bound"], c["value"], c["interval"], "yes" if c["passed"] else "no"]
            for c in metrics.get("criteria", [])
        ],
    )
    out += [f"- {md(c['statement'])}" for c in metrics.get("criteria", []) if c["statement"]]
    if metrics.get("criteria"):
        out.append("")
    if fairness["present"]:
        out += ["### Per group", ""]
        out += md_table(fairness["groups"]["columns"], fairness["groups"]["rows"])
        out += md_table(
            ["attribute", "fairness check", "value", "interval", "all groups", "limit", "verdict"],
            [
                [
                    c["attribute"],
                    c["name"],
                    c["value"],
                    c["interval"],
                    c["all_groups"],
                    c["limit"],
                    c["verdict"],
                ]
                for c in fairness["checks"]
            ],
        )
        out += [
            f"- {md(c['attribute'])}: {md(c['statement'])}"
            + (f" ({md(c['note'])})" if c["note"] else "")
            for c in fairness["checks"]
            if c["statement"]
        ]
        out.append("")
    interpretation = view["interpretation"]
    if interpretation["present"] and interpretation["top"]:
        out.append(
            "Columns the model relies on most (permutation importance on "
            f"{md(interpretation['part'])} data): "
            + ", ".join(md(f) for f in interpretation["top"])
        )
        out.append("")
    return out


def _ethical_considerations(view: dict[str, Any]) -> list[str]:
    fairness, privacy = view["fairness"], view["privacy"]
    out = ["## Ethical considerations", ""]
    if privacy["present"]:
        out.append(f"Personal-data scan: {privacy['count']} finding(s).")
        out.append("")
        out += md_table(privacy["findings"]["columns"], privacy["findings"]["rows"])
    else:
        out.append("No personal-data scan was run.")
    if fairness["present"]:
        failed = failed_checks(fairness)
        out.append(
            f"Fairness limits: {outcome(fairness['passed'])}"
            + (f" ({md(', '.join(failed))})" if failed else "")
            + ". Sensitive columns kept out of the features: "
            + md(view["features"]["sensitive_out"])
            + "."
        )
    out += [""]
    out += [
        f"- {md(item['name'])}: {md(item['status'])} ({md(item['detail'])})"
        for item in view["compliance"]
    ]
    return out


def _caveats(view: dict[str, Any]) -> list[str]:
    metrics, fairness = view["metrics"], view["fairness"]
    out = ["", "## Caveats and recommendations", ""]
    caveats = [md(w) for w in view["glance"]["warnings"]]
    caveats += (
        [md(row[2]) for row in view["eda"]["warnings"]["rows"]] if view["eda"]["present"] else []
    )
    caveats += [
        f"Success criterion not met: {md(c['metric'])}"
        for c in metrics.get("criteria", [])
        if not c["passed"]
    ]
    if fairness.get("failed"):
        caveats.append(
            f"{len(fairness['failed'])} fairness check(s) are confirmed to break their limit "
            "(see Quantitative analyses): investigate the groups before relying on the model "
            "for them."
        )
    if fairness.get("unconfirmed"):
        caveats.append(
            f"{len(fairness['unconfirmed'])} fairness check(s) cannot be confirmed either way "
            "at this sample size: the gap's interval crosses the limit; judge them on more rows."
        )
    caveats += [
        f"{md(item['name'])}: not run for this model"
        for item in view["compliance"]
        if item["status"] == "not run"
    ]
    caveats.append(
        "Figures hold for data like the training data; monitor drift and re-evaluate "
        "before relying on the model for other data."
    )
    out += [f"- {c}" for c in caveats]
    return out


def write_model_card(run_dir: Path | str, view: dict[str, Any] | None = None) -> Path:
    """Write `model_card.md` into the run folder."""
    folder = check_run_dir(run_dir)
    target = folder / MODEL_CARD_FILE
    write_text(target, render_model_card(view if view is not None else collect(folder)))
    return target
