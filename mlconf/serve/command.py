"""`mlconf serve model=REF [port=N] [host=...] [KEY=VALUE ...]`: settings, then uvicorn.

Settings start from `deploy.serve` and `deploy.registry_url` of the project's
`conf/deploy/default.yaml` (when run in a project folder) or the built-in defaults, and
any `KEY=VALUE` overrides them: `port=8080`, `serve.max_records=100`,
`deploy.serve.api_key_env=MY_KEY`, `registry_url=postgresql://...`.
"""

from __future__ import annotations

from typing import Any

from mlconf.config import ServeConfig
from mlconf.core.distribution import install_hint
from mlconf.core.errors import MlconfError

USAGE = """\
usage: mlconf serve [model=REF] [port=N] [host=ADDR] [KEY=VALUE ...] [Hydra overrides]

Start the REST service for one model: POST /predict, /explain, /feedback, /admin/reload;
GET /health, /ready, /metrics, /model; MLflow's POST /invocations; the Open Inference
Protocol v2 under /v2; OpenAPI docs at /docs.

  model=REF          a run's model folder (experiments/<name>/runs/<run>/model), or a
                     registry ref NAME@ALIAS, NAME:VERSION or NAME
                     (default: <deploy.model_name>@production, e.g. with experiment=cars)
  registry_url=URL   the registry and prediction-log database (deploy.registry_url)
  any deploy.serve key: host, port, workers, max_body_bytes, max_records, api_key_env,
                     reload_interval, extra_fields (ignore|reject), log_predictions,
                     log_queue_size, batch_window_ms, batch_max_records
                     (also as serve.KEY or deploy.serve.KEY)

Any other config key is a Hydra override (experiment=cars, local=...); `--cfg job` prints
the composed config.

example:
  mlconf serve model=breast_cancer@production port=8080
  mlconf serve experiment=cars
"""


def settings_of(cfg: Any) -> tuple[str, str, ServeConfig]:
    """(model ref, registry URL, serve settings) of a composed config, checked."""
    from mlconf.runner import typed

    conf = typed(cfg)
    settings = conf.deploy.serve
    check(settings)
    model = settings.model or f"{conf.deploy.model_name}@production"
    return model, conf.deploy.registry_url, settings


def check(settings: ServeConfig) -> None:
    """Settings that would make the service misbehave, refused up front."""
    from mlconf.serve.schema import EXTRA_FIELDS

    if settings.extra_fields not in EXTRA_FIELDS:
        raise MlconfError(
            f"extra_fields is '{settings.extra_fields}'",
            where="deploy.serve.extra_fields",
            fix=f"use one of: {', '.join(EXTRA_FIELDS)}",
        )
    if settings.workers < 1:
        raise MlconfError(
            f"workers={settings.workers}: at least one worker process serves",
            where="deploy.serve.workers",
            fix="set workers=1, or the number of processes to serve with (e.g. the CPU count)",
        )
    for key in ("max_body_bytes", "max_records", "log_queue_size", "batch_max_records"):
        if getattr(settings, key) < 1:
            raise MlconfError(f"{key} must be at least 1", where=f"deploy.serve.{key}")
    if not 0 <= settings.port <= 65535:
        raise MlconfError(f"port {settings.port} is out of range", where="deploy.serve.port")
    if not settings.batch_window_ms >= 0:
        raise MlconfError(
            f"batch_window_ms is {settings.batch_window_ms}",
            where="deploy.serve.batch_window_ms",
            fix="set 0 (no micro-batching) or a few milliseconds, e.g. 1",
        )
    if settings.reload_interval is not None and settings.reload_interval < 0:
        raise MlconfError("reload_interval must be >= 0 (0 or null: off)", where="deploy.serve")


def serve_job(cfg: Any) -> int:
    """`mlconf serve`: the composed config's deploy.serve settings, under uvicorn."""
    model, registry_url, settings = settings_of(cfg)
    try:
        import uvicorn
    except ImportError as exc:
        raise MlconfError(
            "serving needs fastapi and uvicorn", fix=install_hint(upgrade=True)
        ) from exc
    from mlconf.serve.app import create_app
    from mlconf.serve.service_log import configure_service_logging

    configure_service_logging()
    if settings.workers > 1:
        from mlconf.serve.workers import serve_workers

        serve_workers(model, registry_url, settings)
        return 0
    app = create_app(model, settings, registry_url)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False)
    return 0
