"""The model-selection section: the cross-validated leaderboard of candidates, and the tuning
that follows it (its own module) with its plots."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import fmt, table
from mlconf.report.run_files import RunFiles
from mlconf.report.sections.not_run import not_run
from mlconf.report.sections.tuning import tuning_facts, tuning_plots


def leaderboard_table(board: Any, primary: str | None) -> dict[str, Any]:
    """Rank, candidate, the primary metric then four others as `mean ± std`, fit seconds."""
    names = [c[: -len("_mean")] for c in board.columns if c.endswith("_mean")]
    names = [n for n in names if "seconds" not in n]
    names = ([primary] if primary in names else []) + [n for n in names if n != primary][:4]
    records = []
    for row in board.to_dict("records"):
        record = {k: row.get(k) for k in ("rank", "candidate") if k in row}
        for n in names:
            std = row.get(f"{n}_std")
            record[n] = f"{fmt(row.get(f'{n}_mean'))} ± {fmt(std, 2)}"
        if "fit_seconds_mean" in row:
            record["fit seconds"] = row["fit_seconds_mean"]
        records.append(record)
    return table(records)


def selection_section(files: RunFiles, record: dict[str, Any], primary: str | None) -> dict:
    board = files.csv("leaderboard.csv")
    trials = files.csv("trials.csv")
    best = files.json("best_params.json")
    leaderboard = None
    if board is not None:
        leaderboard = leaderboard_table(board, primary)
    tuning = tuning_facts(trials, best, primary)
    plots = tuning_plots(files)
    counts = record.get("counts") or {}
    return {
        "leaderboard": leaderboard,
        "selected": counts.get("selected_model"),
        "tuning": tuning,
        "plots": plots,
        "hint_selection": not_run("selection"),
        "hint_tuning": not_run("tuning"),
    }
