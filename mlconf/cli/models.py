"""`mlconf models list|show|promote|rollback|archive|export`: the registry from the shell."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from mlconf.store.model_registry import ModelRegistry, ModelVersion

DESCRIPTION = """\
Manage the model registry: every `mlconf train` whose success criteria pass adds a
version with the alias `candidate`; `production` is just another alias, moved by promote
and rollback (each recorded in the audit table with who and when)."""


def default_registry_url(overrides: list[str]) -> str:
    """deploy.registry_url of the composed config: the project's ./conf, local/ and any
    overrides (`experiment=cars`, `deploy.registry_url=...`) apply as for train."""
    from mlconf.config.compose import compose

    return str(compose("train", overrides).deploy.registry_url)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--registry-url",
        default=None,
        help="SQLAlchemy URL of the registry (default: deploy.registry_url of the composed "
        "config; config overrides such as experiment=cars may follow the action)",
    )
    actor = argparse.ArgumentParser(add_help=False)
    actor.add_argument("--actor", help="who to record in the audit table (default: $USER)")
    main = argparse.ArgumentParser(prog="mlconf models", description=DESCRIPTION)
    sub = main.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("list", parents=[common], help="versions of every model, or of NAME")
    p.add_argument("name", nargs="?")
    p = sub.add_parser("show", parents=[common], help="one version in detail, with its history")
    p.add_argument("name")
    p.add_argument("version", nargs="?", help="a number or an alias (default: the latest)")
    p = sub.add_parser("promote", parents=[common, actor], help="point NAME@ALIAS at VERSION")
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.add_argument("alias")
    p = sub.add_parser(
        "rollback", parents=[common, actor], help="move NAME@ALIAS back to its previous version"
    )
    p.add_argument("name")
    p.add_argument("alias")
    p = sub.add_parser("archive", parents=[common, actor], help="retire a version")
    p.add_argument("name")
    p.add_argument("version", type=int)
    p = sub.add_parser(
        "lineage",
        parents=[common],
        help="the chain of versions: run, data, parent, why each was retrained and promoted",
    )
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print the lineage as JSON")
    p = sub.add_parser(
        "export",
        parents=[common],
        help="write a version into DIR: a self-contained bundle, an MLflow model or ONNX",
    )
    p.add_argument("name", metavar="NAME[@ALIAS|:VERSION]")
    p.add_argument("rest", nargs="*", metavar="[VERSION] [DIR]")
    p.add_argument(
        "--format",
        choices=("bundle", "mlflow", "onnx"),
        default="bundle",
        help="bundle (default): the model folder, schema, pinned requirements; mlflow: a "
        "pyfunc model for mlflow.pyfunc.load_model; onnx: model.onnx, checked at export",
    )
    p.add_argument(
        "--max-disagreement",
        type=float,
        default=0.01,
        help="onnx: the share of reference rows allowed another label (float32 rounding "
        "at tree splits; default 0.01)",
    )
    return main


def main(rest: list[str]) -> int:
    from rich.console import Console

    from mlconf.store.model_registry import ModelRegistry

    # KEY=VALUE words are config overrides (experiment=cars, deploy.registry_url=...).
    overrides = [a for a in rest if "=" in a and not a.startswith("-")]
    ns = parser().parse_args([a for a in rest if a not in overrides])
    registry = ModelRegistry(ns.registry_url or default_registry_url(overrides))
    console = Console(width=max(120, Console().width))
    if ns.action == "list":
        _list(console, registry.versions(ns.name), registry)
    elif ns.action == "show":
        _show(console, registry, ns.name, ns.version)
    elif ns.action == "promote":
        registry.promote(ns.name, ns.version, ns.alias, actor=ns.actor)
        console.print(f"{ns.name}@{ns.alias} -> version {ns.version}")
    elif ns.action == "rollback":
        found = registry.rollback(ns.name, ns.alias, actor=ns.actor)
        console.print(f"{ns.name}@{ns.alias} rolled back -> version {found.version}")
    elif ns.action == "archive":
        registry.archive(ns.name, ns.version, actor=ns.actor)
        console.print(f"{ns.name}:{ns.version} archived")
    elif ns.action == "lineage":
        _lineage(console, registry, ns.name, as_json=ns.json)
    elif ns.action == "export":
        _export(console, registry, ns)
    return 0


def _export(console: Console, registry: ModelRegistry, ns: argparse.Namespace) -> None:
    """`export NAME VERSION [DIR]` or `export NAME@ALIAS|NAME:VERSION|NAME [DIR]`."""
    from mlconf.core.errors import MlconfError
    from mlconf.deploy.export import export_model

    ref, rest = ns.name, list(ns.rest)
    if rest and rest[0].isdigit() and not any(c in ref for c in "@:"):
        ref, rest = f"{ref}:{rest.pop(0)}", rest
    if len(rest) > 1:
        raise MlconfError(
            f"too many arguments: {' '.join(ns.rest)}",
            where="mlconf models export",
            fix="give NAME VERSION DIR, or NAME@ALIAS DIR (DIR is optional)",
        )
    target = Path(rest[0]) if rest else None
    found, folder = export_model(registry, ref, target, ns.format, ns.max_disagreement)
    console.print(f"exported {found.name}:{found.version} to {folder}", soft_wrap=True)
    hints = {
        "bundle": f"serve it: cd {folder} && mlconf serve model=./model",
        "mlflow": f"load it: mlflow.pyfunc.load_model('{folder}')",
        "onnx": f"run it: onnxruntime.InferenceSession('{folder}/model.onnx'); inputs in "
        f"{folder}/onnx.json",
    }
    console.print(hints[ns.format], soft_wrap=True)


def _primary(version: ModelVersion) -> str:
    metric = version.metrics.get("primary_metric")
    value = version.metrics.get("test", {}).get(metric) if metric else None
    return f"{metric} {value:.4g}" if isinstance(value, (int, float)) else "-"


def estimator(version: ModelVersion, most: int | None = None) -> str:
    """The version's model and its set parameters, from its manifest: `knn (n_neighbors=3)`;
    `most` caps how many parameters are named (a listing stays one short line)."""
    from mlconf.core.errors import MlconfError
    from mlconf.store.artifacts import read_manifest

    try:
        model = read_manifest(version.model_dir).get("model") or {}
    except MlconfError:
        return "- (model folder gone)"
    params = [f"{k}={v}" for k, v in (model.get("params") or {}).items() if v is not None]
    shown = params if most is None else params[:most]
    more = f", +{len(params) - len(shown)} more" if len(params) > len(shown) else ""
    name = str(model.get("name") or "-")
    return f"{name} ({', '.join(shown)}{more})" if params else name


def _criteria(version: ModelVersion) -> str:
    if version.forced:
        return "[red]failed, forced[/]"
    return {True: "[green]passed[/]", False: "[red]failed[/]", None: "-"}[version.criteria_passed]


def _list(console: Console, versions: list[ModelVersion], registry: ModelRegistry) -> None:
    from rich.table import Table

    table = Table(title=f"model registry {registry.where}")
    columns = ("name", "version", "aliases", "status", "model", "test", "criteria", "created")
    for column in (*columns, "run"):
        table.add_column(column, overflow="fold")
    for v in versions:
        table.add_row(
            v.name,
            str(v.version),
            ", ".join(v.aliases),
            v.status,
            estimator(v, most=3),
            _primary(v),
            _criteria(v),
            v.created_at,
            str(v.run_dir),
        )
    console.print(table)
    if not versions:
        console.print("no versions yet: `mlconf train` registers one")


def _show(console: Console, registry: ModelRegistry, name: str, which: str | None) -> None:
    from rich.table import Table

    ref = name if which is None else f"{name}:{which}" if which.isdigit() else f"{name}@{which}"
    v = registry.resolve(ref)
    facts = Table(title=f"{v.name} version {v.version}", show_header=False)
    facts.add_column("field", style="bold")
    facts.add_column("value", overflow="fold")
    rows: list[tuple[str, Any]] = [
        ("aliases", ", ".join(v.aliases) or "-"),
        ("status", v.status),
        ("model", estimator(v)),
        ("success criteria", _criteria(v)),
        ("created", v.created_at),
        ("parent version", v.parent_version or "-"),
        ("pipeline sha256", v.sha256),
        ("model folder", v.model_dir),
        ("run folder", v.run_dir),
        ("task / target", f"{v.schema.get('task')} / {v.schema.get('target')}"),
        ("input columns", ", ".join(map(str, v.schema.get("input_columns") or []))),
    ]
    for part in ("validation", "test"):
        scores = v.metrics.get(part) or {}
        rows.append((f"{part} metrics", ", ".join(f"{k} {x:.4g}" for k, x in _numbers(scores))))
    for source, fp in v.fingerprints.items():
        rows.append((f"data {source}", f"sha256 {str(fp.get('sha256', ''))[:16]}..."))
    for field, value in rows:
        facts.add_row(field, str(value))
    console.print(facts)
    history = Table(title=f"audit of {v.name}")
    for column in ("when", "who", "action", "alias", "from", "to"):
        history.add_column(column)
    for e in registry.audit(v.name)[-20:]:
        history.add_row(
            e["at"],
            e["who"],
            e["action"],
            e["alias"] or "",
            *(str(e[k]) if e[k] is not None else "-" for k in ("from_version", "to_version")),
        )
    console.print(history)


def _lineage(console: Console, registry: ModelRegistry, name: str, *, as_json: bool) -> None:
    from rich.tree import Tree

    from mlconf.core.strict_json import dumps
    from mlconf.monitoring.lineage import lineage

    chain = lineage(registry, name)
    if as_json:
        print(dumps(chain, indent=2))
        return
    tree = Tree(f"[bold]{name}[/] in {registry.where}")
    for v in chain:
        score = v["test"]
        metric = f"{v['primary_metric']} {score:.4g}" if isinstance(score, (int, float)) else "-"
        aliases = f" [green]@{', @'.join(v['aliases'])}[/]" if v["aliases"] else ""
        branch = tree.add(
            f"[bold]version {v['version']}[/]{aliases}  parent {v['parent'] or '-'}  "
            f"{v['status']}  test {metric}  {v['created_at']}"
        )
        branch.add(f"run {v['run_dir']}")
        for source, digest in v["fingerprints"].items():
            branch.add(f"data {source}: sha256 {digest}...")
        for e in v["events"]:
            branch.add(f"{e['at']} {e['who']}: {e['role']} {e['text']}")
    console.print(tree, soft_wrap=True)
    if not chain:
        console.print("no versions yet")


def _numbers(scores: dict[str, Any]) -> list[tuple[str, float]]:
    return [(k, float(x)) for k, x in scores.items() if isinstance(x, (int, float))]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
