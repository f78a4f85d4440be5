"""Names that become folders or registry keys, and paths built from them: one check for all.

A model name, an alias or an experiment name is a *name*: one path segment at most, never a
path. `check_name` refuses what could climb out of a folder (`..`, `/`, `\\`, an absolute
path), what file systems and databases mishandle (NUL and other control characters) and
names longer than MAX_LENGTH. `inside` builds a path from a root and checked names and
proves the result stays under the root.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from mlconf.core.errors import MlconfError

MAX_LENGTH = 200
# Path separators on any platform: a name is never more than one path segment.
SEPARATORS = "/\\"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def name_problem(value: str, forbidden: str = SEPARATORS) -> str | None:
    """Why `value` is not an acceptable name, or None if it is."""
    if not value.strip():
        return "is empty"
    if "\x00" in value:
        return "contains a NUL byte"
    if _CONTROL.search(value):
        return "contains a control character (newline, tab, ...)"
    if len(value) > MAX_LENGTH:
        return f"is {len(value)} characters long (at most {MAX_LENGTH})"
    if value != value.strip():
        return "has leading or trailing spaces"
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute():
        return "is an absolute path where a name is expected"
    if value in (".", "..") or value.startswith("~"):
        return "refers to a folder ('.', '..' or '~') where a name is expected"
    found = [c for c in dict.fromkeys(forbidden) if c in value]
    if found:
        return "contains " + " ".join(repr(c) for c in found) + " (not allowed in a name)"
    return None


def check_name(value: object, where: str, *, kind: str = "name", forbidden: str = "") -> str:
    """`value` as a str if it is a safe name, else an MlconfError naming `where` (a config key).

    Path separators are always refused; `forbidden` adds characters (the registry adds @ and :).
    """
    text = value if isinstance(value, str) else str(value)
    problem = name_problem(text, SEPARATORS + forbidden)
    if problem is None:
        return text
    shown = text if len(text) <= 60 else text[:57] + "..."
    raise MlconfError(
        f"{kind} {shown!r} {problem}",
        where=where,
        fix=f"use a plain {kind} of letters, digits, '-', '_' or '.' such as 'churn' "
        f"(at most {MAX_LENGTH} characters)",
    )


def inside(root: Path | str, *names: str, where: str, kind: str = "name") -> Path:
    """`root / name / ...` after checking each name; refuses a result that leaves `root`."""
    base = Path(root)
    path = base.joinpath(*(check_name(n, where, kind=kind) for n in names))
    if not path.resolve().is_relative_to(base.resolve()):
        raise MlconfError(
            f"'{path}' would be outside '{base}'",
            where=where,
            fix=f"use a plain {kind} (no links or '..' that lead out of '{base}')",
        )
    return path


def check_path(value: object, where: str) -> Path:
    """A folder the user named on purpose (absolute is fine): refuse NUL, control characters
    and empty or overlong paths, which the operating system would mishandle or reject late."""
    text = value if isinstance(value, str) else str(value)
    problem = None
    if not text.strip():
        problem = "is empty"
    elif _CONTROL.search(text):
        problem = "contains a NUL byte or another control character"
    elif len(text) > 4 * MAX_LENGTH:
        problem = f"is {len(text)} characters long (at most {4 * MAX_LENGTH})"
    if problem is not None:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise MlconfError(f"path {shown!r} {problem}", where=where, fix="give a plain folder path")
    return Path(text)
