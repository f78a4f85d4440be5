"""mlconf installs under a name that is its own on the package index, and every install hint
names it; serving works after the plain install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from mlconf.core.distribution import DISTRIBUTION, install_hint

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# `pip install NAME[extra]`, quoted or not, wherever the project tells a user what to install
HINT = re.compile(r"pip install (?:-U |-e )?[\"'`]?([A-Za-z0-9_.-]+)\[")


def test_the_distribution_is_not_the_unrelated_mlconf_on_the_index() -> None:
    assert PROJECT["name"] == DISTRIBUTION != "mlconf"
    assert PROJECT["scripts"]["mlconf"].startswith("mlconf.")


def test_every_install_hint_with_an_extra_names_this_distribution() -> None:
    places = [
        ROOT / "README.md",
        *ROOT.glob("docs/**/*.md"),
        *ROOT.glob("conf/**/*.yaml"),
        *ROOT.glob("mlconf/**/*.py"),
    ]
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


def _requirements(names: list[str], platform: str) -> set[str]:
    from packaging.requirements import Requirement

    found = set()
    for line in names:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or marker.evaluate({"sys_platform": platform, "extra": ""}):
            found.add(requirement.name)
    return found


def test_a_cpu_machine_gets_xgboost_without_its_gpu_libraries() -> None:
    """Linux and Windows install xgboost-cpu (no 469 MB of NCCL), other platforms the one
    xgboost wheel they have; GPUs are the `gpu` extra. One of the two, never both."""
    dependencies = PROJECT["dependencies"]
    for platform in ("linux", "win32"):
        found = _requirements(dependencies, platform)
        assert "xgboost-cpu" in found and "xgboost" not in found, platform
    found = _requirements(dependencies, "darwin")
    assert "xgboost" in found and "xgboost-cpu" not in found
    assert _requirements(PROJECT["optional-dependencies"]["gpu"], "linux") == {"xgboost"}


def test_version_lookups_find_a_package_installed_by_its_variant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run.json records the xgboost version although `xgboost-cpu` installed the import."""
    import sys

    from mlconf.core import distribution
    from mlconf.store.runs import package_versions

    info = tmp_path / "mlconf_probe_cpu-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: mlconf-probe-cpu\nVersion: 1.2.3\n", encoding="utf-8"
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.setitem(distribution.VARIANTS, "mlconf-probe", ("mlconf-probe", "mlconf-probe-cpu"))
    assert distribution.package_version("mlconf-probe") == "1.2.3"
    assert distribution.package_version("mlconf-probe-absent") is None
    # the real one: whichever xgboost wheel this machine has, run.json names its version
    import xgboost

    assert package_versions()["xgboost"] == xgboost.__version__
