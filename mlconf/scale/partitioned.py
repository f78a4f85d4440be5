"""Validation and preparation partition by partition, for the dask engine.

Two passes over the data, each holding one partition (plus a bounded sample) in memory:

1. `validate_pass`: every raw partition gets global row numbers, the casts, the schema
   checks and the target checks of the pandas engine; bad rows go to the quarantine file
   (appended per partition, published atomically); valid rows are written to a working
   folder; missing counts, row hashes and class counts are kept for pass 2, and a seeded
   sample of `data.sample_rows` rows is drawn for the stages that need a whole frame.
2. `prepare_pass`: sparse columns and rows, exact duplicates (found across partitions from
   the pass-1 hashes and confirmed by comparing the rows), then each row's part
   (`mlconf.scale.rows`): the rows are written per part, ready to stream into training
   and evaluation.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.run_state import quarantine_rows
from mlconf.scale.rows import PART_NAMES, SPLIT_SALT, BottomK, assign_parts, split_keys, unit_draws
from mlconf.store.tables.parquet_engine import read_frame, write_frame

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlconf.run_state import RunState
    from mlconf.scale.lazy import LazyTable

ROW = "_row"


class QuarantineStream:
    """data/quarantine.csv written partition by partition: rows are appended to a file in the
    run's working folder (removed with it, raw PII and all), and `publish` writes a complete,
    privacy-protected copy into place, so a reader never sees half or raw PII."""

    def __init__(self, run_dir: Path, work: Path, columns: list[str]) -> None:
        self.path = run_dir / "data" / "quarantine.csv"
        self.partial = work / "quarantine.csv.partial"
        self.columns = ["_row", "_stage", "_reason", *columns]
        self.rows = 0

    def add(self, rows: pd.DataFrame, reasons: Any, stage: str) -> None:
        if len(rows) == 0:
            return
        kept = quarantine_rows(rows, reasons, stage).reindex(columns=self.columns)
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        first = self.rows == 0
        with self.partial.open("w" if first else "a", encoding="utf-8", newline="") as fh:
            kept.to_csv(fh, index=False, header=first)
        self.rows += len(kept)

    def publish(self, ctx: RunState) -> None:
        if self.rows == 0:
            return
        from mlconf.store.atomic import write_with

        privacy = ctx.pipeline_privacy

        def copy(tmp: Path) -> None:
            if not privacy:
                shutil.copyfile(self.partial, tmp)
                return
            import pandas as pd

            from mlconf.ml.privacy import protect

            # the rows as text, exactly as set aside; in chunks, as they were written
            chunks = pd.read_csv(self.partial, dtype=str, keep_default_na=False, chunksize=50_000)
            with tmp.open("w", encoding="utf-8", newline="") as out:
                for i, chunk in enumerate(chunks):
                    safe = protect(chunk, privacy["drop"], privacy["hash"], privacy["salt_env"])
                    safe.to_csv(out, index=False, header=i == 0)

        write_with(self.path, copy)
        ctx.count("quarantined_rows", self.rows)


@dataclass
class ScaleState:
    """What the passes learn about the whole table, kept on the run context as `scale`."""

    table: LazyTable
    work: Path
    quarantine: QuarantineStream
    rows_loaded: int = 0
    rows_valid: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    hashes: list[np.ndarray] = field(default_factory=list)
    key_hashes: list[np.ndarray] = field(default_factory=list)
    classes: dict[str, int] = field(default_factory=dict)
    target_missing: int = 0
    valid_files: list[Path | None] = field(default_factory=list)
    part_files: dict[str, list[Path]] = field(default_factory=dict)
    part_rows: dict[str, int] = field(default_factory=dict)
    part_classes: dict[str, dict[str, int]] = field(default_factory=dict)
    sample_of: int = 0


# --- pass 1 -------------------------------------------------------------------------------


def validate_pass(ctx: RunState, state: ScaleState) -> pd.DataFrame:
    """Validate every partition; returns the seeded sample of valid rows."""
    import pandas as pd

    from mlconf.ml.casting import cast_columns
    from mlconf.ml.rows import row_hashes

    conf = ctx.conf
    sample = BottomK(conf.data.sample_rows, conf.seed)
    folder = state.work / "valid"
    folder.mkdir(parents=True, exist_ok=True)
    keys = list(conf.prepare.duplicates.key_columns)
    for i in range(state.table.partitions):
        frame = state.table.partition(i)
        frame = (
            frame.drop(columns=list(conf.data.drop_columns)) if conf.data.drop_columns else frame
        )
        # Data rows count from 1, as the pandas engine and `mlconf predict` count them.
        start = state.rows_loaded + 1
        frame.index = pd.RangeIndex(start, start + len(frame))
        state.rows_loaded += len(frame)
        frame = cast_columns(frame, conf.prepare.cast)
        if conf.schema.columns:
            from mlconf.ml.validation import validate as check_schema

            result = check_schema(
                frame,
                conf.schema,
                source=f"data '{conf.data.name}' ({state.table.files[i].name})",
                allow_empty=True,
            )
            bad = result.quarantined
            if len(bad):
                rows = bad.drop(columns=["_row", "_reasons"]).set_axis(bad["_row"].to_numpy())
                state.quarantine.add(rows, bad["_reasons"].to_numpy(), "validate")
            frame = result.valid
        frame = _target_rows(ctx, state, frame)
        for column, n in frame.isna().sum().items():
            state.missing[str(column)] = state.missing.get(str(column), 0) + int(n)
        if len(frame):
            columns = [c for c in frame.columns]
            state.hashes.append(row_hashes(frame, columns).to_numpy())
            if keys:
                state.key_hashes.append(row_hashes(frame, keys).to_numpy())
            path = folder / f"part-{i:05d}.parquet"
            write_frame(frame.rename_axis(ROW).reset_index(), path, index=False)
            state.valid_files.append(path)
        else:
            state.valid_files.append(None)
        state.rows_valid += len(frame)
        sample.add(frame)
    state.quarantine.publish(ctx)
    _whole_table_checks(ctx, state)
    found = sample.frame()
    if found is None:
        raise RuntimeError("internal error: a table with valid rows gave no sample")
    state.sample_of = state.rows_valid
    return found


def _target_rows(ctx: RunState, state: ScaleState, frame: pd.DataFrame) -> pd.DataFrame:
    """The per-row part of the pandas engine's target checks (rows without a usable target
    are quarantined); what needs every row is checked after the pass."""
    import pandas as pd

    problem = ctx.conf.problem
    target = frame[problem.target]
    missing = target.isna()
    if missing.any():
        state.target_missing += int(missing.sum())
        state.quarantine.add(frame[missing], f"target '{problem.target}' is missing", "validate")
        frame = frame[~missing]
    if problem.task == "regression":
        numeric = pd.to_numeric(frame[problem.target], errors="coerce")
        bad = numeric.isna()
        if bad.any():
            state.quarantine.add(
                frame[bad], f"target '{problem.target}' is not a number", "validate"
            )
            frame = frame[~bad]
        return frame.assign(**{problem.target: numeric[~bad]})
    for label, n in frame[problem.target].astype(str).value_counts().items():
        state.classes[str(label)] = state.classes.get(str(label), 0) + int(n)
    return frame


def _whole_table_checks(ctx: RunState, state: ScaleState) -> None:
    problem = ctx.conf.problem
    if state.rows_loaded == 0:
        raise MlconfError(
            "the data has no rows", where="config group data", fix="point the source at data"
        )
    if state.rows_valid == 0 and state.target_missing:
        raise MlconfError(
            f"target column '{problem.target}' has no values (all {state.target_missing} missing)",
            where="config key problem.target",
            fix="choose a column that holds the outcome, or fix the data source",
        )
    if state.rows_valid == 0:
        raise MlconfError(
            f"no row of {state.rows_loaded:,} is valid (see data/quarantine.csv)",
            where="config group schema",
            fix="check the schema rules against the data",
        )
    if problem.task != "classification":
        return
    classes = sorted(state.classes)
    if len(classes) < 2:
        raise MlconfError(
            f"target '{problem.target}' has only one class ({classes[0]!r}): there is nothing "
            "to tell apart",
            where="config key problem.target",
            fix="check the data, or use a target with two or more classes",
        )
    if problem.positive_class is not None and str(problem.positive_class) not in state.classes:
        raise MlconfError(
            f"positive class {problem.positive_class!r} is not a value of '{problem.target}'."
            f"{did_you_mean(str(problem.positive_class), classes)} "
            f"Values: {', '.join(classes[:20])}",
            where="config key problem.positive_class",
            fix="set problem.positive_class to one of the values above",
        )


# --- pass 2 -------------------------------------------------------------------------------


def dropped_columns(ctx: RunState, state: ScaleState, features: list[str]) -> list[str]:
    """Feature columns entirely empty or sparser than prepare.missing.drop_columns_over, each
    named in a warning (the pandas engine's rule, from the pass-1 counts)."""
    from mlconf.ml.features import too_sparse

    shares = {c: state.missing.get(c, 0) / state.rows_valid for c in features}
    return too_sparse(ctx.conf, shares, ctx.warn)


class _Duplicates:
    """Exact duplicates across partitions, first occurrence kept: rows whose pass-1 hash
    occurs more than once are compared value by value (a hash collision never drops a row).
    Memory: the hashes (8 bytes a row) and one copy of each suspected row's first occurrence."""

    def __init__(self, hashes: list[np.ndarray]) -> None:
        import numpy as np

        everything = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
        values, counts = np.unique(everything, return_counts=True)
        self.suspects = values[counts > 1]
        self.seen: dict[int, list[tuple[Any, ...]]] = {}

    def mask(self, frame: pd.DataFrame, hashes: np.ndarray) -> np.ndarray:
        import numpy as np

        out = np.zeros(len(frame), dtype=bool)
        positions = np.flatnonzero(np.isin(hashes, self.suspects))
        if len(positions) == 0:
            return out
        rows = frame.iloc[positions].astype(object)
        rows = rows.where(rows.notna(), None)
        for pos, key, values in zip(
            positions, hashes[positions], rows.itertuples(index=False, name=None), strict=True
        ):
            earlier = self.seen.setdefault(int(key), [])
            if values in earlier:
                out[pos] = True
            else:
                earlier.append(values)
        return out


def prepare_pass(ctx: RunState, state: ScaleState, sample: pd.DataFrame) -> pd.DataFrame:
    """Clean every valid partition, draw each row's part and write the parts; returns the
    sample with the same rows and columns removed."""
    import numpy as np

    from mlconf.ml.features import feature_columns

    conf = ctx.conf
    drop = dropped_columns(ctx, state, feature_columns(ctx.conf, sample))
    ctx.count("columns_dropped", drop)
    duplicates = _Duplicates(state.hashes) if conf.prepare.duplicates.drop_exact else None
    if conf.prepare.duplicates.key_columns:
        near = _near_duplicates(state.key_hashes)
        ctx.count("near_duplicate_rows", near)
        if near:
            ctx.warn(
                f"{near} rows share their {', '.join(conf.prepare.duplicates.key_columns)} "
                "with another row (near-duplicates; kept)"
            )
    removed: list[np.ndarray] = []
    counts = {"rows_too_sparse": 0, "exact_duplicates_dropped": 0}
    for name in PART_NAMES:
        (state.work / name).mkdir(parents=True, exist_ok=True)
        state.part_files[name] = []
        state.part_rows[name] = 0
        state.part_classes[name] = {}
    hash_list = iter(state.hashes)
    for i, path in enumerate(state.valid_files):
        if path is None:
            continue
        frame = _read_valid(path)
        hashes = next(hash_list)
        keep = np.ones(len(frame), dtype=bool)
        if drop:
            frame = frame.drop(columns=drop)
        limit = conf.prepare.missing.drop_rows_over
        if limit is not None:
            shares = frame[feature_columns(ctx.conf, frame)].isna().mean(axis=1)
            sparse = (shares > limit).to_numpy()
            state.quarantine.add(
                frame[sparse],
                [f"{s:.0%} of features missing (over {limit})" for s in shares[sparse]],
                "prepare",
            )
            counts["rows_too_sparse"] += int(sparse.sum())
            keep &= ~sparse
        if duplicates is not None:
            exact = duplicates.mask(frame, hashes) & keep
            state.quarantine.add(frame[exact], "exact duplicate of an earlier row", "prepare")
            counts["exact_duplicates_dropped"] += int(exact.sum())
            keep &= ~exact
        removed.append(frame.index.to_numpy()[~keep])
        _write_parts(ctx, state, frame[keep], i)
        path.unlink()
    state.quarantine.publish(ctx)
    for key, value in counts.items():
        ctx.count(key, value)
    gone = np.concatenate(removed) if removed else np.empty(0, dtype=np.int64)
    sample = sample.drop(columns=drop) if drop else sample
    return sample[~np.isin(sample.index.to_numpy(), gone)]


def _read_valid(path: Path) -> pd.DataFrame:
    return read_frame(path).set_index(ROW)


def _near_duplicates(key_hashes: list[np.ndarray]) -> int:
    import numpy as np

    if not key_hashes:
        return 0
    _, inverse, counts = np.unique(
        np.concatenate(key_hashes), return_inverse=True, return_counts=True
    )
    return int((counts[inverse] > 1).sum())


def row_parts(ctx: RunState, frame: pd.DataFrame) -> np.ndarray:
    """Each row's part (0 train, 1 validation, 2 test), from its key and the seed alone."""
    split = ctx.conf.split
    draws = unit_draws(split_keys(frame, split.group_column), ctx.conf.seed, SPLIT_SALT)
    return assign_parts(draws, split.test_size, split.validation_size)


def _write_parts(ctx: RunState, state: ScaleState, frame: pd.DataFrame, i: int) -> None:
    codes = row_parts(ctx, frame)
    target = ctx.conf.problem.target
    for code, name in enumerate(PART_NAMES):
        rows = frame[codes == code]
        if len(rows) == 0:
            continue
        path = state.work / name / f"part-{i:05d}.parquet"
        write_frame(rows.rename_axis(ROW).reset_index(), path, index=False)
        state.part_files[name].append(path)
        state.part_rows[name] += len(rows)
        if ctx.conf.problem.task == "classification":
            tally = state.part_classes[name]
            for label, n in rows[target].astype(str).value_counts().items():
                tally[str(label)] = tally.get(str(label), 0) + int(n)


def read_part(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """One written partition of a part, indexed by global row number."""
    wanted = None if columns is None else [ROW, *columns]
    return read_frame(path, {"columns": wanted}).set_index(ROW)
