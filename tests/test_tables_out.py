"""Tables written to a file or a pipe keep every column whole."""

from __future__ import annotations

import io

from rich.table import Table

from mlconf.core.tables_out import print_table


def test_a_wide_table_is_not_cut_when_not_on_a_terminal() -> None:
    table = Table(title="monitor runs")
    cells = [f"column-{i}-with-a-long-value" for i in range(8)]
    for i in range(8):
        table.add_column(f"heading_{i}")
    table.add_row(*cells)
    out = io.StringIO()
    print_table(table, file=out)
    text = out.getvalue()
    assert "…" not in text
    assert all(cell in text for cell in cells)
    assert all(f"heading_{i}" in text for i in range(8))


def test_a_narrow_table_prints_as_before() -> None:
    table = Table()
    table.add_column("a")
    table.add_row("1")
    out = io.StringIO()
    print_table(table, file=out)
    assert "1" in out.getvalue()
