"""Register: the saved model becomes a new version in the model registry, if it earned it.

Runs last. A run whose success criteria pass (no criteria counts as a pass) and whose model
beats the dummy baseline (on the primary metric, and on expected cost where costs are given)
is registered under `deploy.model_name` with the alias `deploy.register.alias`; any other
run is recorded and skipped, saying why, unless `deploy.register.force`.
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
    shortfalls = _baseline_shortfalls(ctx)
    passed = not failed and not shortfalls
    if not passed and not options.force:
        ctx.count("registered", None)
        force = "set deploy.register.force=true to register it anyway (recorded as forced)"
        if failed:
            ctx.warn(f"not registered: success criteria not met ({', '.join(failed)}); {force}")
        for reason in shortfalls:
            ctx.warn(f"not registered: {reason}; {force}")
        return
    registry = ModelRegistry(deploy.registry_url)
    version = registry.register(
        deploy.model_name,
        ctx.run_dir,
        ctx.model_dir,
        alias=options.alias or None,
        forced=not passed,
        metrics=_summary(metrics),
        criteria_passed=not failed,
    )
    ref = f"{version.name}:{version.version}"
    ctx.count("registered", {"ref": ref, "alias": options.alias or None, "forced": not passed})
    if not passed:
        why = ", ".join(failed + shortfalls)
        ctx.warn(f"registered {ref} although criteria failed ({why}): forced")
    alias = f" as {version.name}@{options.alias}" if options.alias else ""
    ctx.console.print(f"registered {ref}{alias} in {registry.where}", soft_wrap=True)


def _baseline_shortfalls(ctx: RunState) -> list[str]:
    from mlconf.core.component_registry import get
    from mlconf.ml.baseline_gate import baseline_shortfalls

    metrics = ctx.metrics
    if not metrics:
        return []
    primary = get("metric", ctx.conf.problem.primary_metric)
    return baseline_shortfalls(metrics, primary.meta.get("greater_is_better", True))


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
