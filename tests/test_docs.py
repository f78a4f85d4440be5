"""The documentation: the site builds strictly, the config reference lists every key the
schemas and the shipped YAML have, the tutorial notebook runs, and the README stays a
short front page whose two commands are the real ones."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import ROOT

from mlconf.config import TrainConfig

DOCS = ROOT / "docs"
README = ROOT / "README.md"
FIRST_COMMAND = "python3 -m venv .venv && . .venv/bin/activate && pip install . && mlconf train"
SECOND_COMMAND = (
    'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[test]" && pytest'
)


@pytest.fixture(scope="module")
def reference() -> str:
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return str(module.render())


def documented(reference: str) -> set[str]:
    """The keys in the reference's tables, and the groups its sections are about."""
    rows = re.findall(r"^\| `([^`]+)` \|", reference, flags=re.MULTILINE)
    return {*rows, *re.findall(r"^## `(\w+)`$", reference, flags=re.MULTILINE)}


def schema_keys(cls: type, prefix: str = "") -> list[str]:
    """Every dotted key of the schema, walked here independently of the generator."""
    keys = []
    hints = typing.get_type_hints(cls)
    for item in dataclasses.fields(cls):
        key = f"{prefix}{item.name}"
        keys.append(key)
        hint = hints[item.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if dataclasses.is_dataclass(hint):
            keys += schema_keys(typing.cast(type, hint), key + ".")
        elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(args[-1]):
            keys += schema_keys(args[-1], key + ".<name>.")
        elif typing.get_origin(hint) is list and args and dataclasses.is_dataclass(args[0]):
            keys += schema_keys(args[0], key + "[].")
        elif len(args) == 1 and dataclasses.is_dataclass(args[0]):
            keys += schema_keys(args[0], key + ".")
    return keys


def test_the_reference_lists_every_key_of_the_schemas(reference: str) -> None:
    keys = schema_keys(TrainConfig)
    assert len(keys) > 200
    assert sorted(set(keys) - documented(reference)) == []


def yaml_paths(value: Any, prefix: str) -> list[str]:
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            found += [path, *yaml_paths(inner, path)]
        return found
    if isinstance(value, list):
        return [
            p for item in value if isinstance(item, dict) for p in yaml_paths(item, prefix + "[]")
        ]
    return []


def covered(path: str, keys: set[str], free: set[str]) -> bool:
    """`path` from a YAML file is a documented key, with `<name>` standing for any name,
    or lies inside a documented free-form mapping (model params, search spaces, ...)."""
    parts_of = (key.split(".") for key in keys)
    keys = {".".join(parts[:n]) for parts in parts_of for n in range(1, len(parts) + 1)}
    done = ""
    for part in re.findall(r"[^.\[\]]+|\[\]", path):
        if part == "[]":
            step = done + "[]"
        else:
            step = next(
                (c for c in (f"{done}.{part}" if done else part, f"{done}.<name>") if c in keys),
                "",
            )
        if not step or step not in keys:
            return done in free
        done = step
    return True


def test_the_reference_covers_every_key_in_the_shipped_yaml(reference: str) -> None:
    keys = documented(reference)
    free = {
        m.group(1)
        for m in re.finditer(
            r"^\| `([^`]+)` \| ([^|]*(?:Any|dict\[)[^|]*) \|", reference, re.MULTILINE
        )
    }
    missing = []
    for path in sorted((ROOT / "conf").rglob("*.yaml")):
        group = path.parent.relative_to(ROOT / "conf").as_posix()
        if group.split("/")[0] in ("hydra", "local"):
            continue
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
        data.pop("defaults", None)
        data.pop("hydra", None)
        glob = "@package _global_" in text or group == "."
        for found in yaml_paths(data, "" if glob else group.replace("/", ".")):
            if not covered(found, keys, free):
                missing.append(f"{path.relative_to(ROOT)}: {found}")
    assert missing == []


@pytest.mark.slow
def test_the_tutorial_notebook_runs(tmp_path: Path) -> None:
    """docs/tutorial.ipynb executed in a fresh kernel, in an empty folder, as a user would."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    text = "\n".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "classification of target with xgboost" in text
    assert "split.test_sise" in text  # the mistake is named
    assert "succeeded in" in text and "proba_" in text
    assert list((tmp_path / "experiments" / "wine" / "runs").iterdir())


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """Every nav entry exists, every link and anchor resolves, the generated pages are in."""
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", **__import__("os").environ},
    )
    assert done.returncode == 0, done.stderr
    config_page = (site / "reference" / "config" / "index.html").read_text(encoding="utf-8")
    assert "monitoring.drift.correction" in config_page
    assert "mlconf.compose" in (site / "tutorial" / "index.html").read_text(encoding="utf-8")


def test_the_readme_is_a_short_front_page_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert FIRST_COMMAND in text and SECOND_COMMAND in text
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'pip install -q -e ".[test]"' in ci and "mkdocs build --strict" in ci
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).is_file(), link


def test_every_readme_section_that_moved_has_a_page() -> None:
    """The long README's sections live on in docs/: each heading is a page or a section."""
    headings = set()
    for page in DOCS.rglob("*.md"):
        headings |= set(re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE))
    moved = [
        "Your own data",
        "A given test set",
        "From Python or a notebook",
        "Framing the problem",
        "Model selection",
        "Tuning with Optuna",
        "Sweeping any config value with Optuna",
        "Scaling",
        "Distributed tuning on one PostgreSQL study",
        "Parallel sweeps",
        "A Dask cluster",
        "Exploring the data",
        "Privacy (PII)",
        "Writing a plugin",
        "What a run writes",
        "Interpreting a model",
        "Fairness",
        "The report",
        "The model registry",
        "Batch scoring",
        "Serving",
        "Monitoring",
        "The reference profile",
        "Monitoring: alerts and retraining",
        "Errors",
        "The groups at a glance",
        "Architecture",
        "Performance",
        "Tour",
    ]
    assert [h for h in moved if h not in headings] == []
