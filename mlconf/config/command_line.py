"""Checks before Hydra composes: config files and overrides, reported as one paragraph.

Hydra prints a traceback for a YAML syntax error and quotes only the broken token of
an override; YAML itself keeps the last of two duplicate keys without a word. Checking
first lets every such mistake name its file, line or override.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from mlconf.core.errors import MlconfError

# Free-form mappings: a key their YAML does not list may be added from the command line.
FREE_FORM_PREFIXES = (
    "model.params.",
    "problem.costs.",
    "problem.costs=",
    "tune.sampler_params.",
    "tune.sampler_params=",
    "tune.pruner_params.",
    "tune.pruner_params=",
    "privacy.columns.",
)
# Hydra's flags that take the next argument as their value (`--cfg job`).
VALUE_FLAGS = {
    "--cfg": None,
    "-c": None,
    "--package": None,
    "-p": None,
    "--config-path": None,
    "-cp": None,
    "--config-name": None,
    "-cn": None,
    "--config-dir": None,
    "-cd": None,
    "--experimental-rerun": None,
    "--info": {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"},
    "-i": {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"},
}


def override_positions(args: list[str]) -> list[int]:
    """Indices of the overrides among Hydra's command-line arguments (flags left out)."""
    positions = []
    skip_next = False
    for i, arg in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        if arg.startswith("-"):
            if arg in VALUE_FLAGS:
                choices = VALUE_FLAGS[arg]
                nxt = args[i + 1] if i + 1 < len(args) else None
                skip_next = nxt is not None and (choices is None or nxt in choices)
            continue
        positions.append(i)
    return positions


def flags_first(args: list[str]) -> list[str]:
    """Hydra's flags (with their values) before the overrides, in the order typed.

    Hydra's argument parser takes overrides only after the last flag, so
    `mlconf train experiment=wine --cfg job` failed on an override mlconf had appended
    (the project's search path) that the user never typed.
    """
    positions = set(override_positions(args))
    flags = [a for i, a in enumerate(args) if i not in positions]
    return [*flags, *(args[i] for i in sorted(positions))]


@functools.cache
def _strict_loader() -> Any:
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """A SafeLoader that refuses a key given twice in one mapping."""

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                mark = key_node.start_mark
                raise MlconfError(
                    f"key '{key}' appears twice in one mapping (line {seen[key] + 1} and "
                    f"line {mark.line + 1}); YAML would silently keep only the last",
                    where=f"{mark.name}:{mark.line + 1}",
                    fix="keep one of them",
                )
            seen[key] = key_node.start_mark.line
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


def check_yaml_files(folders: list[Path]) -> None:
    """Parse every config file once; a syntax error or duplicate key names file and line."""
    for folder in folders:
        for path in sorted(folder.rglob("*.yaml")):
            check_yaml_file(path)


def check_yaml_file(path: Path) -> None:
    """Parse one config file; a syntax error, a tab, a duplicate key or bytes that are not
    UTF-8 text are an MlconfError naming the file and line."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MlconfError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            where=str(path),
            fix="save the file as UTF-8 YAML",
        ) from exc
    try:
        # S506: the loader is a yaml.SafeLoader subclass (see _strict_loader).
        yaml.load(text, Loader=_named(_strict_loader(), path))  # noqa: S506
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        hint = " (tabs are not allowed for indentation)" if "\t" in text else ""
        raise MlconfError(
            f"not valid YAML: {exc.problem}{hint}",
            where=f"{path}{line}",
            fix="indent with spaces and check the quoting on that line",
        ) from exc


def _named(loader: Any, path: Path) -> Any:
    """The loader class, with marks naming the file instead of '<unicode string>'."""

    class Named(loader):
        def __init__(self, stream: Any) -> None:
            super().__init__(stream)
            self.name = str(path)

    return Named


def check_overrides(args: list[str]) -> None:
    """Parse each override alone, so that an error says which one is broken."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    for arg in (args[i] for i in override_positions(args)):
        try:
            parser.parse_overrides([arg])
        except OverrideParseException as exc:
            raise MlconfError(
                f"override '{arg}' cannot be parsed: {str(exc).splitlines()[0]}",
                where="command line",
                fix="check brackets and quotes; quote the whole override for the shell, "
                "e.g. 'plugins=[my_module]'",
            ) from exc


def open_free_form(args: list[str]) -> list[str]:
    """`model.params.x=1` may add a parameter the model's YAML does not list (and
    `problem.costs.fp=1` an outcome cost: those keys are checked by mlconf.ml.framing;
    `privacy.columns.<column>=hash` a policy for a column, checked by the privacy stage).

    Params are checked against the estimator itself (with a suggestion on a typo), so
    the override is passed as `++` (add or replace) instead of failing at composition.
    """
    free = {i for i in override_positions(args) if args[i].startswith(FREE_FORM_PREFIXES)}
    return [f"++{a}" if i in free else a for i, a in enumerate(args)]


def searchpath_folders(args: list[str]) -> list[Path]:
    """The local folders named by `hydra.searchpath=[file://...]` overrides."""
    folders = []
    for arg in args:
        if arg.lstrip("+").startswith("hydra.searchpath="):
            folders += [Path(p) for p in re.findall(r"file://([^,\]\s'\"]+)", arg)]
    return [f for f in folders if f.is_dir()]
