"""The name mlconf is installed under. `mlconf` on the package index is an unrelated
project, so the distribution is `mlconf-tabular`; the import and the command stay `mlconf`.
Every install hint and version lookup goes through here, so none can name the wrong one."""

from __future__ import annotations

DISTRIBUTION = "mlconf-tabular"

# Packages whose import is installed by another distribution on some machines: mlconf
# depends on `xgboost-cpu` on Linux and Windows (the same `xgboost` import and release line,
# without 469 MB of GPU libraries), and on `xgboost` elsewhere or with the `gpu` extra.
VARIANTS = {"xgboost": ("xgboost", "xgboost-cpu")}


def installed_version() -> str:
    """The installed mlconf's version, or "unknown" when run from a bare source tree."""
    return package_version(DISTRIBUTION) or "unknown"


def package_version(name: str) -> str | None:
    """The installed version of `name`, whichever of its variants provides it (the full
    `xgboost` wins over `xgboost-cpu` when both are there), or None when none is."""
    from importlib import metadata

    for distribution in VARIANTS.get(name, (name,)):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return None


def install_hint(extra: str | None = None, *, upgrade: bool = False) -> str:
    """The pip command that installs mlconf (with `extra`), quoted for a shell."""
    target = f"{DISTRIBUTION}[{extra}]" if extra else DISTRIBUTION
    return f"pip install {'-U ' if upgrade else ''}'{target}'"
