"""`mlconf serve` under load, against a minimal FastAPI app calling the same pipeline.

Trains the xgboost breast_cancer model once (default config, the stages a served model
needs), then for each server, in its own process on a free loopback port:

- mlconf: `mlconf serve model=DIR` with the defaults (request validation, metrics,
  prediction log to SQLite through the background writer);
- plain: a FastAPI app whose /predict turns the JSON record into a one-row frame and
  calls `predict_proba` of the same loaded pipeline (no validation, no logging, no ids).

An httpx async load generator (in this process) keeps N clients busy with single-record
POST /predict requests (after a warm-up) and reports p50, p90, p99 latency and
throughput. Results: benchmarks/README.md.

    python benchmarks/serve.py                      # 16 clients, 3000 requests per server
    python benchmarks/serve.py --clients 1 16 --requests 2000
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # helpers, serve_helpers, loadgen


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
        record = await request.json()
        frame = pd.DataFrame([record], columns=columns)
        proba = model.pipeline.predict_proba(frame)[0]
        return {"probabilities": dict(zip(map(str, model.classes), proba.tolist(), strict=True))}

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
    cfg = compose_train(["model=xgboost", stages])
    result = run(cfg, run_dir=folder / "run", console=quiet_console())
    assert result.record.status == "succeeded", result.record.error
    return folder / "run" / "model"


def server_command(kind: str, model_dir: Path, port: int, workdir: Path) -> list[str]:
    """The command line that serves `model_dir` on `port`: mlconf serve, or the plain app."""
    if kind == "mlconf":
        return [
            sys.executable,
            "-m",
            "mlconf.cli.main",
            "serve",
            f"model={model_dir}",
            f"port={port}",
            "reload_interval=null",
            f"registry_url=sqlite:///{workdir / 'mlconf.db'}",
        ]
    return [sys.executable, __file__, "--plain-server", str(model_dir), str(port)]


def start(kind: str, model_dir: Path, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        server_command(kind, model_dir, port, workdir),
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_ready(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{url}/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")


async def load(url: str, record: dict[str, Any], clients: int, requests: int) -> dict[str, Any]:
    """`requests` single-record predictions spread over `clients` concurrent clients."""
    from loadgen import drive  # tests/loadgen.py, shared with benchmarks/load.py

    body = json.dumps(record).encode()
    await drive(f"{url}/predict", body, requests=200, clients=clients, max_seconds=600)
    result = await drive(
        f"{url}/predict", body, requests=requests, clients=clients, max_seconds=3600
    )
    if not result.latencies:
        raise RuntimeError(f"every request failed, e.g. {result.error_samples}")
    summary = result.summary()
    keys = ("p50_ms", "p90_ms", "p99_ms", "throughput_rps")
    return {
        "clients": clients,
        "requests": result.sent,
        "failures": result.errors,
        **{k: summary[k] for k in keys},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[16])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--model", type=Path, help="serve this model folder (no training)")
    parser.add_argument("--plain-server", nargs=2, metavar=("MODEL_DIR", "PORT"))
    ns = parser.parse_args()
    if ns.plain_server:
        import uvicorn

        app = plain_app(ns.plain_server[0])
        uvicorn.run(app, host="127.0.0.1", port=int(ns.plain_server[1]), log_level="warning")
        return
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_dir = ns.model.resolve() if ns.model else train(workdir)
        background = pd.read_parquet(model_dir / "background.parquet")
        record = {k: float(v) for k, v in background.iloc[0].items()}
        results: list[dict[str, Any]] = []
        for kind in ("mlconf", "plain"):
            port = free_port()
            proc = start(kind, model_dir, port, workdir)
            try:
                url = f"http://127.0.0.1:{port}"
                asyncio.run(wait_ready(url))
                for clients in ns.clients:
                    row = {"server": kind, **asyncio.run(load(url, record, clients, ns.requests))}
                    results.append(row)
                    print(
                        f"{kind:7s} clients={clients:3d} p50={row['p50_ms']:6.2f} ms "
                        f"p90={row['p90_ms']:6.2f} ms p99={row['p99_ms']:6.2f} ms "
                        f"throughput={row['throughput_rps']:7.1f} req/s "
                        f"failures={row['failures']}",
                        flush=True,
                    )
            finally:
                proc.terminate()
                proc.wait(30)
        for clients in ns.clients:
            ours = next(r for r in results if r["server"] == "mlconf" and r["clients"] == clients)
            base = next(r for r in results if r["server"] == "plain" and r["clients"] == clients)
            print(
                f"mlconf/plain at {clients} clients: p50 x{ours['p50_ms'] / base['p50_ms']:.2f}, "
                f"p99 x{ours['p99_ms'] / base['p99_ms']:.2f}, "
                f"throughput x{ours['throughput_rps'] / base['throughput_rps']:.2f}"
            )
        out = ROOT / "benchmarks" / "results"
        out.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        (out / f"serve-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
