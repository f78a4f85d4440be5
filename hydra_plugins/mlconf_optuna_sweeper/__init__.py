"""Hydra discovers sweepers in the `hydra_plugins` namespace; the code lives in mlconf."""

from mlconf.cli.optuna_sweeper import OptunaSweeper


class MlconfOptunaSweeper(OptunaSweeper):
    """`hydra/sweeper=mlconf_optuna` (Hydra requires the class to live in hydra_plugins)."""


__all__ = ["MlconfOptunaSweeper"]
