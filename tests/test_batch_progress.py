"""The scoring progress bar: on a terminal only."""

from __future__ import annotations

from mlconf.deploy.progress import ScoringProgress


def test_progress_shows_rows_per_second_on_a_terminal_only() -> None:
    import io

    from rich.console import Console

    terminal = Console(file=io.StringIO(), force_terminal=True, width=120)
    with ScoringProgress(terminal, 10) as advance:
        advance(10)
    assert "rows/s" in terminal.file.getvalue()  # type: ignore[attr-defined]
    pipe = Console(file=io.StringIO(), force_terminal=False)
    with ScoringProgress(pipe, None) as advance:
        advance(3)
    assert pipe.file.getvalue() == ""  # type: ignore[attr-defined]
