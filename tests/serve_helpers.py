"""Helpers of the serving tests: a tiny trained model, and the real server on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import FAST, compose_train, quiet_console

# The stages a served model needs; explore, explain, fairness and report only cost time here.
SERVE_STAGES = "stages=[load,validate,prepare,split,select,tune,train,evaluate,save]"


def train_model(run_dir: Path, overrides: tuple[str, ...] = ()) -> Path:
    """A breast_cancer xgboost model whose schema bounds `mean radius` to 0..100."""
    from mlconf.config import ColumnSchema

    columns = {"mean radius": ColumnSchema(dtype="float", min=0.0, max=100.0)}
    return train_run(run_dir, overrides, columns)


def train_run(
    run_dir: Path, overrides: tuple[str, ...] = (), columns: dict[str, Any] | None = None
) -> Path:
    """A model trained with the serving stages and `overrides`; `columns` are schema rules
    set on top (ColumnSchema by column name). Returns its model folder."""
    from omegaconf import open_dict

    from mlconf.runner import run

    cfg = compose_train([*FAST, SERVE_STAGES, *overrides])
    with open_dict(cfg):
        for name, rule in (columns or {}).items():
            cfg.schema.columns[name] = rule
    result = run(cfg, run_dir=run_dir, console=quiet_console())
    assert result.record.status == "succeeded", result.record.error
    return run_dir / "model"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(app: Any, timeout: float = 30.0) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a thread; yield its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


@dataclass
class Served:
    """A server process: its base URL and pid; once it stopped, its exit code and output."""

    url: str
    pid: int = 0
    returncode: int | None = None
    output: str = ""


@contextmanager
def serve_process(
    command: list[str], port: int, cwd: Path, timeout: float = 60.0
) -> Iterator[Served]:
    """Run `command` (a server listening on loopback `port`) in its own process; yield it
    once GET /ready answers 200, and stop it with SIGTERM (a graceful shutdown) on exit."""
    import httpx

    with tempfile.TemporaryFile("w+") as out:  # a file, not a pipe: a full pipe blocks
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        served = Served(f"http://127.0.0.1:{port}", proc.pid)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    out.seek(0)
                    raise RuntimeError(f"{command[:4]} exited: {out.read()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[:4]} did not get ready")
                try:
                    if httpx.get(f"{served.url}/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            yield served
        finally:
            if proc.poll() is None:
                proc.terminate()
            try:
                served.returncode = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            out.seek(0)
            served.output = out.read()


@contextmanager
def mlconf_serve(args: list[str], cwd: Path, timeout: float = 60.0) -> Iterator[Served]:
    """`mlconf serve ARGS port=FREE` in its own process, as a user starts it (serve_process)."""
    port = free_port()
    command = [sys.executable, "-m", "mlconf.cli.main", "serve", *args, f"port={port}"]
    with serve_process(command, port, cwd, timeout) as served:
        yield served


def record(model_dir: Path, row: int = 0) -> dict[str, Any]:
    """A training row of the model's background sample, as a JSON-ready record."""
    import pandas as pd

    frame = pd.read_parquet(model_dir / "background.parquet")
    return {k: float(v) for k, v in frame.iloc[row].items()}


def gated_log(url: str, gate: threading.Event, queue_size: int) -> Any:
    """A prediction log whose writer waits for `gate` before each write: a database that
    stalls, so tests see what the queue and the counters do meanwhile."""
    from mlconf.store.prediction_log import LoggedRows, PredictionLog

    class Gated(PredictionLog):
        def _write(self, batch: list[LoggedRows]) -> None:
            gate.wait(10)
            super()._write(batch)

    return Gated(url, queue_size=queue_size)
