"""The name mlconf is installed under. `mlconf` on the package index is an unrelated
project, so the distribution is `mlconf-tabular`; the import and the command stay `mlconf`.
Every install hint and version lookup goes through here, so none can name the wrong one."""

from __future__ import annotations

DISTRIBUTION = "mlconf-tabular"


def installed_version() -> str:
    """The installed mlconf's version, or "unknown" when run from a bare source tree."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def install_hint(extra: str | None = None, *, upgrade: bool = False) -> str:
    """The pip command that installs mlconf (with `extra`), quoted for a shell."""
    target = f"{DISTRIBUTION}[{extra}]" if extra else DISTRIBUTION
    return f"pip install {'-U ' if upgrade else ''}'{target}'"
