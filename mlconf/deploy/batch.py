"""Batch scoring: `mlconf predict` streams a file through a trained model, chunk by chunk.

Memory is bounded by the chunk size, not the file: CSV is read with pandas' chunked reader,
Parquet batch by batch with pyarrow, a SQL query through a streaming cursor. Each chunk is
checked against the training schema (the model manifest's `schema` plus the training dtype of
every input column); rows that fail go to a quarantine CSV with their row number and reasons,
never dropped silently. The output and the quarantine file are written under temporary names
and renamed into place at the end, so a crash leaves no half-written output.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.errors import MlconfError, did_you_mean
from mlconf.store.artifacts import MANIFEST_FILE, PIPELINE_FILE, TrainedModel
from mlconf.store.atomic import atomic_path

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from rich.console import Console

    from mlconf.privacy.policy import PrivacyPolicy

SQL_PREFIX = "sql:"
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
ROW = "row"
PREDICTION = "prediction"
VERSION = "model_version"
SCORED_AT = "scored_at"
REASON = "reason"
PROBA_PREFIX = "proba_"
_NUMERIC_KINDS = "iuf"
_DTYPE_ONLY = "_dtype_only"  # a rule that only says "a number": nothing to check on numbers


@dataclass
class BatchSummary:
    """What one `mlconf predict` did; `line()` is what the command prints."""

    input: str
    output: Path
    model_version: str
    chunk_rows: int
    rows: int = 0
    scored: int = 0
    quarantined: int = 0
    chunks: int = 0
    seconds: float = 0.0
    quarantine: Path | None = None
    kept: list[str] = field(default_factory=list)
    ids_not_in_input: list[str] = field(default_factory=list)

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        text = (
            f"scored {self.scored:,} of {self.rows:,} rows in {self.chunks} chunk(s) of up to "
            f"{self.chunk_rows:,} ({rate:,.0f} rows/s) with model {self.model_version}\n"
            f"wrote {self.output}"
        )
        if self.quarantined:
            text += f"\nquarantined {self.quarantined:,} row(s) with reasons: {self.quarantine}"
        else:
            text += "\nquarantined 0 rows"
        if self.ids_not_in_input:
            text += (
                f"\nnote: id column(s) {', '.join(self.ids_not_in_input)} of the model's data "
                "config are not in the input, so they are not in the output"
            )
        return text


# --- the model ---------------------------------------------------------------------------------


def open_scoring_model(ref: str, registry_url: str) -> tuple[TrainedModel, str, Path | None]:
    """The model for a folder path or a registry ref (NAME@ALIAS, NAME:VERSION, NAME), the
    version written beside every prediction (`name:version` from the registry, else the
    first 12 hex digits of the pipeline's sha256 for a folder) and the model's folder."""
    import importlib

    from mlconf.store.artifacts import load_model

    try:  # the registry arrives in its own module; until then only folders are models
        open_model = importlib.import_module("mlconf.store.model_registry").open_model
    except ImportError:
        open_model = None
    if open_model is not None:
        model, version = open_model(ref, registry_url)
        if version is not None:
            return model, f"{version.name}:{version.version}", Path(version.model_dir)
        return model, _folder_version(model), Path(ref).expanduser()
    path = Path(ref).expanduser()
    if path.exists():
        model = load_model(path)
        return model, _folder_version(model), path
    if os.sep in ref or ref.startswith(".") or ("@" not in ref and ":" not in ref):
        raise MlconfError(
            f"model folder '{path}' does not exist (looked relative to {Path.cwd()})",
            where="model=",
            fix="pass the `model/` folder of a run, e.g. model=experiments/<name>/runs/<run>/model",
        )
    raise MlconfError(
        f"'{ref}' is not a model folder, and this installation has no model registry to "
        "resolve NAME@ALIAS refs",
        where="model=",
        fix="pass the `model/` folder of a run, e.g. model=experiments/<name>/runs/<run>/model",
    )


def _folder_version(model: TrainedModel) -> str:
    digest = str(model.manifest.get("files", {}).get(PIPELINE_FILE, ""))
    return f"sha256:{digest[:12]}" if digest else "unversioned"


def training_dtypes(model: TrainedModel) -> dict[str, str]:
    """Each input column's training dtype: from the manifest, else the background sample."""
    dtypes = model.manifest.get("input_dtypes")
    if isinstance(dtypes, dict) and dtypes:
        return {str(k): str(v) for k, v in dtypes.items()}
    if model.background is not None:
        frame = model.background
        return {c: str(frame[c].dtype) for c in model.input_columns if c in frame.columns}
    return {}


def id_columns(model: TrainedModel, folder: Path | None = None) -> list[str]:
    """`data.id_columns` of the run that trained the model (manifest, else its config.yaml)."""
    ids = model.manifest.get("id_columns")
    if isinstance(ids, list):
        return [str(c) for c in ids]
    if folder is not None and (folder.parent / "config.yaml").is_file():
        import yaml

        try:
            config = yaml.safe_load((folder.parent / "config.yaml").read_text()) or {}
        except yaml.YAMLError:
            return []
        found = (config.get("data") or {}).get("id_columns") or []
        return [str(c) for c in found] if isinstance(found, list) else []
    return []


def scoring_schema(model: TrainedModel) -> dict[str, Any]:
    """The schema every chunk is checked against: the training schema's rules for the input
    columns, plus "must be a number" for every column the model was trained on as numeric.

    Uniqueness is not checked (a chunk cannot see the others) and the target is not needed.
    """
    raw = model.manifest.get("schema") or {}
    inputs = set(model.input_columns)
    columns: dict[str, dict[str, Any]] = {
        str(name): {**(spec or {}), "unique": False, "required": True}
        for name, spec in (raw.get("columns") or {}).items()
        if name in inputs
    }
    import numpy as np

    for name, dtype in training_dtypes(model).items():
        if name not in inputs or (columns.get(name) or {}).get("dtype"):
            continue
        try:
            kind = np.dtype(dtype).kind
        except TypeError:
            kind = "O"
        if kind in _NUMERIC_KINDS:
            columns.setdefault(name, {"required": True, _DTYPE_ONLY: True})["dtype"] = "float"
    return {
        "on_error": "quarantine",
        "coerce": bool(raw.get("coerce", True)),
        "strict": False,
        "columns": columns,
    }


def chunk_schema(schema: dict[str, Any], chunk: pd.DataFrame) -> dict[str, Any]:
    """The schema for one chunk, without the "must be a number" rules of columns that are
    numbers already (reading gave them a numeric dtype): checking those costs time, not rows.
    """
    columns = {}
    for name, spec in schema["columns"].items():
        if spec.get(_DTYPE_ONLY):
            if name in chunk.columns and chunk[name].dtype.kind in _NUMERIC_KINDS:
                continue
            spec = {k: v for k, v in spec.items() if k != _DTYPE_ONLY}
        columns[name] = spec
    return {**schema, "columns": columns}


def text_columns(model: TrainedModel) -> list[str]:
    """Input columns the model saw as text: read as text from CSV, whatever a chunk holds."""
    import numpy as np

    out = []
    for name, dtype in training_dtypes(model).items():
        try:
            kind = np.dtype(dtype).kind
        except TypeError:
            kind = "O"  # pandas extension dtypes: str, string, category
        if kind in "OSU" and dtype != "category":
            out.append(name)
    return out


# --- scoring ------------------------------------------------------------------------------------


def score(model: TrainedModel, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions and class probabilities, equal to `model.predict` and `model.predict_proba`,
    but the pipeline's transforms run once and, where the model's rule is known (a decision
    threshold, an argmax), the labels come from the same probabilities."""
    import numpy as np
    from sklearn.pipeline import Pipeline

    pipe = model.pipeline
    x = frame[model.input_columns]
    if isinstance(pipe, Pipeline) and len(pipe.steps) > 1:
        x, final = pipe[:-1].transform(x), pipe.steps[-1][1]
    else:
        final = pipe
    if model.task != "classification":
        return np.asarray(final.predict(x), dtype=float), None
    proba = None
    if hasattr(final, "predict_proba"):
        try:
            proba = final.predict_proba(x)
        except AttributeError:
            proba = None
    codes = _codes_from_proba(final, proba) if proba is not None else None
    if codes is None:
        codes = final.predict(x)
    return np.asarray(model.classes, dtype=object)[np.asarray(codes, dtype=int)], proba


def _codes_from_proba(final: Any, proba: np.ndarray) -> np.ndarray | None:
    """The labels `final.predict` would give, from its probabilities; None where unknown."""
    import numpy as np
    from sklearn.model_selection import FixedThresholdClassifier

    if isinstance(final, FixedThresholdClassifier):
        threshold = 0.5 if final.threshold == "auto" else final.threshold
        if final.response_method not in ("predict_proba", "auto") or proba.shape[1] != 2:
            return None
        if not isinstance(threshold, int | float):
            return None
        classes = np.asarray(final.classes_)
        pos_label = classes[1] if final.pos_label is None else final.pos_label
        pos = int(np.flatnonzero(classes == pos_label)[0])
        neg = int(np.flatnonzero(classes != pos_label)[0])
        return classes[np.where(proba[:, pos] >= threshold, pos, neg)]
    kind = f"{type(final).__module__}.{type(final).__name__}"
    if kind == "xgboost.sklearn.XGBClassifier" and proba.shape[1] == 2:
        return (proba[:, 1] > 0.5).astype(int)  # exactly XGBClassifier.predict's rule
    if kind in (
        "xgboost.sklearn.XGBClassifier",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._forest.ExtraTreesClassifier",
    ):
        return np.asarray(final.classes_)[np.argmax(proba, axis=1)]
    return None


# --- input --------------------------------------------------------------------------------------


@dataclass
class _Input:
    name: str
    columns: list[str]
    total: int | None
    chunks: Callable[[], Iterator[pd.DataFrame]]


def partition_files(spec: str) -> list[Path] | None:
    """The files of a folder or a glob input (partitions, scored one after another in name
    order), or None for a single file."""
    from mlconf.scale.lazy import matching_files

    found = None if spec.startswith(SQL_PREFIX) else matching_files(spec)
    if found is None:
        return None
    data = [p for p in found if any(p.name.lower().endswith(s) for s in FORMATS)]
    if not data:
        raise MlconfError(
            f"'{spec}' matches no .csv or .parquet files",
            where="input=",
            fix="point input= at a folder of partitions or a glob such as 'data/part-*.parquet'",
        )
    kinds = {input_format(str(p)) for p in data}
    if len(kinds) > 1:
        raise MlconfError(
            f"'{spec}' mixes {' and '.join(sorted(kinds))} files",
            where="input=",
            fix="score one format at a time (narrow the glob)",
        )
    return data


def input_format(spec: str) -> str:
    if spec.startswith(SQL_PREFIX):
        return "sql"
    files = partition_files(spec)
    if files:
        return input_format(str(files[0]))
    suffixes = "".join(Path(spec).suffixes[-2:]).lower()
    for suffix, fmt in FORMATS.items():
        if suffixes.endswith((suffix, f"{suffix}.gz", f"{suffix}.zst")) and fmt == "csv":
            return fmt
        if suffixes.endswith(suffix):
            return fmt
    raise MlconfError(
        f"cannot tell the format of '{spec}' from its name",
        where="input=",
        fix="use a .csv (or .csv.gz) or .parquet file, or `input='sql:SELECT ...'` with url=",
    )


def output_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    raise MlconfError(
        f"cannot tell the output format of '{path}' from its name",
        where="output=",
        fix="end the output name in .csv or .parquet",
    )


def open_input(spec: str, chunk_rows: int, *, url: str | None, text: Sequence[str]) -> _Input:
    fmt = input_format(spec)
    if fmt == "sql":
        return _sql_input(spec[len(SQL_PREFIX) :].strip(), chunk_rows, url)
    from mlconf.components.sources import existing_file

    files = partition_files(spec)
    if files:
        return _chained(spec, [open_input(str(p), chunk_rows, url=url, text=text) for p in files])
    path = existing_file(spec, fmt)
    if fmt == "parquet":
        return _parquet_input(path, chunk_rows)
    return _csv_input(path, chunk_rows, text)


def _chained(spec: str, inputs: list[_Input]) -> _Input:
    """Partitions read one after another; every one must have the first one's columns."""
    first = inputs[0]
    for other in inputs[1:]:
        if other.columns != first.columns:
            raise MlconfError(
                f"'{other.name}' does not have the columns of '{first.name}'",
                where="input=",
                fix="write every partition with the same columns, in the same order",
            )
    totals = [i.total for i in inputs]
    total = None if None in totals else sum(t for t in totals if t is not None)

    def chunks() -> Iterator[pd.DataFrame]:
        for part in inputs:
            yield from part.chunks()

    return _Input(f"{spec} ({len(inputs)} files)", first.columns, total, chunks)


def _csv_input(path: Path, chunk_rows: int, text: Sequence[str]) -> _Input:
    import pandas as pd

    from mlconf.components.sources import csv

    header = csv(str(path), {"nrows": 0})  # the header, with the source's checks
    columns = [str(c) for c in header.columns]
    dtypes = {c: "str" for c in text if c in columns}

    def chunks() -> Iterator[pd.DataFrame]:
        with pd.read_csv(
            path, chunksize=chunk_rows, encoding="utf-8-sig", dtype=dtypes or None
        ) as reader:
            start = 0
            while True:
                try:
                    chunk = next(reader)
                except StopIteration:
                    return
                except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
                    raise MlconfError(
                        f"file '{path}' cannot be read past row {start:,}: "
                        f"{str(exc).strip().splitlines()[0]}",
                        where="input=",
                        fix="repair the file; every row must have the header's fields",
                    ) from exc
                start += len(chunk)
                yield chunk

    return _Input(str(path), columns, None, chunks)


def _parquet_input(path: Path, chunk_rows: int) -> _Input:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # the footer only: a folder of many partitions must not hold every file open
        meta = pq.read_metadata(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise MlconfError(
            f"file '{path}' cannot be read as Parquet: {exc}",
            where="input=",
            fix="check that it is a Parquet file (a folder of files is not supported here)",
        ) from exc

    def chunks() -> Iterator[pd.DataFrame]:
        with pq.ParquetFile(path) as file:
            for batch in file.iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()

    return _Input(str(path), list(meta.schema.to_arrow_schema().names), meta.num_rows, chunks)


def _sql_input(query: str, chunk_rows: int, url: str | None) -> _Input:
    import pandas as pd
    import sqlalchemy as sa

    from mlconf.components.sources import sql_engine

    if not url or not query:
        raise MlconfError(
            "a SQL input needs a query and a database URL",
            where="input=/url=",
            fix="e.g. input='sql:SELECT * FROM customers' url=sqlite:///data/shop.db",
        )
    engine, shown = sql_engine(url)
    stack = ExitStack()
    try:
        conn = stack.enter_context(engine.connect().execution_options(stream_results=True))
        result = conn.execute(sa.text(query))
    except sa.exc.SQLAlchemyError as exc:
        stack.close()
        engine.dispose()
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise MlconfError(
            f"the query failed on {shown}: {detail}",
            where="input=",
            fix="check the table and column names in the query",
        ) from exc
    keys = result.keys()  # iterating a Result yields rows, not column names
    columns = [str(c) for c in keys]

    def chunks() -> Iterator[pd.DataFrame]:
        try:
            for rows in result.partitions(chunk_rows):
                yield pd.DataFrame.from_records(rows, columns=columns)
        finally:
            stack.close()
            engine.dispose()

    return _Input(f"query on {shown}", columns, None, chunks)


# --- output -------------------------------------------------------------------------------------


class _CsvOut:
    def __init__(self, path: Path, columns: list[str]) -> None:
        import pandas as pd

        self._fh = path.open("w", encoding="utf-8", newline="")
        pd.DataFrame(columns=columns).to_csv(self._fh, index=False)

    def write(self, frame: pd.DataFrame) -> None:
        frame.to_csv(self._fh, header=False, index=False)

    def close(self) -> None:
        self._fh.close()


class _ParquetOut:
    def __init__(self, path: Path, columns: list[str]) -> None:
        self._path = path
        self._columns = columns
        self._writer: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            # A column that is empty in the first chunk has no type yet: call it text.
            schema = pa.schema(
                [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            ).remove_metadata()
            self._writer = pq.ParquetWriter(self._path, schema)
            table = table.cast(schema)
        else:
            table = pa.Table.from_pandas(frame, schema=self._writer.schema, preserve_index=False)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is None:
            import pandas as pd

            pd.DataFrame(columns=self._columns).to_parquet(self._path, index=False)
        else:
            self._writer.close()


def _writer(fmt: str, path: Path, columns: list[str]) -> _CsvOut | _ParquetOut:
    return _CsvOut(path, columns) if fmt == "csv" else _ParquetOut(path, columns)


def _check_target(path: Path, overwrite: bool, key: str) -> None:
    if path.is_dir():
        raise MlconfError(f"'{path}' is a folder", where=f"{key}=", fix="name a file")
    if path.exists() and not overwrite:
        raise MlconfError(
            f"'{path}' already exists",
            where=f"{key}=",
            fix="choose another name, or pass overwrite=true to replace it",
        )
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MlconfError(
            f"cannot create the folder '{folder}': {exc.strerror}",
            where=f"{key}=",
            fix="write to a folder that exists or can be made (no file in its path)",
        ) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MlconfError(
            f"the folder '{folder}' is not writable",
            where=f"{key}=",
            fix="write somewhere you may write, or fix the folder's permissions",
        )


# --- the whole run ------------------------------------------------------------------------------


def predict_file(
    model_ref: str,
    input: str,
    output: Path | str,
    *,
    chunk_rows: int,
    registry_url: str,
    url: str | None = None,
    quarantine: Path | str | None = None,
    keep: Sequence[str] = (),
    overwrite: bool = False,
    console: Console | None = None,
    cluster: str | None = None,
) -> BatchSummary:
    """Score `input` with the model in chunks of `chunk_rows`, writing `output` atomically.

    `cluster` (`local`, or a scheduler address tcp://host:port) scores the chunks on a Dask
    cluster's workers, a few at a time, and writes them in order: the same output.
    """
    import pandas as pd

    from mlconf.scale.cluster import cluster_client, map_ordered, parse_cluster
    from mlconf.store.artifacts import model_files

    if chunk_rows < 1:
        raise MlconfError(
            f"chunk_rows must be at least 1, got {chunk_rows}",
            where="chunk_rows=",
            fix="e.g. chunk_rows=50000",
        )
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
    _check_target(out_path, overwrite, "output")
    _check_target(q_path, overwrite, "quarantine")

    model, version, folder = open_scoring_model(model_ref, registry_url)
    source = open_input(input, chunk_rows, url=url, text=[*text_columns(model), *keep])
    _check_columns(model, source, keep)
    from mlconf.privacy.policy import model_policy

    privacy = model_policy(model)
    _check_kept(privacy, keep)
    ids = id_columns(model, folder)
    kept = list(dict.fromkeys([*(c for c in ids if c in source.columns), *keep]))
    schema = scoring_schema(model)
    proba_names = [f"{PROBA_PREFIX}{c}" for c in model.classes]
    added = [ROW, PREDICTION, *proba_names, VERSION, SCORED_AT]
    clash = [c for c in kept if c in added]
    if clash:
        raise MlconfError(
            f"kept column(s) {', '.join(clash)} have the name of a column the output adds",
            where="keep=",
            fix="rename the column in the input",
        )
    columns = [ROW, *kept, PREDICTION, *(proba_names if model.task == "classification" else [])]
    columns += [VERSION, SCORED_AT]
    summary = BatchSummary(
        input=source.name,
        output=out_path,
        model_version=version,
        chunk_rows=chunk_rows,
        kept=kept,
        ids_not_in_input=[c for c in ids if c not in source.columns],
    )
    started = time.perf_counter()
    # what a row of the quarantine file holds: the input's columns the policy does not drop
    written = [c for c in source.columns if c not in privacy.drop]
    task = _ChunkTask(schema, kept, proba_names, written, privacy)

    def numbered() -> Iterator[pd.DataFrame]:
        for chunk in source.chunks():
            if chunk.empty:
                continue
            chunk.index = pd.RangeIndex(summary.rows + 1, summary.rows + 1 + len(chunk))
            summary.rows += len(chunk)
            summary.chunks += 1
            yield chunk

    with ExitStack() as stack, _Progress(console, source.total) as advance:
        tmp = stack.enter_context(atomic_path(out_path))
        writer = _writer(out_fmt, tmp, columns)
        q_writer: _CsvOut | None = None
        client = stack.enter_context(cluster_client(parse_cluster(cluster), console, "cluster="))
        if client is None:
            results: Iterator[_Scored] = (task.run(chunk, model) for chunk in numbered())
        else:
            if folder is None:
                raise MlconfError(
                    "the model has no folder to send to the workers",
                    where="model=",
                    fix="give model= a model folder or a registered name@alias, or drop cluster=",
                )
            files = model_files(folder)
            results = map_ordered(client, _score_on_worker, numbered(), task, files)
        for scored in results:
            if scored.bad is not None:
                if q_writer is None:
                    q_tmp = stack.enter_context(atomic_path(q_path))
                    q_writer = _CsvOut(q_tmp, [ROW, REASON, *written])
                    stack.callback(q_writer.close)
                q_writer.write(scored.bad)
                summary.quarantined += len(scored.bad)
            if scored.out is not None:
                scored.out[VERSION] = version
                scored.out[SCORED_AT] = datetime.now(UTC).isoformat(timespec="seconds")
                writer.write(scored.out)
                summary.scored += len(scored.out)
            advance(scored.rows)
        writer.close()
    if q_writer is not None:
        summary.quarantine = q_path
    elif overwrite:
        q_path.unlink(missing_ok=True)  # a stale quarantine file would describe another run
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class _Scored:
    """One chunk's predictions (without version and time, added where they are written) and
    its quarantined rows."""

    rows: int
    out: pd.DataFrame | None
    bad: pd.DataFrame | None


@dataclass
class _ChunkTask:
    """The work on one chunk: check it against the schema, score the rows that pass. The same
    on a Dask worker as here, so a cluster changes where it runs, not what it gives."""

    schema: dict[str, Any]
    kept: list[str]
    proba_names: list[str]
    quarantined_columns: list[str]
    privacy: PrivacyPolicy

    def run(self, chunk: pd.DataFrame, model: TrainedModel) -> _Scored:
        import numpy as np
        import pandas as pd

        valid, bad = chunk, None
        rules = chunk_schema(self.schema, chunk)
        if rules["columns"]:
            from mlconf.validation import REASONS_COLUMN, ROW_COLUMN, validate

            try:
                result = validate(
                    chunk, rules, source=f"rows {chunk.index[0]:,}..", allow_empty=True
                )
            except MlconfError as exc:  # its table shows values: none raw of a protected column
                raise self.privacy.error(exc, chunk) from None
            valid = result.valid
            if result.n_quarantined:
                renamed = result.quarantined.rename(
                    columns={ROW_COLUMN: ROW, REASONS_COLUMN: REASON}
                )
                renamed[REASON] = self.privacy.texts(renamed[REASON].astype(object), renamed)
                bad = self.privacy.rows(renamed)[[ROW, REASON, *self.quarantined_columns]]
        if not len(valid):
            return _Scored(len(chunk), None, bad)
        labels, proba = score(model, valid)
        out = pd.DataFrame({ROW: valid.index.to_numpy()}, index=valid.index)
        for name in self.kept:
            out[name] = chunk.loc[valid.index, name]
        out = self.privacy.rows(out)
        out[PREDICTION] = labels
        if model.task == "classification":
            probs = proba if proba is not None else np.full((len(valid), 0), np.nan)
            for i, name in enumerate(self.proba_names):
                out[name] = probs[:, i] if i < probs.shape[1] else np.nan
        return _Scored(len(chunk), out, bad)


# A Dask worker loads each model once, from the files it was sent (verified against their
# manifest, whose sha256 is the key: hashing it is cheap, hashing the pipeline per chunk is
# not). Worker threads share the cache, so it is read and filled under a lock.
_WORKER_MODELS: dict[str, TrainedModel] = {}
_WORKER_LOCK = threading.Lock()


def _score_on_worker(chunk: pd.DataFrame, task: _ChunkTask, files: dict[str, bytes]) -> _Scored:
    import hashlib

    from mlconf.store.artifacts import load_model_files

    key = hashlib.sha256(files[MANIFEST_FILE]).hexdigest()
    with _WORKER_LOCK:
        model = _WORKER_MODELS.get(key)
        if model is None:
            model = load_model_files(files)
            _WORKER_MODELS.clear()  # one model at a time per worker process
            _WORKER_MODELS[key] = model
    return task.run(chunk, model)


def _check_kept(privacy: PrivacyPolicy, keep: Sequence[str]) -> None:
    """A kept column the model's privacy policy drops cannot be written: say so up front."""
    dropped = [c for c in keep if c in privacy.drop]
    if dropped:
        raise MlconfError(
            f"the model's privacy policy drops column(s) {', '.join(map(repr, dropped))}, "
            "so no output may hold their values",
            where="keep=",
            fix="leave the column out of keep= (the output's row column joins it back to the "
            "input)",
        )


def _check_columns(model: TrainedModel, source: _Input, keep: Sequence[str]) -> None:
    """Every training column and every kept column must be in the input: name the first
    missing one and the input column it most likely is."""
    for kind, wanted in (("the model was trained on", model.input_columns), ("keep=", keep)):
        missing = [c for c in wanted if c not in source.columns]
        if not missing:
            continue
        hints = "".join(
            f" Input column '{c}' is missing.{did_you_mean(c, source.columns)}" for c in missing[:5]
        )
        raise MlconfError(
            f"{source.name} lacks {len(missing)} column(s) {kind}: "
            f"{', '.join(missing[:20])}.{hints}",
            where="input=" if kind != "keep=" else "keep=",
            fix="rename or add the column(s) in the input; extra columns are ignored",
        )


class _Progress:
    """A rich progress bar with rows/s on a terminal; nothing elsewhere (logs, pipes)."""

    def __init__(self, console: Console | None, total: int | None) -> None:
        self.console = console
        self.total = total
        self._bar: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if self.console is None or not self.console.is_terminal:
            return lambda n: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        class RowsPerSecond(ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(f"{task.speed or 0:,.0f} rows/s")

        self._bar = Progress(
            TextColumn("scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            RowsPerSecond(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._bar.start()
        task = self._bar.add_task("scoring", total=self.total)
        return lambda n: self._bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


# --- the command --------------------------------------------------------------------------------

HELP = """\
usage: mlconf predict model=REF input=PATH output=PATH [KEY=VALUE ...] [Hydra overrides]

Score a CSV, Parquet file, folder of parts or SQL query with a trained model, in chunks.
Rows that fail the training schema go to a quarantine CSV with their reasons. The output
keeps the id columns and adds prediction, proba_<class>, model_version and scored_at; it
appears only when complete.

settings (short forms of deploy.batch.* in conf/deploy/):
  model=        a model folder (a run's model/), or a registry ref NAME@ALIAS, NAME:VERSION
                (default: <deploy.model_name>@production, e.g. with experiment=cars)
  input=        a .csv, .csv.gz or .parquet file, a folder or glob of parts, or 'sql:SELECT ...'
  output=       the file to write, .csv or .parquet (refused if it exists)
  quarantine=   where rows that fail the schema go (default OUTPUT.quarantine.csv)
  keep=         more input columns to copy to the output, comma-separated
  overwrite=    true to replace an existing output (and quarantine) file
  url=          the database URL for a sql: input, e.g. sqlite:///data/shop.db
  chunk_rows=   rows scored at a time (deploy.batch.chunk_rows)
  registry_url= the model registry database (deploy.registry_url)
  cluster=      score the chunks on Dask workers: local or tcp://host:port (mlconf[scale])

Any other config key is a Hydra override (experiment=cars, deploy.registry_url=...);
`--cfg job` prints the composed config.

examples:
  mlconf predict model=experiments/cars/runs/<run>/model input=new.csv output=scored.csv
  mlconf predict experiment=cars input=big.parquet output=scored.parquet chunk_rows=50000
  mlconf predict model=cars@production input='sql:SELECT * FROM cars' url=sqlite:///shop.db \\
      output=scored.csv keep=Name
"""


def predict_job(cfg: Any) -> int:
    """`mlconf predict`: the composed config's deploy.batch settings, scored."""
    import sys

    from rich.console import Console

    from mlconf.runner import typed

    conf = typed(cfg)
    batch = conf.deploy.batch
    for key in ("input", "output"):
        if not getattr(batch, key):
            raise MlconfError(
                f"no {key} given",
                where=f"config key deploy.batch.{key}",
                fix="mlconf predict model=MODEL input=PATH output=PATH (see --help)",
            )
    summary = predict_file(
        batch.model or f"{conf.deploy.model_name}@production",
        str(batch.input),
        str(batch.output),
        chunk_rows=batch.chunk_rows,
        registry_url=conf.deploy.registry_url,
        url=batch.url,
        quarantine=batch.quarantine,
        keep=list(batch.keep),
        overwrite=batch.overwrite,
        console=Console(stderr=True),
        cluster=batch.cluster,
    )
    sys.stdout.write(summary.line() + "\n")
    return 0
