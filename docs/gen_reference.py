"""The config reference page, written from the schemas themselves (the dataclasses in
mlconf/config/ and the option files in conf/), so that it cannot drift from them.

`mkdocs build` runs it through docs/hooks.py; `python docs/gen_reference.py` prints it.
A key's description is the comment beside or above its field in the dataclass.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
FIELD_LINE = re.compile(r"^    (\w+)\s*:[^=]*?(?:=.*?)?(?:#\s*(.*))?$")
COMMENT_LINE = re.compile(r"^    #\s?(.*)$")
NOT_GROUPS = {"experiment", "hydra", "local", "optional local"}
DATASET_GROUPS = {"data", "problem", "schema"}
YAML_KEY = re.compile(r"^(\s*)([\w-]+):(?:\s[^#]*?)?(?:\s+#\s*(.*))?$")


@dataclasses.dataclass
class Row:
    key: str
    type: str
    default: str
    what: str


def comments(cls: type) -> dict[str, str]:
    """Field name -> the comment beside it, else the comment lines right above it."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        above: list[str] = []
        for line in inspect.getsource(klass).splitlines():
            if match := COMMENT_LINE.match(line):
                above.append(match.group(1).strip())
            elif (match := FIELD_LINE.match(line)) and not line.lstrip().startswith('"'):
                found[match.group(1)] = (match.group(2) or " ".join(above)).strip()
                above = []
            elif line.startswith("    ") and not line.startswith("     "):
                above = []
    return found


def yaml_comments() -> dict[str, str]:
    """Dotted key -> the comment beside (or above) it in conf/'s YAML files: what a key
    means where its dataclass field has no comment of its own."""
    found: dict[str, str] = {}
    files = [(p, "") for p in CONF.glob("*.yaml")]
    # the option `mlconf train` picks in each group; the dataset groups' comments describe
    # their dataset, not the key
    picked = yaml.safe_load((CONF / "train.yaml").read_text(encoding="utf-8"))["defaults"]
    for entry in picked:
        if isinstance(entry, dict):
            (group, option), *_ = entry.items()
            if group not in NOT_GROUPS | DATASET_GROUPS and option:
                files.append((CONF / group / f"{option}.yaml", group))
    for path, package in files:
        stack: list[tuple[int, str]] = []
        above: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("#"):
                above.append(line.strip().lstrip("#").strip())
                continue
            match = YAML_KEY.match(line)
            if match is None:
                above = []
                continue
            indent, key = len(match.group(1)), match.group(2)
            stack = [(i, k) for i, k in stack if i < indent] + [(indent, key)]
            dotted = ".".join(([package] if package else []) + [k for _, k in stack])
            note = match.group(3) or " ".join(above)
            if note and dotted not in found:
                found[dotted] = note.strip()
            above = []
    return found


def _dataclass_of(hint: Any) -> tuple[str, type] | None:
    """("", C) for C or C | None, ("<name>", C) for dict[str, C], ("[]", C) for list[C]."""
    if dataclasses.is_dataclass(hint):
        return "", typing.cast(type, hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and dataclasses.is_dataclass(inner[0]):
            return "", inner[0]
    if origin is dict and len(args) == 2 and dataclasses.is_dataclass(args[1]):
        return ".<name>", args[1]
    if origin is list and args and dataclasses.is_dataclass(args[0]):
        return "[]", args[0]
    return None


def type_name(hint: Any) -> str:
    text = hint.__name__ if isinstance(hint, type) else str(hint)
    text = text.replace("typing.", "").replace("NoneType", "null")
    text = re.sub(r"mlconf\.[\w.]+\.(\w+)", r"\1", text)
    return text.replace(" | ", " or ")


_UNSET = object()


def composed_value(composed: dict[str, Any], key: str) -> Any:
    """The value of dotted `key` in the composed default config, or _UNSET."""
    node: Any = composed
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _UNSET
        node = node[part]
    return node


def default_of(item: dataclasses.Field[Any], composed: Any = _UNSET) -> str:
    """What `mlconf train` uses with no overrides where the key is in its composed config,
    else the schema's own default."""
    from omegaconf import MISSING

    if composed is not _UNSET:
        value = composed
    elif item.default is not dataclasses.MISSING:
        value = item.default
    elif item.default_factory is not dataclasses.MISSING:
        value = item.default_factory()
    else:
        return "required"
    if value == MISSING:
        return "required"
    if dataclasses.is_dataclass(value):
        return "see below"
    return _json(value)


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda v: dataclasses.asdict(v), ensure_ascii=False)


def rows(
    cls: type, prefix: str, described: dict[str, str], composed: dict[str, Any]
) -> Iterator[Row]:
    """Every key of `cls` under `prefix`, nested dataclasses spelled out after their key;
    `described` gives what a key means where its field has no comment, `composed` the
    default config of `mlconf train`."""
    hints = typing.get_type_hints(cls)
    notes = comments(cls)
    for item in dataclasses.fields(cls):
        key = f"{prefix}.{item.name}" if prefix else item.name
        hint = hints[item.name]
        nested = _dataclass_of(hint)
        what = notes.get(item.name) or described.get(key, "")
        value = composed_value(composed, key)
        if nested is not None and not nested[0]:
            value = _UNSET  # a section: its keys are listed below it
        yield Row(key, type_name(hint), default_of(item, value), what)
        if nested is not None:
            suffix, inner = nested
            yield from rows(inner, key + suffix, described, composed)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(found: list[Row]) -> list[str]:
    lines = ["| key | type | default in `mlconf train` | what it does |", "|---|---|---|---|"]
    for row in found:
        default = row.default if len(row.default) <= 240 else row.default[:237] + "..."
        lines.append(
            f"| `{row.key}` | {_cell(row.type)} | `{_cell(default)}` | {_cell(row.what)} |"
        )
    return lines


def choices(group: str) -> list[str]:
    folder = CONF / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def render() -> str:
    """The whole reference page as Markdown."""
    from omegaconf import OmegaConf

    from mlconf.config import TrainConfig
    from mlconf.config.compose import compose

    composed = typing.cast(
        dict[str, Any], OmegaConf.to_container(compose("train", []), resolve=False)
    )

    hints = typing.get_type_hints(TrainConfig)
    out = [
        "# Config reference",
        "",
        "Every key of every config group, generated from the schemas (the dataclasses in",
        "`mlconf/config/`) and the option files in `conf/` each time the site is built, so it",
        "lists exactly what Hydra accepts. `train`, `predict`, `serve` and `monitor` compose",
        "the same groups. A key is overridden on the command line as `group.key=value`",
        "(`mlconf train split.test_size=0.3`); a group's option is picked as `group=option`",
        "(`mlconf train model=random_forest`). `<name>` stands for a name you choose, `[]`",
        "for each item of a list; `required` keys have no default and must be set.",
        "",
        "## Top-level keys",
        "",
    ]
    described = yaml_comments()
    groups = {f.name for f in dataclasses.fields(TrainConfig) if _dataclass_of(hints[f.name])}
    out += _table(
        [r for r in rows(TrainConfig, "", described, composed) if r.key.split(".")[0] not in groups]
    )
    for item in dataclasses.fields(TrainConfig):
        nested = _dataclass_of(hints[item.name])
        if nested is None:
            continue
        cls = nested[1]
        out += ["", f"## `{item.name}`", ""]
        if doc := inspect.getdoc(cls):
            out += [" ".join(doc.split()), ""]
        if options := choices(item.name):
            picks = ", ".join(f"`{o}`" for o in options)
            out += [f"Options in `conf/{item.name}/` ({item.name}=...): {picks}.", ""]
        out += _table(list(rows(cls, item.name, described, composed)))
    folders = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name not in NOT_GROUPS)
    out += ["", "## Presets", "", "`experiment=...` picks a preset from `conf/experiment/`:"]
    out += [", ".join(f"`{o}`" for o in choices("experiment")) + "."]
    out += ["", f"Config groups with option files: {', '.join(folders)}."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
