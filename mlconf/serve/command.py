"""`mlconf serve model=REF [port=N] [host=...] [KEY=VALUE ...]`: settings, then uvicorn.

Settings start from `deploy.serve` and `deploy.registry_url` of the project's
`conf/deploy/default.yaml` (when run in a project folder) or the built-in defaults, and
any `KEY=VALUE` overrides them: `port=8080`, `serve.max_records=100`,
`deploy.serve.api_key_env=MY_KEY`, `registry_url=postgresql://...`.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from pathlib import Path
from typing import Any

from mlconf.config import ServeConfig
from mlconf.errors import MlconfError, did_you_mean

USAGE = """\
usage: mlconf serve model=REF [port=N] [host=ADDR] [KEY=VALUE ...]

Start the REST service for one model: POST /predict, /explain, /feedback, /admin/reload;
GET /health, /ready, /metrics, /model; OpenAPI docs at /docs.

  model=REF          a run's model folder (experiments/<name>/runs/<run>/model), or a
                     registry ref NAME@ALIAS, NAME:VERSION or NAME
  registry_url=URL   the registry and prediction-log database (deploy.registry_url)
  any deploy.serve key: host, port, workers, max_body_bytes, max_records, api_key_env,
                     reload_interval, extra_fields (ignore|reject), log_predictions,
                     log_queue_size (also as serve.KEY or deploy.serve.KEY)

example:
  mlconf serve model=breast_cancer@production port=8080
"""


def _serve_keys() -> list[str]:
    return [f.name for f in fields(ServeConfig)]


def parse(args: list[str], project: Path | None = None) -> tuple[str, str, ServeConfig]:
    """(model ref, registry URL, serve settings) from KEY=VALUE args over the config."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from mlconf.config import DeployConfig

    base = OmegaConf.structured(DeployConfig)
    project_file = (project or Path.cwd()) / "conf" / "deploy" / "default.yaml"
    if project_file.is_file():
        from mlconf.preflight import check_yaml_file

        check_yaml_file(project_file)
        try:
            base = OmegaConf.merge(base, OmegaConf.load(project_file))
        except OmegaConfBaseException as exc:
            raise MlconfError(f"invalid deploy config: {exc}", where=str(project_file)) from exc
    model = None
    dotlist = []
    known = ["model", "registry_url", *_serve_keys()]
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise MlconfError(
                f"'{arg}' is not KEY=VALUE", fix="e.g. mlconf serve model=NAME@production"
            )
        key = key.removeprefix("deploy.").removeprefix("serve.")
        if key == "model":
            model = value
        elif key == "registry_url":
            dotlist.append(f"registry_url={value}")
        elif key in _serve_keys():
            dotlist.append(f"serve.{key}={value}")
        else:
            raise MlconfError(
                f"unknown setting '{key}'.{did_you_mean(key, known)}",
                fix=f"use one of: {', '.join(known)}",
            )
    if not model:
        raise MlconfError("no model given", fix="mlconf serve model=NAME@production")
    try:
        merged: Any = OmegaConf.merge(base, OmegaConf.from_dotlist(dotlist))
        settings = ServeConfig(**OmegaConf.to_container(merged.serve))  # type: ignore[arg-type]
        registry_url = str(merged.registry_url)
    except OmegaConfBaseException as exc:
        full_key = getattr(exc, "full_key", None)
        raise MlconfError(
            f"invalid serve setting: {exc}".splitlines()[0],
            where=f"deploy.{full_key}" if full_key else None,
            fix="see `mlconf serve --help` for the settings",
        ) from exc
    check(settings)
    return model, registry_url, settings


def check(settings: ServeConfig) -> None:
    """Settings that would make the service misbehave, refused up front."""
    from mlconf.serve.schema import EXTRA_FIELDS

    if settings.extra_fields not in EXTRA_FIELDS:
        raise MlconfError(
            f"extra_fields is '{settings.extra_fields}'",
            where="deploy.serve.extra_fields",
            fix=f"use one of: {', '.join(EXTRA_FIELDS)}",
        )
    if settings.workers != 1:
        raise MlconfError(
            f"workers={settings.workers}: one `mlconf serve` process serves with one worker "
            "(each worker would load its own model, metrics and reload timer)",
            where="deploy.serve.workers",
            fix="set workers=1 and run several processes or containers behind a load balancer",
        )
    for key in ("max_body_bytes", "max_records", "log_queue_size"):
        if getattr(settings, key) < 1:
            raise MlconfError(f"{key} must be at least 1", where=f"deploy.serve.{key}")
    if not 0 <= settings.port <= 65535:
        raise MlconfError(f"port {settings.port} is out of range", where="deploy.serve.port")
    if settings.reload_interval is not None and settings.reload_interval < 0:
        raise MlconfError("reload_interval must be >= 0 (0 or null: off)", where="deploy.serve")


def main(args: list[str]) -> int:
    if any(a in ("-h", "--help", "help") for a in args):
        import sys

        sys.stdout.write(USAGE)
        return 0
    model, registry_url, settings = parse(args)
    try:
        import uvicorn
    except ImportError as exc:
        raise MlconfError(
            "serving needs fastapi and uvicorn", fix="pip install 'mlconf[serve]'"
        ) from exc
    from mlconf.serve.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app = create_app(model, settings, registry_url)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False)
    return 0
