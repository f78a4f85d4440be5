"""A bounded load test of `mlconf serve` on loopback (issue 7, item 6), small enough for the
suite: the real server process, concurrent httpx clients, then a graceful stop. Nothing
fails, memory stays flat after warm-up, and every prediction id returned is in the log.
The 20,000-request run with timings is benchmarks/load.py (same harness: loadgen.py)."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from loadgen import load_test, record_body
from serve_helpers import free_port, gated_log, train_model

from mlconf.store.prediction_log import new_row

REQUESTS = 600
WARMUP = 100
CLIENTS = 8
# A bound on the run, not a timing check: a slow machine sends fewer requests, never fails.
MAX_SECONDS = 90


@pytest.mark.slow
def test_load_loses_nothing_and_memory_stays_flat(tmp_path: Path) -> None:
    model_dir = train_model(tmp_path / "run")
    db_url = f"sqlite:///{tmp_path / 'mlconf.db'}"
    port = free_port()
    command = [
        *(sys.executable, "-m", "mlconf.cli.main", "serve"),
        *(f"model={model_dir}", f"port={port}", "reload_interval=null", f"registry_url={db_url}"),
    ]
    report = load_test(
        command,
        port,
        tmp_path,
        record_body(model_dir),
        requests=REQUESTS,
        warmup=WARMUP,
        clients=CLIENTS,
        max_seconds=MAX_SECONDS,
        db_url=db_url,
    )
    load = report.load
    print(f"\nload: {report.as_dict()}")
    assert load["errors"] == 0, load["error_samples"]
    assert load["sent"] >= 100, load  # the run did real work even if cut short by time
    # SIGTERM: uvicorn shuts down (closing the log writer), then re-raises the signal
    assert report.shutdown_complete and report.exit_code == -signal.SIGTERM, report.exit_code
    assert report.ids_returned == load["sent"] + WARMUP
    assert report.ids_missing == 0, report.missing_sample
    assert report.log_metrics['prediction_log_rows_total{state="dropped"}'] == 0
    assert report.log_metrics['prediction_log_rows_total{state="failed"}'] == 0
    assert report.rss_growth < 0.10, (report.rss_after_warmup_kib, report.rss_end_kib)


def test_rows_a_stalled_writer_leaves_at_shutdown_are_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The shutdown that a load test relies on: rows not written in time are said, not lost
    silently."""
    gate = threading.Event()

    plog = gated_log(f"sqlite:///{tmp_path / 'log.db'}", gate, queue_size=100)
    plog.submit([new_row(f"id-{i}", "m", "1", {"a": i}, {}, 1.0) for i in range(5)])
    plog.close(timeout=0.2)
    gate.set()
    messages = [r.getMessage() for r in caplog.records]
    assert any("writer still busy" in m and "5 row(s) not written" in m for m in messages)
