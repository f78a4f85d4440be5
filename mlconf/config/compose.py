"""Composing a command's config through Hydra from the package's groups and the project's conf/,
the way the command line does: shared by the CLI, the Python API and the monitor."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    from omegaconf import DictConfig


def compose(
    command: str = "train",
    overrides: Sequence[str] = (),
    config_dir: str | Path | None = None,
) -> DictConfig:
    """The composed config of `mlconf <command> <overrides>`, as the CLI would build it
    (short forms such as `model=cars@production` for serve and predict included).

    `config_dir` adds a project's conf/ folder to the search path (default: ./conf when it
    exists); the package's own groups are always there. Errors are MlconfErrors naming the
    override or file, as on the command line.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from mlconf.config import SCHEMAS, store_schemas
    from mlconf.config.aliases import expand
    from mlconf.config.command_line import check_overrides, open_free_form
    from mlconf.config.compose_errors import translate
    from mlconf.config.dict_overrides import install
    from mlconf.core.paths import PROJECT_CONF, conf_dir, project_conf

    if command not in SCHEMAS:
        from mlconf.core.errors import did_you_mean

        raise MlconfError(
            f"unknown command '{command}'.{did_you_mean(command, SCHEMAS)}",
            where="compose(command=...)",
            fix=f"use one of: {', '.join(SCHEMAS)}",
        )
    store_schemas()
    install()
    args = expand(command, list(overrides))
    project = Path(config_dir) if config_dir is not None else None
    if project is not None and not project.is_dir():
        raise MlconfError(
            f"config folder '{project}' does not exist",
            where="compose(config_dir=...)",
            fix="pass the folder that holds your data/, problem/, experiment/ ... groups",
        )
    check_overrides(args)
    # Inside a Hydra app (the user's own, or an mlconf command) Hydra's global state is in
    # use: it is set aside for this composition and put back afterwards.
    outer = GlobalHydra.instance().hydra
    GlobalHydra.instance().clear()
    PROJECT_CONF.append(project.resolve() if project is not None else Path.cwd() / "conf")
    folders = [conf_dir(), *filter(None, [project_conf()])]
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return hydra_compose(config_name=command, overrides=open_free_form(args))
    except Exception as exc:
        translated = translate(exc, folders, command)
        if translated is None:
            raise
        raise translated from exc
    finally:
        PROJECT_CONF.pop()
        GlobalHydra.instance().clear()
        if outer is not None:
            GlobalHydra.instance().initialize(outer)


def schema_node() -> Any:
    """TrainConfig as an OmegaConf node (what `typed` merges a config onto): the one
    `store_schemas` registered, instead of converting the dataclass tree a second time.
    Hydra copies the stored node on every load and a merge copies it too, so it is never
    changed. A project that stored a `base_train` of its own gets TrainConfig's."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    from mlconf.config import TrainConfig, store_schemas

    store_schemas()
    stored = ConfigStore.instance().repo["base_train.yaml"].node
    if OmegaConf.get_type(stored) is TrainConfig:
        return stored
    return _own_schema()


@functools.cache
def _own_schema() -> Any:
    from omegaconf import OmegaConf

    from mlconf.config import TrainConfig

    return OmegaConf.structured(TrainConfig)
