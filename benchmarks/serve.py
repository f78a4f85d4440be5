"""`mlconf serve` under load, beside MLflow's scoring server and a plain FastAPI app.

Trains the cars model once (mixed types: one-hot `Make` + numeric columns, xgboost 200
trees, the stages a served model needs), then starts, each in its own process on a free
loopback port, all serving the same fitted pipeline:

- mlconf: `mlconf serve model=DIR` with the defaults (validation, metrics, the prediction
  log to SQLite, micro-batching);
- mlflow: `mlflow models serve --env-manager local` on the pipeline saved with
  `mlflow.sklearn.save_model` (its own venv, benchmarks/serve_mlflow.py; skipped, and said
  so, when the venv is missing: `python benchmarks/serve_mlflow.py --setup`);
- plain: a FastAPI app whose /predict turns the JSON into a frame and calls
  `predict_proba` of the same pipeline (no validation, no logging, no ids).

Measured with Debian's `wrk` (benchmarks/serve_wrk.py), alternated between the servers
and repeated (`--rounds`): single-record requests at 16 connections and at 1 connection,
and a 1,000-record request at 1 connection (rows/s); then what a Python client sees
(tests/loadgen.py, 16 httpx clients). Prints the ratios and the load average; writes
benchmarks/results/serve-<UTC time>.json. Results: benchmarks/README.md.

    python benchmarks/serve.py                         # 2 rounds of 10 s per measurement
    python benchmarks/serve.py --seconds 5 --rounds 1 --model DIR --mlconf workers=2
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # helpers, serve_helpers, loadgen
sys.path.insert(0, str(ROOT / "benchmarks"))
BIG = 1000  # records in the large request
SERVERS = ("mlconf", "mlflow", "plain")


def plain_app(model_dir: str) -> Any:
    """The baseline: FastAPI + the pipeline, nothing else."""
    import pandas as pd
    from fastapi import FastAPI, Request

    import mlconf

    model = mlconf.load_model(model_dir)
    columns = model.input_columns
    app = FastAPI()

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        body = await request.json()
        frame = pd.DataFrame(body if isinstance(body, list) else [body], columns=columns)
        proba = model.pipeline.predict_proba(frame)
        return {"probabilities": proba.tolist()}

    @app.get("/ready")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def train(folder: Path) -> Path:
    from helpers import compose_train, quiet_console

    from mlconf.runner import run

    stages = "stages=[load,validate,prepare,split,select,tune,train,evaluate,save]"
    cfg = compose_train(["experiment=cars", "model=xgboost", stages,
                         f"deploy.registry_url=sqlite:///{folder / 'train.db'}"])  # fmt: skip
    result = run(cfg, run_dir=folder / "run", console=quiet_console())
    assert result.record.status == "succeeded", result.record.error
    return folder / "run" / "model"


def server_command(
    kind: str, model_dir: Path, port: int, workdir: Path, extra: list[str]
) -> list[str]:
    """The command line that serves `model_dir` on `port`; `extra`: mlconf serve settings."""
    if kind == "mlconf":
        return [sys.executable, "-m", "mlconf.cli.main", "serve", f"model={model_dir}",
                f"port={port}", "reload_interval=null",
                f"registry_url=sqlite:///{workdir / 'mlconf.db'}", *extra]  # fmt: skip
    if kind == "mlflow":
        from serve_mlflow import serve_command

        return serve_command(workdir / "mlflow-model", port)
    return [sys.executable, __file__, "--plain-server", str(model_dir), str(port)]


def ready_path(kind: str) -> str:
    return "/ping" if kind == "mlflow" else "/ready"


def wait_ready(url: str, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


def bodies(kind: str, records: list[dict[str, Any]]) -> tuple[str, bytes, bytes]:
    """(path, one-record body, BIG-record body) in the server's own format."""
    big = [records[i % len(records)] for i in range(BIG)]
    if kind == "mlflow":
        one: Any = {"dataframe_records": records[:1]}
        many: Any = {"dataframe_records": big}
        return "/invocations", json.dumps(one).encode(), json.dumps(many).encode()
    return "/predict", json.dumps(records[0]).encode(), json.dumps(big).encode()


def complete_records(model_dir: Path) -> list[dict[str, Any]]:
    """Training rows without missing values, as JSON records."""
    import pandas as pd

    frame = pd.read_parquet(model_dir / "background.parquet").dropna()
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict("records")]  # fmt: skip


def measure(kind: str, url: str, records: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    from serve_wrk import run_wrk

    path, one, many = bodies(kind, records)
    row: dict[str, Any] = {"server": kind, "load_before": os.getloadavg()[0]}
    row["c16"] = run_wrk(url + path, one, 16, seconds)
    row["c1"] = run_wrk(url + path, one, 1, seconds)
    big = run_wrk(url + path, many, 1, seconds)
    row["big"] = {**big, "rows_per_s": big["rps"] * BIG}
    row["load_after"] = os.getloadavg()[0]
    return row


async def python_client(url: str, body: bytes, requests: int) -> dict[str, Any]:
    from loadgen import drive  # tests/loadgen.py

    result = await drive(url, body, requests=requests, clients=16, max_seconds=600)
    summary = result.summary()
    seen = {k: summary[k] for k in ("p50_ms", "p99_ms", "throughput_rps")}
    return {**seen, "errors": result.errors}


def report(rows: list[dict[str, Any]], kinds: list[str]) -> None:
    print("\nmedians over rounds:")
    for kind in kinds:
        c16, c1 = rows_of(rows, kind, "c16"), rows_of(rows, kind, "c1")
        print(f"{kind:7s} 16 conn: {c16['rps']:8.1f} req/s p50 {c16['p50_ms']:7.2f} ms "
              f"p99 {c16['p99_ms']:7.2f} ms | 1 conn: p50 {c1['p50_ms']:6.2f} ms "
              f"{c1['rps']:7.1f} req/s | {BIG} records: "
              f"{rows_of(rows, kind, 'big')['rows_per_s']:9.0f} rows/s")  # fmt: skip
    ours = {part: rows_of(rows, "mlconf", part) for part in ("c16", "c1", "big")}
    for base in (k for k in kinds if k != "mlconf"):
        theirs = {part: rows_of(rows, base, part) for part in ("c16", "c1", "big")}
        print(f"mlconf/{base}: req/s at 16 conn x{ours['c16']['rps'] / theirs['c16']['rps']:.1f}, "
              f"p50 at 1 conn x{ours['c1']['p50_ms'] / theirs['c1']['p50_ms']:.2f}, "
              f"rows/s x{ours['big']['rows_per_s'] / theirs['big']['rows_per_s']:.1f}")  # fmt: skip


def rows_of(rows: list[dict[str, Any]], kind: str, part: str) -> dict[str, float]:
    """The medians over rounds of one server's measurement `part` (c16, c1 or big)."""
    keys = ("rps", "p50_ms", "p99_ms", "rows_per_s")
    found = [r[part] for r in rows if r["server"] == kind]
    return {k: statistics.median(f[k] for f in found) for k in keys if k in found[0]}


def start(kind: str, model_dir: Path, workdir: Path, extra: list[str]) -> tuple[Any, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if kind == "mlflow":  # its uvicorn must be the venv's, not the first one on PATH
        from serve_mlflow import VENV

        env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(VENV)
    proc = subprocess.Popen(
        server_command(kind, model_dir, port, workdir, extra),
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=1000, help="Python client requests")
    parser.add_argument(
        "--mlconf", nargs="*", default=[], metavar="KEY=VALUE",
        help="more mlconf serve settings, e.g. workers=2 log_predictions=false",
    )  # fmt: skip
    parser.add_argument("--model", type=Path, help="serve this model folder (no training)")
    parser.add_argument("--plain-server", nargs=2, metavar=("MODEL_DIR", "PORT"))
    ns = parser.parse_args()
    if ns.plain_server:
        import uvicorn

        app = plain_app(ns.plain_server[0])
        uvicorn.run(app, host="127.0.0.1", port=int(ns.plain_server[1]), log_level="warning")
        return
    from serve_mlflow import export_command, python

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_dir = ns.model.resolve() if ns.model else train(workdir)
        records = complete_records(model_dir)
        kinds = list(SERVERS)
        if python().exists():
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            subprocess.run(export_command(model_dir, workdir / "mlflow-model"), env=env, check=True)
        else:
            print(f"MLflow venv {python()} missing: mlflow not measured "
                  "(python benchmarks/serve_mlflow.py --setup)")  # fmt: skip
            kinds.remove("mlflow")
        servers = {kind: start(kind, model_dir, workdir, ns.mlconf) for kind in kinds}
        rows: list[dict[str, Any]] = []
        try:
            for kind, (_, url) in servers.items():
                wait_ready(url + ready_path(kind))
                path, one, _ = bodies(kind, records)
                measure(kind, url, records, 2)  # warm-up
            for round_no in range(ns.rounds):
                order = kinds if round_no % 2 == 0 else kinds[::-1]
                for kind in order:
                    row = measure(kind, servers[kind][1], records, ns.seconds)
                    rows.append({"round": round_no, **row})
                    print(json.dumps(rows[-1]), flush=True)
            for kind in kinds:
                path, one, _ = bodies(kind, records)
                seen = asyncio.run(python_client(servers[kind][1] + path, one, ns.requests))
                print(f"python client, 16 clients, {kind}: {seen}", flush=True)
                rows.append({"server": kind, "python_client": seen})
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(30)
        report([r for r in rows if "c16" in r], kinds)
        print(f"load average now: {os.getloadavg()}")
        out = ROOT / "benchmarks" / "results"
        out.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        (out / f"serve-{stamp}.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
