"""Files before a reader or writer opens them: present, non-empty, found by a folder or a
glob, writable; every refusal an MlconfError that names the file and the fix."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from mlconf.core.errors import MlconfError


def existing_file(path: str | None, kind: str) -> Path:
    """A readable, non-empty file, or an error that says which and how to fix it."""
    if not path:
        raise MlconfError(
            f"a {kind} source needs a `path`", fix=f"add `path: data/my_table.{kind}`"
        )
    p = Path(path).expanduser()
    if not p.exists():
        raise MlconfError(
            f"file '{p}' does not exist (looked relative to {Path.cwd()})",
            fix="correct the path, or give an absolute one",
        )
    if p.is_dir() and kind != "parquet":
        raise MlconfError(f"'{p}' is a folder, not a {kind} file", fix="point `path` at a file")
    if p.is_file() and p.stat().st_size == 0:
        raise MlconfError(f"file '{p}' is empty (0 bytes)", fix="point `path` at a file with data")
    return p


def matching_files(spec: str) -> list[Path] | None:
    """The files under a folder or matching a glob, sorted, without hidden (`.`, `_`) ones;
    None when `spec` is neither (a single file's path)."""
    path = Path(spec).expanduser()
    if path.is_file():  # `export [2024].csv` is a file, not a pattern
        return None
    if path.is_dir():
        root: Path | None = path
        found = [p for p in path.rglob("*") if p.is_file()]
    elif glob.has_magic(str(path)):
        root = None  # a pattern names its files itself: only their own names can hide them
        found = [Path(p) for p in glob.glob(str(path), recursive=True)]  # noqa: PTH207
        found = [p for p in found if p.is_file()]
    else:
        return None

    def hidden(p: Path) -> bool:
        # Spark's _temporary/, .ipynb_checkpoints/ and the like hide whole folders
        parts = p.relative_to(root).parts if root is not None else (p.name,)
        return any(part.startswith((".", "_")) for part in parts)

    return sorted(p for p in found if not hidden(p))


def writable_target(path: Path, overwrite: bool, where: str) -> None:
    """Refuse, before any work, a target that is a folder, exists (unless `overwrite`) or
    sits in a folder that cannot be made or written."""
    if path.is_dir():
        raise MlconfError(f"'{path}' is a folder", where=where, fix="name a file")
    if path.exists() and not overwrite:
        raise MlconfError(
            f"'{path}' already exists",
            where=where,
            fix="choose another name, or pass overwrite=true to replace it",
        )
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MlconfError(
            f"cannot create the folder '{folder}': {exc.strerror}",
            where=where,
            fix="write to a folder that exists or can be made (no file in its path)",
        ) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MlconfError(
            f"the folder '{folder}' is not writable",
            where=where,
            fix="write somewhere you may write, or fix the folder's permissions",
        )
