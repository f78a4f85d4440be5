"""Hydra discovers search-path plugins in the `hydra_plugins` namespace; the rule is mlconf's."""

from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
from hydra.plugins.search_path_plugin import SearchPathPlugin


class MlconfProjectConf(SearchPathPlugin):
    """A project's ./conf comes before mlconf's own config, so that its files win.

    `hydra.searchpath` only appends (a project's conf/deploy/default.yaml would lose to
    mlconf's); here the project's file of the same name replaces the built-in one, for
    every command alike.
    """

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        from mlconf.core.paths import project_conf

        folder = project_conf()
        if folder is not None:
            search_path.prepend(
                provider="mlconf-project",
                path=f"file://{folder}",
                anchor=SearchPathQuery(provider="main"),
            )


__all__ = ["MlconfProjectConf"]
