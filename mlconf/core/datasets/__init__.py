"""Datasets shipped inside mlconf, so that the presets run offline on a fresh machine."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

EMBEDDED = ("cars",)


def embedded_path(name: str) -> Path:
    """The file of an embedded dataset inside the installed package."""
    return Path(str(resources.files("mlconf.core.datasets").joinpath(f"{name}.csv")))
