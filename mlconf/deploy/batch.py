"""Batch scoring: `mlconf predict` streams a file through a trained model, chunk by chunk.

Memory is bounded by the chunk size, not the file: CSV is read with pandas' chunked reader,
Parquet batch by batch, a SQL query through a streaming cursor. Each chunk is
checked against the training schema (the model manifest's `schema` plus the training dtype of
every input column); rows that fail go to a quarantine CSV with their row number and reasons,
never dropped silently. The output and the quarantine file are written under temporary names
and renamed into place at the end, so a crash leaves no half-written output.

This module runs the command; reading (batch_input), the checks before scoring (batch_paths,
batch_plan), one chunk's work (chunk_task, quarantine, scoring) and the tables' writers
(mlconf.store.tables) are each in their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.deploy.batch_columns import SCORED_AT, VERSION
from mlconf.deploy.batch_paths import BatchPaths, batch_paths
from mlconf.deploy.batch_plan import BatchPlan, plan_batch
from mlconf.deploy.chunk_task import Scored, score_on_worker
from mlconf.deploy.progress import ScoringProgress
from mlconf.deploy.quarantine import QuarantineFile
from mlconf.store.tables.writers import atomic_writer

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console


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
    if chunk_rows < 1:
        raise MlconfError(
            f"chunk_rows must be at least 1, got {chunk_rows}",
            where="chunk_rows=",
            fix="e.g. chunk_rows=50000",
        )
    paths = batch_paths(input, output, quarantine, overwrite=overwrite)
    plan = plan_batch(model_ref, registry_url, input, chunk_rows, url=url, keep=keep)
    summary = BatchSummary(
        input=plan.source.name,
        output=paths.output,
        model_version=plan.version,
        chunk_rows=chunk_rows,
        kept=plan.task.kept,
        ids_not_in_input=plan.ids_not_in_input,
    )
    started = time.perf_counter()
    if _score_all(plan, paths, summary, console, cluster):
        summary.quarantine = paths.quarantine
    elif overwrite:
        paths.quarantine.unlink(missing_ok=True)  # a stale one would describe another run
    summary.seconds = time.perf_counter() - started
    return summary


def _score_all(
    plan: BatchPlan,
    paths: BatchPaths,
    summary: BatchSummary,
    console: Console | None,
    cluster: str | None,
) -> bool:
    """Every chunk scored and written in input order, counted in `summary`; True when a
    quarantine file was written. Both files are renamed into place only if all goes well,
    the quarantine file first."""
    from mlconf.components.cluster import cluster_client, parse_cluster

    with ExitStack() as stack, ScoringProgress(console, plan.source.total) as advance:
        writer = stack.enter_context(atomic_writer(paths.output, paths.output_format, plan.columns))
        bad_rows = QuarantineFile(stack, paths.quarantine, plan.task.quarantined_columns)
        client = stack.enter_context(cluster_client(parse_cluster(cluster), console, "cluster="))
        for scored in _results(plan, client, _numbered(plan, summary)):
            if scored.bad is not None:
                bad_rows.write(scored.bad)
                summary.quarantined += len(scored.bad)
            if scored.out is not None:
                scored.out[VERSION] = plan.version
                scored.out[SCORED_AT] = datetime.now(UTC).isoformat(timespec="seconds")
                writer.write(scored.out)
                summary.scored += len(scored.out)
            advance(scored.rows)
    return bad_rows.opened


def _numbered(plan: BatchPlan, summary: BatchSummary) -> Iterator[pd.DataFrame]:
    """The input's non-empty chunks, indexed by their 1-based data row numbers."""
    import pandas as pd

    for chunk in plan.source.chunks():
        if chunk.empty:
            continue
        chunk.index = pd.RangeIndex(summary.rows + 1, summary.rows + 1 + len(chunk))
        summary.rows += len(chunk)
        summary.chunks += 1
        yield chunk


def _results(plan: BatchPlan, client: Any, chunks: Iterator[pd.DataFrame]) -> Iterator[Scored]:
    """Each chunk's result, in order: scored here, or on the cluster's workers."""
    if client is None:
        return (plan.task.run(chunk, plan.model) for chunk in chunks)
    from mlconf.components.cluster import map_ordered
    from mlconf.store.artifacts import model_files

    if plan.folder is None:
        raise MlconfError(
            "the model has no folder to send to the workers",
            where="model=",
            fix="give model= a model folder or a registered name@alias, or drop cluster=",
        )
    return map_ordered(client, score_on_worker, chunks, plan.task, model_files(plan.folder))


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
