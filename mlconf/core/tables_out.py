"""Printing a table whole: on a terminal it fits the window; written to a file or a pipe it
keeps its natural width, so no column is cut to "..." where no one can widen the window."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table

NARROWEST = 80


def print_table(table: Table, file: IO[str] | None = None) -> None:
    from rich.console import Console

    console = Console(file=file)
    if not console.is_terminal:
        natural = Console(file=file, width=100_000).measure(table).maximum
        console = Console(file=file, width=max(NARROWEST, natural))
    console.print(table)
