"""Which model a reference names: a model folder, or `name@alias`, `name:3`, `name` in the
registry; and what the registry keeps from a model folder's manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.core.names import check_name

if TYPE_CHECKING:
    pass


def parse_ref(ref: str) -> tuple[str, str | None, int | None]:
    """`name@alias` -> (name, alias, None); `name:3` -> (name, None, 3); `name` -> latest."""
    if "@" in ref:
        name, _, alias = ref.partition("@")
        check_ref_name(name, "model name", f"model reference '{ref}'")
        check_ref_name(alias, "alias", f"model reference '{ref}'")
        return name, alias, None
    if ":" in ref:
        name, _, number = ref.rpartition(":")
        check_ref_name(name, "model name", f"model reference '{ref}'")
        if not number.isdigit() or int(number) < 1:
            raise MlconfError(
                f"'{number}' is not a version number",
                where=f"model reference '{ref}'",
                fix="write NAME:VERSION with a whole number >= 1, NAME@ALIAS, or NAME",
            )
        return name, None, int(number)
    check_ref_name(ref, "model name", f"model reference '{ref}'")
    return ref, None, None


def check_ref_name(value: str, kind: str, where: str) -> None:
    """Names and aliases also name folders (experiments/<name>/...): no @ : / \\ .. NUL."""
    check_name(value, where, kind=kind, forbidden="@:")


def pipeline_sha256(manifest: dict[str, Any], model_dir: Path) -> str:
    from mlconf.store.artifacts import MANIFEST_FILE, PIPELINE_FILE

    digest = manifest.get("files", {}).get(PIPELINE_FILE)
    if not digest:
        raise MlconfError(
            f"{model_dir / MANIFEST_FILE} has no sha256 for {PIPELINE_FILE}",
            fix="register a model folder written by this version of mlconf",
        )
    return str(digest)


def schema_of(manifest: dict[str, Any]) -> dict[str, Any]:
    keys = ("task", "target", "classes", "input_columns", "positive_class", "schema")
    return {key: manifest.get(key) for key in keys}


def fingerprints(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The data fingerprints from run.json (else from the manifest's copy)."""
    try:
        record = json.loads((run_dir / "run.json").read_text())
        return dict(record.get("fingerprints") or {})
    except (OSError, json.JSONDecodeError):
        return dict(manifest.get("data") or {})
