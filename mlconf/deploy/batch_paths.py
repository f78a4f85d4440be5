"""Where `mlconf predict` writes, checked before any model is loaded or row read: the output
and the quarantine file must be two new (or overwritable) files, neither the input."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlconf.core.errors import MlconfError
from mlconf.deploy.batch_input import SQL_PREFIX, input_format, output_format
from mlconf.store.tables.files import writable_target


@dataclass(frozen=True)
class BatchPaths:
    output: Path
    output_format: str
    quarantine: Path


def batch_paths(
    input: str, output: Path | str, quarantine: Path | str | None, *, overwrite: bool
) -> BatchPaths:
    """The output, its format and the quarantine file (default OUTPUT.quarantine.csv)."""
    out_path = Path(output).expanduser()
    out_fmt = output_format(out_path)
    q_path = Path(quarantine).expanduser() if quarantine else Path(f"{out_path}.quarantine.csv")
    if q_path.resolve() == out_path.resolve():
        raise MlconfError(
            f"the quarantine file and the output are the same file '{out_path}': one would "
            "overwrite the other",
            where="quarantine=",
            fix="name another quarantine file, or leave quarantine= out "
            f"(default {out_path}.quarantine.csv)",
        )
    if not input.startswith(SQL_PREFIX) and Path(input).expanduser().resolve() in (
        out_path.resolve(),
        q_path.resolve(),
    ):
        raise MlconfError(
            f"the output would overwrite the input '{input}'",
            where="output=",
            fix="write the predictions to a new file",
        )
    input_format(input)
    writable_target(out_path, overwrite, "output=")
    writable_target(q_path, overwrite, "quarantine=")
    return BatchPaths(out_path, out_fmt, q_path)
