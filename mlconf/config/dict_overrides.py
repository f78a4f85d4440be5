"""A mapping given on the command line replaces the mapping in the config.

Hydra 1.3 merges a dict override into the existing dict, so `'problem.costs={}'` left the
costs in place without a word, and `'problem.costs={fp: 1}'` kept the other three costs.
Users write the whole mapping when they write one; mlconf makes it mean that. Only free
mappings (a `dict` in the schema) are replaced; a dataclass-typed section such as
`split={test_size: 0.3}` is still merged key by key, so its other keys keep their defaults.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def install() -> None:
    """Wrap Hydra's override step once per process (Hydra 1.3's config loader)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    original = ConfigLoaderImpl._apply_overrides_to_config

    def apply(overrides: list[Any], cfg: Any) -> None:
        original(overrides, cfg)
        for override in overrides:
            if not override.is_delete() and isinstance(override.value(), dict):
                replace_mapping(cfg, override.key_or_group, override.value())

    ConfigLoaderImpl._apply_overrides_to_config = staticmethod(apply)  # type: ignore[method-assign]


def replace_mapping(cfg: Any, key: str, value: dict[str, Any]) -> None:
    """Set a free mapping at `key` to exactly `value` (after Hydra merged it)."""
    from omegaconf import DictConfig, OmegaConf, open_dict

    parent_key, _, name = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    if not isinstance(parent, DictConfig):
        return
    node = parent._get_node(name)
    if not isinstance(node, DictConfig) or OmegaConf.get_type(node) is not dict:
        return
    with open_dict(node):
        for stale in [k for k in node if k not in value]:
            del node[stale]
