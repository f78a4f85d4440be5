"""Register: the saved model becomes a new version in the model registry, if it earned it.

Runs last. A run whose success criteria pass (no criteria counts as a pass) is
registered under `deploy.model_name` with the alias `deploy.register.alias`; a run
that fails a criterion is recorded and skipped unless `deploy.register.force`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlconf.run_state import RunState


def register(ctx: RunState) -> None:
    from mlconf.store.model_registry import ModelRegistry

    deploy = ctx.conf.deploy
    options = deploy.register
    if not options.enabled:
        ctx.count("registered", None)
        return
    metrics = ctx.metrics
    failed = [v["metric"] for v in metrics.get("success_criteria", []) if not v.get("passed")]
    if not metrics and ctx.conf.problem.success_criteria:
        failed = ["not evaluated: the evaluate stage did not run"]
    passed = not failed
    if not passed and not options.force:
        ctx.count("registered", None)
        ctx.warn(
            f"not registered: success criteria not met ({', '.join(failed)}); "
            "set deploy.register.force=true to register it anyway (recorded as forced)"
        )
        return
    registry = ModelRegistry(deploy.registry_url)
    version = registry.register(
        deploy.model_name,
        ctx.run_dir,
        ctx.model_dir,
        alias=options.alias or None,
        forced=not passed,
        metrics=_summary(metrics),
        criteria_passed=passed,
    )
    ref = f"{version.name}:{version.version}"
    ctx.count("registered", {"ref": ref, "alias": options.alias or None, "forced": not passed})
    if not passed:
        ctx.warn(f"registered {ref} although criteria failed ({', '.join(failed)}): forced")
    alias = f" as {version.name}@{options.alias}" if options.alias else ""
    ctx.console.print(f"registered {ref}{alias} in {registry.where}", soft_wrap=True)


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """What the registry keeps of metrics.json: the point estimates and the verdicts."""
    parts: dict[str, Any] = {
        part: {name: mv.get("value") for name, mv in metrics.get(part, {}).get("model", {}).items()}
        for part in ("validation", "test")
        if part in metrics
    }
    return {
        "primary_metric": metrics.get("primary_metric"),
        **parts,
        "success_criteria": [
            {key: v.get(key) for key in ("metric", "min", "max", "value", "passed")}
            for v in metrics.get("success_criteria", [])
        ],
    }
