"""Reading a run's data: every configured source through its registered reader,
fingerprinted, joined on its keys. The load stage and retraining read through it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.component_registry import get
from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.core.secrets import mask_url

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import SourceConfig, TrainConfig

SOURCE_INPUTS = ("path", "url", "query", "dataset", "options")


def fingerprint(frame: pd.DataFrame, path: str | None) -> str:
    """sha256 of the file's bytes when there is a file, else of the rows read."""
    import pandas as pd

    if path and Path(path).is_file():
        from mlconf.store.artifacts import sha256_file

        return sha256_file(Path(path))
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def read_source(name: str, source: SourceConfig) -> pd.DataFrame:
    """Call the registered source with the inputs the config gives it."""
    import pandas as pd

    where = f"data.sources.{name}"
    try:
        component = get("source", source.kind)
        inputs: dict[str, Any] = {
            key: getattr(source, key)
            for key in SOURCE_INPUTS
            if getattr(source, key) not in (None, {})
        }
        from mlconf.core.component_registry import check_params

        check_params(component, inputs)
        frame = component.factory(**inputs)
    except MlconfError as exc:
        raise MlconfError(exc.what, where=exc.where or where, fix=exc.fix) from exc
    if not isinstance(frame, pd.DataFrame):
        raise MlconfError(
            f"source '{source.kind}' returned {type(frame).__name__}, not a pandas DataFrame",
            where=where,
        )
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()].map(str)))
        raise MlconfError(
            f"the data has duplicate column names: {', '.join(dupes)}",
            where=where,
            fix="rename the columns so that each name is unique",
        )
    return frame


def loaded_line(frame: pd.DataFrame, conf: TrainConfig) -> str:
    """What a read printed: the one wording for the load stage and for retraining."""
    return (
        f"  loaded {len(frame):,} rows x {frame.shape[1]} columns from "
        f"{len(conf.data.sources)} source(s)"
    )


def read_data(conf: TrainConfig) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Every configured source read, joined on its keys and stripped of the dropped columns,
    with what was read (kind, location, sha256, rows, columns) per source."""
    data = conf.data
    if not data.sources:
        raise MlconfError(
            "no data sources configured", where="config group data", fix="add data.sources.main"
        )
    frame: pd.DataFrame | None = None
    test_rows: pd.DataFrame | None = None
    appended = test_source(conf)
    fingerprints: dict[str, dict[str, Any]] = {}
    for name, source in data.sources.items():
        part = read_source(name, source)
        fingerprints[name] = {
            "kind": source.kind,
            "location": source.path or source.dataset or mask_url(source.url),
            "sha256": fingerprint(part, source.path),
            "rows": len(part),
            "columns": len(part.columns),
        }
        if name == appended:
            test_rows = part
        elif frame is None:
            frame = part
        else:
            frame = _join(frame, part, name, source, conf.split.test_source)
    if frame is None:
        raise MlconfError(
            f"the only source is the test source '{appended}'; the training rows need another",
            where="config group data",
            fix="add data.sources.main for the training rows",
        )
    if test_rows is not None:
        frame = _append_test_rows(conf, frame, test_rows, str(appended))
    frame = _drop(frame, data.drop_columns)
    if len(frame) == 0:
        raise MlconfError(
            "the data has no rows", where="config group data", fix="point the source at data"
        )
    target = conf.problem.target
    if target not in frame.columns:
        raise MlconfError(
            f"target column '{target}' is not in the data."
            f"{did_you_mean(target, map(str, frame.columns))}"
            f" Columns: {', '.join(map(str, frame.columns[:30]))}",
            where="config key problem.target",
            fix="set problem.target to the column you want to predict",
        )
    for column in data.id_columns:
        if column not in frame.columns:
            raise MlconfError(
                f"id column '{column}' is not in the data."
                f"{did_you_mean(column, map(str, frame.columns))}",
                where="config key data.id_columns",
            )
    # Row numbers count data rows from 1, as `mlconf predict` counts them, so "row 7" in a
    # validation table, quarantine.csv or the split file is the seventh row of the table.
    import pandas as pd

    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame, fingerprints


def test_source(conf: TrainConfig) -> str | None:
    """The source whose rows are the test part: split.test_source, when the split reads
    each row's part from a column (split=predefined) and such a source is configured."""
    from mlconf.ml.features import part_column

    name = conf.split.test_source
    return name if part_column(conf) and name in conf.data.sources else None


def _append_test_rows(
    conf: TrainConfig, frame: pd.DataFrame, test_rows: pd.DataFrame, name: str
) -> pd.DataFrame:
    """The training rows (marked train unless they carry the part column) and below them the
    test source's rows, marked test, so the predefined splitter serves both ways."""
    import pandas as pd

    marker = str(conf.split.part_column)
    columns = [c for c in frame.columns if c != marker]
    missing = [c for c in columns if c not in test_rows.columns]
    extra = [c for c in test_rows.columns if c not in frame.columns and c != marker]
    for names, what, others in (
        (missing, "lacks column '{}' of the training data", test_rows.columns),
        (extra, "has column '{}' that the training data lacks", frame.columns),
    ):
        if names:
            raise MlconfError(
                f"test source '{name}' {what.format(names[0])}."
                f"{did_you_mean(str(names[0]), map(str, others))}"
                + (f" (all {len(names)}: {', '.join(map(str, names))})" * (len(names) > 1)),
                where=f"data.sources.{name}",
                fix="give the test rows the same columns as the training data",
            )
    labels = dict(conf.split.part_labels)
    train = frame if marker in frame.columns else frame.assign(**{marker: labels["train"][0]})
    test = test_rows[columns].assign(**{marker: labels["test"][0]})
    return pd.concat([train, test[list(train.columns)]], ignore_index=True)


def _join(
    left: pd.DataFrame, right: pd.DataFrame, name: str, source: SourceConfig, test: str | None
) -> pd.DataFrame:
    where = f"data.sources.{name}.join_on"
    if not source.join_on:
        raise MlconfError(
            f"source '{name}' is not the first source, so it needs join keys",
            where=where,
            fix="list the key columns, e.g. join_on: [customer_id]"
            + (", or use split=predefined to append its rows as the test part" * (name == test)),
        )
    for key in source.join_on:
        for side, frame in (("earlier sources", left), (f"source '{name}'", right)):
            if key not in frame.columns:
                raise MlconfError(
                    f"join key '{key}' is not a column of {side}."
                    f"{did_you_mean(key, map(str, frame.columns))}",
                    where=where,
                )
    if source.how not in ("left", "inner", "outer", "right"):
        raise MlconfError(
            f"unknown join '{source.how}'",
            where=f"data.sources.{name}.how",
            fix="use left, inner, outer or right",
        )
    if right.duplicated(subset=source.join_on).any():
        raise MlconfError(
            f"source '{name}' has several rows for some join keys {source.join_on}; the join "
            "would duplicate rows",
            where=where,
            fix="aggregate that source to one row per key (e.g. in its SQL query)",
        )
    return left.merge(right, on=list(source.join_on), how=source.how, suffixes=("", f"_{name}"))


def _drop(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MlconfError(
            f"cannot drop columns that are not in the data: {', '.join(missing)}",
            where="config key data.drop_columns",
            fix="remove them from data.drop_columns, or check their spelling",
        )
    return frame.drop(columns=columns) if columns else frame
