"""mlconf installs under a name that is its own on the package index, and every install hint
names it; serving works after the plain install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from mlconf.core.distribution import DISTRIBUTION, install_hint

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# `pip install NAME[extra]`, quoted or not, wherever the project tells a user what to install
HINT = re.compile(r"pip install (?:-U |-e )?[\"'`]?([A-Za-z0-9_.-]+)\[")


def test_the_distribution_is_not_the_unrelated_mlconf_on_the_index() -> None:
    assert PROJECT["name"] == DISTRIBUTION != "mlconf"
    assert PROJECT["scripts"]["mlconf"].startswith("mlconf.")


def test_every_install_hint_with_an_extra_names_this_distribution() -> None:
    places = [ROOT / "README.md", *ROOT.glob("conf/**/*.yaml"), *ROOT.glob("mlconf/**/*.py")]
    wrong = [
        f"{path.relative_to(ROOT)}: pip install {name}[...]"
        for path in places
        for name in HINT.findall(path.read_text(encoding="utf-8"))
        if name not in (DISTRIBUTION, ".")
        and name not in ("psycopg", "flaml")  # third-party packages with extras
    ]
    assert wrong == []
    assert install_hint("scale") == f"pip install '{DISTRIBUTION}[scale]'"


def test_serving_needs_no_extra() -> None:
    base = " ".join(PROJECT["dependencies"])
    assert all(name in base for name in ("fastapi", "uvicorn", "httpx"))
