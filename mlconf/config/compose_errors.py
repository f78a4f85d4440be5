"""Hydra's composition errors, retold as mlconf's one paragraph: what, where, how to fix.

Hydra's own messages suggest `+key=value` for a misspelled key (which would add the typo
to the config), list forty options without saying which one was meant, and do not name
the file of a YAML error at all. mlconf lets Hydra raise (instead of printing and exiting)
and translates what it raised here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mlconf.core.errors import MlconfError, did_you_mean

_MISSING = re.compile(r"Could not find '(?P<group>[^']+)/(?P<option>[^'/]+)'")
_WRONG_TYPE = re.compile(
    r"Value (?P<value>'.*') (?:of type '\w+' could not be converted to|is not a valid) "
    r"(?P<type>\w+)"
)
_TYPE_WORDS = {
    "Integer": "a whole number",
    "Float": "a number",
    "bool": "true or false",
    "Boolean": "true or false",
}
_IN_FILE = re.compile(r"In '(?P<file>[^']+)':")
_NO_PACKAGE = re.compile(r"In '(?P<file>experiment/[^']+)': Could not override")


def translate(exc: BaseException, folders: list[Path], command: str) -> MlconfError | None:
    """The MlconfError that explains a composition failure of `mlconf <command>`, or None
    if it is not one."""
    import yaml
    from hydra.errors import ConfigCompositionException, MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(exc, yaml.YAMLError | UnicodeDecodeError):
        return _broken_yaml(exc, folders)
    if isinstance(exc, MissingConfigException):
        return _unknown_option(exc)
    if isinstance(exc, ConfigCompositionException | OmegaConfBaseException):
        return _bad_key(exc, command)
    return None


def _broken_yaml(exc: BaseException, folders: list[Path]) -> MlconfError:
    """Hydra reads config files from streams, so its YAML error names no file: find it."""
    from mlconf.config.command_line import check_yaml_file

    broken: list[MlconfError] = []
    for folder in folders:
        for path in sorted(folder.rglob("*.yaml")):
            try:
                check_yaml_file(path)
            except MlconfError as error:
                broken.append(error)
    mark = getattr(exc, "problem_mark", None)
    for candidate in broken:
        if mark is not None and f":{mark.line + 1}:" in (candidate.where or ""):
            return candidate
    if broken:
        return broken[0]
    return MlconfError(
        f"a config file is not valid YAML: {getattr(exc, 'problem', exc)}",
        where="config files",
        fix="indent with spaces and check the quoting",
    )


def _unknown_option(exc: Any) -> MlconfError:
    message = str(exc)
    match = _MISSING.search(message)
    options = [str(o) for o in (getattr(exc, "options", None) or [])]
    if match is None:
        return MlconfError(
            message.splitlines()[0],
            where="config",
            fix="check the config name and the folder it is looked up in",
        )
    group, option = match["group"], match["option"]
    fix = f"use one of: {', '.join(options)}" if options else f"add conf/{group}/{option}.yaml"
    if not (Path.cwd() / "conf").is_dir():
        fix += (
            f"; no ./conf folder in {Path.cwd()}: run mlconf from your project folder, or add "
            "hydra.searchpath=[file:///absolute/path/to/conf]"
        )
    return MlconfError(
        f"unknown {group} '{option}'.{did_you_mean(option, options)}",
        where=f"override {group}={option}",
        fix=fix,
    )


def _bad_key(exc: BaseException, command: str) -> MlconfError:
    from mlconf.config import SCHEMAS

    schema = SCHEMAS.get(command)
    message = str(exc).splitlines()[0]
    if _NO_PACKAGE.search(message):
        name = _NO_PACKAGE.search(message)["file"]  # type: ignore[index]
        return MlconfError(
            "an experiment file overrides other groups but is not global",
            where=f"{name}.yaml",
            fix="make `# @package _global_` its first line, so that its keys and "
            "`override /group: option` lines apply to the whole config",
        )
    full_key = _full_key(exc)
    in_file = _IN_FILE.match(message)
    if full_key and schema is not None and "not in" in _causes_text(exc):
        parent, _, name = full_key.rpartition(".")
        from mlconf.config.keys import declared_keys

        declared = declared_keys(schema, parent)
        if declared is not None:
            error = unknown_key_error(full_key, declared)
            if in_file is None:
                return error
            where = f"{in_file['file']}.yaml, {error.where}"
            return MlconfError(error.what, where=where, fix=error.fix)
    where = f"config key {full_key}" if full_key else "command line"
    if in_file:
        where = f"{in_file['file']}.yaml, {where}"
    detail = _causes_text(exc).splitlines()[0] if full_key else message
    wrong_type = _WRONG_TYPE.search(detail)
    if wrong_type:
        expected = _TYPE_WORDS.get(wrong_type["type"], wrong_type["type"])
        detail = f"expected {expected}, got {wrong_type['value']}"
    return MlconfError(
        detail,
        where=where,
        fix=f"check the value's type and spelling; `mlconf {command} --cfg job` prints the config",
    )


def unknown_key_error(full_key: str, declared: list[str]) -> MlconfError:
    """The error for a key the schema does not declare, with the likely intended key."""
    name = full_key.rpartition(".")[2].partition("[")[0]
    fix = f"remove it or correct the name; keys there: {', '.join(declared)}"
    if full_key.startswith("experiment."):
        fix += (
            "; keys under `experiment` mean an experiment file lacks `# @package _global_` "
            "as its first line"
        )
    return MlconfError(
        f"this key does not exist.{did_you_mean(name, declared)}",
        where=f"config key {full_key}",
        fix=fix,
    )


def _full_key(exc: BaseException) -> str | None:
    cause: BaseException | None = exc
    while cause is not None:
        key = getattr(cause, "full_key", None)
        if key:
            return str(key)
        cause = cause.__cause__
    # Hydra folds some errors into its message instead of chaining them.
    found = re.search(r"full_key: (\S+)", str(exc))
    return found[1] if found else None


def _causes_text(exc: BaseException) -> str:
    texts = [str(exc).partition("\n")[2]] if "full_key:" in str(exc) else []
    cause: BaseException | None = exc.__cause__
    while cause is not None:
        texts.append(str(cause))
        cause = cause.__cause__
    return "\n".join(texts) or str(exc)
