"""Where mlconf's own config lives: inside the installed package, or beside it in a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # mlconf/, above core/


def conf_dir() -> Path:
    """The packaged `mlconf/conf` of a wheel, else the checkout's top-level `conf/`."""
    for candidate in (PACKAGE_DIR / "conf", PACKAGE_DIR.parent / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"mlconf's config folder is missing beside {PACKAGE_DIR}")


# Set by mlconf.compose(config_dir=...); else the working folder's ./conf is the project's.
PROJECT_CONF: list[Path] = []


def project_conf() -> Path | None:
    """The project's conf/ folder, when there is one and it is not mlconf's own."""
    folder = PROJECT_CONF[-1] if PROJECT_CONF else Path.cwd() / "conf"
    if not folder.is_dir() or folder.resolve() == conf_dir().resolve():
        return None
    return folder.resolve()
