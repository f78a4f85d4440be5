"""The split section: the method, its settings and the rows in each part."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import fmt, pct
from mlconf.report.run_files import RunFiles


def split_section(files: RunFiles, config: dict[str, Any], record: dict[str, Any]) -> dict:
    split = config.get("split") or {}
    frame = files.csv("data/split.csv", usecols=["part"])
    counts: dict[str, int] = {}
    if frame is not None and "part" in frame:
        counts = {str(k): int(v) for k, v in frame["part"].value_counts(sort=False).items()}
    elif isinstance((record.get("counts") or {}).get("split"), dict):
        counts = dict(record["counts"]["split"])
    total = sum(counts.values()) or 1
    return {
        "present": bool(counts),
        "method": split.get("method", "-"),
        "settings": [
            (k, fmt(split.get(k)))
            for k in ("test_size", "validation_size", "stratify", "group_column", "time_column")
            if k in split and split.get(k) is not None
        ],
        "folds": split.get("folds") or 0,
        "parts": [(part, fmt(n), pct(n / total)) for part, n in counts.items()],
        "hint": "No split was recorded (the `split` stage did not run).",
    }
